/**
 * A TCP proxy on 127.0.0.1 (I/O) that a test controls: it forwards every connection to an
 * upstream port and can hold the upstream → client direction (buffering what the server
 * sends) until released. Put between a client and nats-server, it delays the PubAcks while
 * the publishes still reach the server, so a test can see what a component answers before
 * its store confirmed anything.
 *
 *   const proxy = await startTcpProxy(nats.port);
 *   proxy.holdDownstream();           // server → client bytes are kept back
 *   proxy.releaseDownstream();        // … and sent, in order
 *   await proxy.close();
 */
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** `nats://127.0.0.1:<port>`, for a NATS client. */
  readonly url: string;
  /** Keep back what the upstream sends to clients (in order, nothing dropped). */
  holdDownstream(): void;
  /** Send what was kept back and forward freely again. */
  releaseDownstream(): void;
  /** Bytes kept back right now. */
  heldBytes(): number;
  /** Connections currently open. */
  connections(): number;
  close(): Promise<void>;
}

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  readonly held: Buffer[];
}

export async function startTcpProxy(upstreamPort: number, upstreamHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let holding = false;

  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, upstreamHost);
    const pair: Pair = { client, upstream, held: [] };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (holding) pair.held.push(d);
      else client.write(d);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const flush = () => {
    for (const p of pairs) {
      for (const chunk of p.held.splice(0)) p.client.write(chunk);
    }
  };

  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    holdDownstream() {
      holding = true;
    },
    releaseDownstream() {
      holding = false;
      flush();
    },
    heldBytes() {
      let n = 0;
      for (const p of pairs) for (const c of p.held) n += c.length;
      return n;
    },
    connections() {
      return pairs.size;
    },
    close() {
      holding = false;
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
