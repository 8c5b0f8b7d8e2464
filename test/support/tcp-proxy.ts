/**
 * A TCP proxy on 127.0.0.1 for outage tests (I/O): `cut()` drops every connection and
 * refuses new ones, as a network partition would, while the server behind it keeps its
 * state; `restore()` listens again on the same port.
 *
 *   const proxy = await startTcpProxy(emulator.port);
 *   await proxy.cut();     // clients see the server vanish
 *   await proxy.restore(); // and come back
 */
import net from 'node:net';
import { freePort } from './nats-server';

export interface TcpProxyHandle {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly host: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxyHandle> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(targetPort, targetHost);
        sockets.add(client);
        sockets.add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop);
        upstream.on('error', drop);
        client.on('close', drop);
        upstream.on('close', drop);
        client.pipe(upstream);
        upstream.pipe(client);
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
    for (const sock of sockets) sock.destroy();
    sockets.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await listen();
  return {
    port,
    host: `127.0.0.1:${port}`,
    cut: close,
    async restore() {
      if (!server) await listen();
    },
    stop: close,
  };
}
