/**
 * Baseline: the mesh's own transport with none of its features, measured in the same run
 * as end to end. Two processes, as the adapter and the dispatcher are:
 *   - ingress: a bare Node HTTP server that stores each request (its `ce-*` headers and
 *     body, framed as plain text) through the mesh's JetStream channel (`publish`, the
 *     adapter's pipelined publisher) and answers 202 once stored (503 if not);
 *   - delivery: one consumer of that topic through the same channel (`consume`, the
 *     dispatcher's pull subscription) that POSTs each event to the subscriber, at most
 *     `maxInFlight` at once, and acks it after a 2xx (naks it otherwise).
 * Stored once, as the mesh stores an application's event (the broker's fan-out stage reads
 * the application channel), but with no validation, authentication, CloudEvents parsing,
 * broker stamp, filter index, Trigger lanes, retry schedule, metric or log: end to end over
 * this figure is what the mesh's features cost; this over raw publish is what crossing
 * HTTP twice and reading each event back cost on the bench's cores.
 *
 * Run as a child process: `fork('minimal-pipeline.js', ['ingress' | 'delivery'])`, then
 * send it a MinimalPipelineSpec; it answers `{ port }` (ingress) or `{ ready: true }`.
 */
import http from 'node:http';
import { Pool } from 'undici';
import { JetStreamChannel } from '../runtime/channel/jetstream';
import { topicOptionsFor } from '../runtime/channel/factory';
import { post } from './load-generator';

export interface MinimalPipelineSpec {
  readonly natsUrl: string;
  /** Where the delivery process POSTs each event. */
  readonly subscriberUrl: string;
  /** Deliveries in flight at once, as the bench Trigger's `maxInFlight`. */
  readonly maxInFlight: number;
}

const TOPIC = 'bench-minimal';

/** `name: value` lines, a blank line, then the body: the least framing that keeps the headers. */
export function frame(headers: http.IncomingHttpHeaders, body: Buffer): Buffer {
  let head = '';
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string' && (name.startsWith('ce-') || name === 'content-type')) head += `${name}:${value}\n`;
  }
  return Buffer.concat([Buffer.from(`${head}\n`, 'latin1'), body]);
}

export function unframe(bytes: Uint8Array): { headers: Record<string, string>; body: Buffer } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Where the blank line is: first when there are no headers, else after the last header line.
  const blank = buf[0] === 0x0a ? 0 : buf.indexOf('\n\n') + 1;
  const headers: Record<string, string> = {};
  if (blank === 0 && buf[0] !== 0x0a) return { headers, body: buf };
  for (const line of buf.toString('latin1', 0, blank).split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return { headers, body: buf.subarray(blank + 1) };
}

async function openChannel(natsUrl: string): Promise<JetStreamChannel> {
  const channel = new JetStreamChannel({ servers: natsUrl, defaults: topicOptionsFor({ kind: 'nats' }), name: 'bench-minimal' });
  await channel.connect();
  await channel.ensureTopic(TOPIC);
  return channel;
}

export async function startIngress(spec: MinimalPipelineSpec): Promise<{ port: number; close(): Promise<void> }> {
  const channel = await openChannel(spec.natsUrl);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      channel.publish(TOPIC, frame(req.headers, Buffer.concat(chunks))).then(
        () => {
          res.writeHead(202, { 'content-length': '0' });
          res.end();
        },
        () => {
          res.writeHead(503, { 'content-length': '0' });
          res.end();
        },
      );
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await channel.close();
    },
  };
}

export async function startDelivery(spec: MinimalPipelineSpec): Promise<{ close(): Promise<void> }> {
  const channel = await openChannel(spec.natsUrl);
  const url = new URL(spec.subscriberUrl);
  const pool = new Pool(url.origin, { connections: spec.maxInFlight, pipelining: 1, keepAliveTimeout: 30_000 });
  const consumer = await channel.consume(
    TOPIC,
    'minimal',
    async (m) => {
      const { headers, body } = unframe(m.data);
      const status = await post(pool, url.pathname, headers, body).catch(() => 0);
      if (status >= 200 && status < 300) await m.ack();
      else m.nak(100);
    },
    { maxInFlight: spec.maxInFlight, ordered: false, ackWaitMs: 30_000, deliverPolicy: 'new' },
  );
  return {
    close: async () => {
      await consumer.stop();
      await pool.close();
      await channel.close();
    },
  };
}

if (require.main === module) {
  const role = process.argv[2];
  process.once('message', async (spec: MinimalPipelineSpec) => {
    const part = role === 'ingress' ? await startIngress(spec) : await startDelivery(spec);
    process.send?.('port' in part ? { port: part.port } : { ready: true });
    process.on('SIGTERM', () => void part.close().then(() => process.exit(0)));
  });
}
