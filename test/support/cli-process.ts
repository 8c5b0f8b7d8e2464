/**
 * Running the real `event-mesh` CLI as a child process in tests: the compiled
 * lib/runtime/cli.js when it is up to date (npm test's pretest builds it), otherwise a
 * fresh compile of runtime/cli.ts and what it imports into node_modules/.cache (so the
 * child resolves the project's node_modules).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function newestSource(dirs: string[]): { mtime: number; hash: string } {
  const hash = createHash('sha1');
  let mtime = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else if (name.endsWith('.ts')) {
        mtime = Math.max(mtime, st.mtimeMs);
        hash.update(`${full}:${st.mtimeMs}:${st.size};`);
      }
    }
  };
  for (const d of dirs) walk(path.join(ROOT, d));
  return { mtime, hash: hash.digest('hex').slice(0, 12) };
}

/** Path of a cli.js compiled from the current sources. */
export function builtCli(): string {
  const { mtime, hash } = newestSource(['runtime', 'constructs/api']);
  const lib = path.join(ROOT, 'lib', 'runtime', 'cli.js');
  if (existsSync(lib) && statSync(lib).mtimeMs >= mtime) return lib;
  const cache = path.join(ROOT, 'node_modules', '.cache', 'event-mesh-cli');
  const out = path.join(cache, hash);
  const cli = path.join(out, 'runtime', 'cli.js');
  if (existsSync(cli)) return cli;
  const tmp = `${out}.${process.pid}`;
  mkdirSync(cache, { recursive: true });
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [tsc, path.join(ROOT, 'runtime', 'cli.ts'), '--outDir', tmp, '--rootDir', ROOT, '--target', 'ES2022', '--module', 'commonjs', '--moduleResolution', 'node', '--esModuleInterop', '--skipLibCheck', '--resolveJsonModule', '--types', 'node', '--strict'];
  try {
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: 'pipe' });
  } catch (err) {
    // Type errors still emit; only a missing output is fatal.
    if (!existsSync(path.join(tmp, 'runtime', 'cli.js'))) throw new Error(`compiling runtime/cli.ts failed:\n${(err as { stdout?: Buffer }).stdout?.toString() ?? err}`);
  }
  try {
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another worker won the race
  }
  return cli;
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first stdout/stderr line matching. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal name). */
  exited(): Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

export function spawnCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [builtCli(), ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
    for (const l of [...listeners]) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  process.once('exit', () => child.kill('SIGKILL'));
  return {
    child,
    output: () => out,
    waitForOutput(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            done();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms; output:\n${out.slice(-4000)}`));
        }, timeoutMs);
        const onExit = () => {
          setTimeout(() => {
            if (!out.match(pattern)) {
              done();
              reject(new Error(`process exited before printing ${pattern}; output:\n${out.slice(-4000)}`));
            }
          }, 50);
        };
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    exited: () => exit,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}
