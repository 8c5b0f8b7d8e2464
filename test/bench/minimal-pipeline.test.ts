/**
 * The bench's minimal-pipeline baseline (the mesh's transport, none of its features),
 * against a real nats-server and a real HTTP subscriber: what is answered 202 reaches the
 * subscriber with its `ce-*` headers and body, and a message is acked only after a 2xx,
 * so a failed delivery comes again. If it dropped or skipped events, the baseline would
 * flatter itself and the mesh's share of it would mean nothing.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { frame, startDelivery, startIngress, unframe } from '../../bench/minimal-pipeline';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server';

describe('minimal pipeline framing', () => {
  it('keeps the ce-* headers and content-type, drops the rest, and the body byte for byte', () => {
    const body = Buffer.from('{"a":"b\\n\\nc"}\n\n');
    const framed = frame({ 'ce-id': 'p.1', 'ce-type': 'x.y', 'content-type': 'application/json', host: 'h', 'x-other': 'z' }, body);
    const { headers, body: back } = unframe(new Uint8Array(framed.buffer, framed.byteOffset, framed.byteLength));
    expect(headers).toEqual({ 'ce-id': 'p.1', 'ce-type': 'x.y', 'content-type': 'application/json' });
    expect(Buffer.compare(back, body)).toBe(0);
  });

  it('without headers to keep, the body still comes back whole, even one that starts with blank lines', () => {
    const body = Buffer.from('\n\n{"a":1}');
    const framed = frame({ host: 'h' }, body);
    const { headers, body: back } = unframe(new Uint8Array(framed.buffer, framed.byteOffset, framed.byteLength));
    expect(headers).toEqual({});
    expect(back.toString()).toBe('\n\n{"a":1}');
  });
});

describe('minimal pipeline (real nats-server, real HTTP subscriber)', () => {
  let nats: NatsServerHandle;
  let subscriber: http.Server;
  const received: Array<{ id: string; type: string; body: string }> = [];
  let failFirst = new Set<string>();

  beforeAll(async () => {
    nats = await startNatsServer();
    subscriber = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const id = String(req.headers['ce-id']);
        if (failFirst.delete(id)) {
          res.writeHead(500).end();
          return;
        }
        received.push({ id, type: String(req.headers['ce-type']), body: Buffer.concat(chunks).toString() });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => subscriber.listen(0, '127.0.0.1', r));
  }, 30_000);

  afterAll(async () => {
    await new Promise<void>((r) => subscriber.close(() => r()));
    await nats?.stop();
  });

  it('delivers every accepted event once stored, with its attributes, and redelivers one the subscriber failed', async () => {
    const spec = { natsUrl: nats.url, subscriberUrl: `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}/`, maxInFlight: 4 };
    const ingress = await startIngress(spec);
    const delivery = await startDelivery(spec);
    try {
      failFirst = new Set(['t.3']);
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await fetch(`http://127.0.0.1:${ingress.port}/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'ce-id': `t.${i}`, 'ce-type': 'bench.event', 'ce-specversion': '1.0' },
          body: JSON.stringify({ n: i }),
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual(Array(10).fill(202));
      const until = Date.now() + 15_000;
      while (received.length < 10 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(failFirst.size).toBe(0); // t.3 was failed once…
      expect(received.map((e) => e.id).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `t.${i}`).sort()); // …and came again
      for (const e of received) {
        expect(e.type).toBe('bench.event');
        expect(JSON.parse(e.body)).toEqual({ n: Number(e.id.slice(2)) });
      }
    } finally {
      await delivery.close();
      await ingress.close();
    }
  }, 30_000);
});
