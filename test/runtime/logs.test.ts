/**
 * Log lines: one `name` key per line (the component; the object a line is about under
 * `object`/`route`/…), and in `event-mesh dev` one format per stream: readable lines on
 * stderr by default, JSON lines on stdout only with --log-format json.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { InMemoryChannel } from '../../runtime/channel/in-memory';
import { startDispatcher } from '../../runtime/dispatcher';
import { createLogger, formatLogRecord } from '../../runtime/observability';
import { builtCli } from '../support/cli-process';

/** The keys at the top level of one JSON object text, duplicates kept (JSON.parse would drop them). */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'logs-'));
  writeFileSync(
    path.join(dir, 'routing.yaml'),
    [
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} },
      // Its broker does not exist: skipped, with a warning naming the Trigger.
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'orders', namespace: 'shop' }, spec: { broker: 'missing', subscriber: { uri: 'http://127.0.0.1:9/' } } },
    ].map((o) => stringify(o)).join('---\n'),
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('topLevelKeys sees duplicates', () => {
  expect(topLevelKeys('{"name":"a","x":{"name":"b"},"name":"c","s":"q\\",\\"name"}')).toEqual(['name', 'x', 'name', 's']);
});

test('every dispatcher log line has one name key: the component; the skipped object under "object"', async () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger({ name: 'dispatcher', level: 'debug', destination: destination as unknown as { write(s: string): void } });
  const d = await startDispatcher({ port: 0, host: '127.0.0.1', routingDir: dir, routingPollMs: 60_000 }, { channel: new InMemoryChannel(), ownsChannel: true, logger });
  await d.close(100);
  await new Promise((r) => setImmediate(r));
  expect(lines.length).toBeGreaterThan(2);
  for (const line of lines) {
    expect(topLevelKeys(line).filter((k) => k === 'name')).toEqual(['name']);
    expect(JSON.parse(line).name).toBe('dispatcher');
  }
  const skipped = lines.map((l) => JSON.parse(l)).find((r) => /skipped Trigger shop\/orders/.test(r.msg));
  expect(skipped).toMatchObject({ kind: 'Trigger', namespace: 'shop', object: 'orders' });
});

test('formatLogRecord: time, level, component, message, fields', () => {
  expect(formatLogRecord({ level: 40, time: '2026-01-02T21:04:05.123Z', pid: 1, hostname: 'h', name: 'dev', msg: 'skipped it', kind: 'Trigger', object: 'orders', note: 'two words' })).toBe(
    '21:04:05.123 WARN  dev: skipped it kind=Trigger object=orders note="two words"',
  );
});

function runDev(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [builtCli(), 'dev', dir, '--port', '0', ...args], { env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dev did not get ready; stdout:\n${stdout}\nstderr:\n${stderr}`));
    }, 30_000);
    const check = () => {
      if (/^ready: .*press Ctrl\+C/m.test(stdout + stderr) && /routing loaded/.test(stdout + stderr) && child.exitCode === null && !child.killed) child.kill('SIGTERM');
    };
    child.stdout!.on('data', (b: Buffer) => ((stdout += b.toString()), check()));
    child.stderr!.on('data', (b: Buffer) => ((stderr += b.toString()), check()));
    child.once('exit', () => {
      clearTimeout(timer);
      resolve({ stdout, stderr });
    });
  });
}

test('event-mesh dev: readable logs on stderr, its own lines on stdout, no JSON anywhere', async () => {
  const { stdout, stderr } = await runDev([]);
  expect(stdout).toMatch(/^ready: .*press Ctrl\+C to stop$/m);
  expect(stdout).toMatch(/^warning: skipped Trigger shop\/orders/m);
  expect(stderr).toMatch(/^\d\d:\d\d:\d\d\.\d+ WARN  dev: skipped Trigger shop\/orders: .* kind=Trigger namespace=shop object=orders$/m);
  expect(stderr).toMatch(/INFO  dev: routing loaded/);
  for (const line of `${stdout}\n${stderr}`.split('\n')) expect(line.trimStart().startsWith('{')).toBe(false);
}, 60_000);

test('event-mesh dev --log-format json: stdout is JSON lines with one name each, its own lines on stderr', async () => {
  const { stdout, stderr } = await runDev(['--log-format', 'json']);
  const lines = stdout.split('\n').filter(Boolean);
  expect(lines.length).toBeGreaterThan(2);
  for (const line of lines) {
    expect(topLevelKeys(line).filter((k) => k === 'name')).toEqual(['name']);
    expect(JSON.parse(line).name).toBe('dev');
  }
  expect(lines.map((l) => JSON.parse(l).msg)).toContain('routing loaded');
  expect(stderr).toMatch(/^ready: .*press Ctrl\+C to stop$/m);
}, 60_000);
