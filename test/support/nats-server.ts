/**
 * Start a real `nats-server` with JetStream for a test file: a free port, a temporary
 * store directory, readiness wait, and stop/restart/kill for outage tests.
 *
 *   const nats = await startNatsServer();
 *   afterAll(() => nats.stop());
 *   await nats.halt();   // server down, data kept
 *   await nats.start();  // back on the same port with the same data
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** JetStream store directory (kept across halt/kill/restart, removed by stop). */
  readonly storeDir: string;
  /** Stop for good and remove the store directory. Idempotent. */
  stop(): Promise<void>;
  /** Stop gracefully and start again on the same port with the same store. */
  restart(): Promise<void>;
  /** SIGKILL (a crash); the store is kept, `start()` brings it back. */
  kill(): Promise<void>;
  /** Stop gracefully keeping the store; `start()` brings it back. */
  halt(): Promise<void>;
  /** Start again after halt()/kill() (no-op when running). */
  start(): Promise<void>;
  /** True while the process runs. */
  running(): boolean;
  /** The server process id while it runs (soak reads its RSS). */
  pid(): number | undefined;
}

export function findNatsServer(): string {
  const candidates = [
    process.env.NATS_SERVER_BIN,
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'nats-server')),
    '/usr/sbin/nats-server',
    '/usr/local/bin/nats-server',
    '/usr/bin/nats-server',
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new Error('nats-server was not found on PATH or in /usr/sbin: run `bash scripts/install-nats-server.sh` (or set NATS_SERVER_BIN)');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once the server answers with an INFO line that announces JetStream. */
async function waitReady(port: number, proc: ChildProcess, output: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`nats-server exited early (${proc.exitCode ?? proc.signalCode}):\n${output()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      let buf = '';
      const done = (v: boolean) => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(500, () => done(false));
      sock.on('error', () => done(false));
      sock.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\r\n')) done(buf.startsWith('INFO') && buf.includes('"jetstream":true'));
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not become ready on port ${port} within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export async function startNatsServer(options: { args?: string[]; port?: number } = {}): Promise<NatsServerHandle> {
  const bin = findNatsServer();
  const port = options.port ?? (await freePort());
  const storeDir = mkdtempSync(path.join(os.tmpdir(), 'event-mesh-nats-'));
  let proc: ChildProcess | undefined;
  let log = '';
  let stopped = false;

  const launch = async () => {
    log = '';
    const p = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, ...(options.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(p);
    const keep = (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    };
    p.stdout?.on('data', keep);
    p.stderr?.on('data', keep);
    p.once('exit', () => live.delete(p));
    proc = p;
    await waitReady(port, p, () => log);
  };

  const terminate = async (signal: NodeJS.Signals) => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      p.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      p.kill(signal);
    });
  };

  await launch();
  const handle: NatsServerHandle = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate('SIGTERM');
      rmSync(storeDir, { recursive: true, force: true });
    },
    async restart() {
      await terminate('SIGTERM');
      await launch();
    },
    async kill() {
      await terminate('SIGKILL');
    },
    async halt() {
      await terminate('SIGTERM');
    },
    async start() {
      if (stopped) throw new Error('nats-server was stopped for good; start a new one');
      if (proc) return;
      await launch();
    },
    running() {
      return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
    },
    pid() {
      return proc?.pid;
    },
  };
  return handle;
}
