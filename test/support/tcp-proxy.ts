/**
 * A TCP proxy on 127.0.0.1 that a test controls (I/O). It forwards every connection to an
 * upstream port and can
 * - cut the network: `cut()` drops every connection and refuses new ones, as a partition
 *   would, while the server behind it keeps its state; `restore()` listens again on the
 *   same port;
 * - hold the upstream → client direction: `holdDownstream()` keeps back (in order, nothing
 *   dropped) what the server sends until `releaseDownstream()`. Put between a client and
 *   nats-server, it delays the PubAcks while the publishes still reach the server, so a
 *   test can see what a component answers before its store confirmed anything.
 *
 *   const proxy = await startTcpProxy(emulator.port);
 *   await proxy.cut();                // clients see the server vanish
 *   await proxy.restore();            // and come back
 *   proxy.holdDownstream();           // server → client bytes are kept back
 *   proxy.releaseDownstream();        // … and sent, in order
 *   await proxy.stop();
 */
import net from 'node:net';
import { freePort } from './nats-server';

export interface TcpProxyHandle {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly host: string;
  /** `nats://127.0.0.1:<port>`, for a NATS client. */
  readonly url: string;
  /** Drop every connection and stop listening. */
  cut(): Promise<void>;
  /** Listen again on the same port. */
  restore(): Promise<void>;
  /** Keep back what the upstream sends to clients (in order, nothing dropped). */
  holdDownstream(): void;
  /** Send what was kept back and forward freely again. */
  releaseDownstream(): void;
  /** Bytes kept back right now. */
  heldBytes(): number;
  /** Connections currently open. */
  connections(): number;
  stop(): Promise<void>;
  /** The same as stop(). */
  close(): Promise<void>;
}

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  readonly held: Buffer[];
}

export async function startTcpProxy(upstreamPort: number, upstreamHost = '127.0.0.1'): Promise<TcpProxyHandle> {
  const port = await freePort();
  const pairs = new Set<Pair>();
  let holding = false;
  let server: net.Server | undefined;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
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
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        resolve();
      });
    });

  const close = async () => {
    const s = server;
    server = undefined;
    holding = false;
    for (const p of pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    pairs.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };

  await listen();
  return {
    port,
    host: `127.0.0.1:${port}`,
    url: `nats://127.0.0.1:${port}`,
    cut: close,
    async restore() {
      if (!server) await listen();
    },
    holdDownstream() {
      holding = true;
    },
    releaseDownstream() {
      holding = false;
      for (const p of pairs) {
        for (const chunk of p.held.splice(0)) p.client.write(chunk);
      }
    },
    heldBytes() {
      let n = 0;
      for (const p of pairs) for (const c of p.held) n += c.length;
      return n;
    },
    connections() {
      return pairs.size;
    },
    stop: close,
    close,
  };
}
