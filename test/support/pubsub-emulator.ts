/**
 * Start Google's real Pub/Sub emulator for a test file (I/O): a free port, a temporary
 * directory, readiness wait, and stop/kill/restart. It keeps everything in memory, so a
 * restart starts empty; for outages that keep state put test/support/tcp-proxy.ts in front.
 * The JVM takes seconds to start: start one per test file, not per test.
 *
 *   const emulator = await startPubSubEmulator();
 *   afterAll(() => emulator.stop());
 *   process.env.PUBSUB_EMULATOR_HOST = emulator.host;
 *
 * It runs the emulator's own start script (platform/pubsub-emulator/bin under the gcloud
 * installation) rather than `gcloud beta emulators pubsub start`: same emulator, without
 * gcloud's Python start-up and component checks, and without network access.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, terminateChild } from './nats-server';

export interface PubSubEmulatorHandle {
  /** `127.0.0.1:<port>`: the value for PUBSUB_EMULATOR_HOST. */
  readonly host: string;
  readonly port: number;
  /** A project ID to use with it (the emulator accepts any). */
  readonly projectId: string;
  /** Stop for good and remove the temp directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a crash); everything it held is gone. `start()` brings up an empty one. */
  kill(): Promise<void>;
  /** Stop gracefully; `start()` brings up an empty one on the same port. */
  halt(): Promise<void>;
  /** Start again after halt()/kill() (no-op when running). */
  start(): Promise<void>;
  running(): boolean;
}

const SCRIPT = path.join('platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator');

/** The emulator's start script: PUBSUB_EMULATOR_BIN, or under the gcloud installation. */
export function findPubSubEmulator(): string {
  const roots = [process.env.CLOUDSDK_ROOT_DIR, '/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk', '/opt/google-cloud-sdk'];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const gcloud = path.join(dir, 'gcloud');
    if (existsSync(gcloud)) {
      try {
        roots.push(path.dirname(path.dirname(realpathSync(gcloud))));
      } catch {
        // a dangling link: ignore
      }
    }
  }
  const candidates = [process.env.PUBSUB_EMULATOR_BIN, ...roots.filter(Boolean).map((r) => path.join(r!, SCRIPT))];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new Error('the Pub/Sub emulator was not found (platform/pubsub-emulator under the gcloud installation): run `bash scripts/install-pubsub-emulator.sh` (or set PUBSUB_EMULATOR_BIN)');
}

function requireJava(): void {
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const r = spawnSync(java, ['-version'], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error('the Pub/Sub emulator needs Java 11 or later: run `bash scripts/install-pubsub-emulator.sh` (installs default-jre-headless)');
}

/** The emulator answers `GET /` with "Ok" once it serves. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'Ok'));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export async function startPubSubEmulator(options: { port?: number; readyTimeoutMs?: number } = {}): Promise<PubSubEmulatorHandle> {
  const bin = findPubSubEmulator();
  requireJava();
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'event-mesh-pubsub-'));
  let proc: ChildProcess | undefined;
  let log = '';
  let stopped = false;

  const launch = async () => {
    log = '';
    const p = spawn(bin, ['--host=127.0.0.1', `--port=${port}`], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Quicker JVM start; the emulator needs little memory for tests.
      env: { ...process.env, JAVA_OPTS: `${process.env.JAVA_OPTS ?? ''} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx512m -Djava.io.tmpdir=${dir}`.trim() },
    });
    live.add(p);
    const keep = (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    };
    p.stdout?.on('data', keep);
    p.stderr?.on('data', keep);
    p.once('exit', () => live.delete(p));
    proc = p;
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    for (;;) {
      if (p.exitCode !== null || p.signalCode !== null) throw new Error(`the Pub/Sub emulator exited early (${p.exitCode ?? p.signalCode}):\n${log}`);
      if (await answers(port)) return;
      if (Date.now() > deadline) throw new Error(`the Pub/Sub emulator did not answer on port ${port} in time:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const terminate = async (signal: NodeJS.Signals) => {
    const p = proc;
    proc = undefined;
    await terminateChild(p, signal);
  };

  await launch();
  return {
    host: `127.0.0.1:${port}`,
    port,
    projectId: 'event-mesh-test',
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      await terminate('SIGKILL');
    },
    async halt() {
      await terminate('SIGTERM');
    },
    async start() {
      if (stopped) throw new Error('the Pub/Sub emulator was stopped for good; start a new one');
      if (proc) return;
      await launch();
    },
    running() {
      return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
    },
  };
}
