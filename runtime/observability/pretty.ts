/**
 * Human-readable log lines for `event-mesh dev` (pure formatting plus a write-only stream):
 *
 *   21:04:05.123 WARN  dispatcher: skipped Trigger shop/orders: … kind=Trigger object=orders
 *
 * pino writes JSON lines into `prettyStream`, which rewrites each as one such line. Fields
 * keep their redaction (pino redacts before writing).
 */
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function scalar(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value instanceof Object) return JSON.stringify(value);
  return String(value);
}

/** One pino JSON record as a readable line (no trailing newline). */
export function formatLogRecord(record: Record<string, unknown>): string {
  const { level, time, name, msg, pid: _pid, hostname: _hostname, err, ...fields } = record;
  const at = typeof time === 'string' && /T(\d\d:\d\d:\d\d(\.\d+)?)/.exec(time)?.[1];
  const head = [at || String(time ?? ''), (LEVELS[Number(level)] ?? String(level)).padEnd(5)].filter(Boolean).join(' ');
  const text = `${head} ${name ? `${String(name)}: ` : ''}${msg === undefined ? '' : String(msg)}`;
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${scalar(v)}`);
  let line = rest.length > 0 ? `${text} ${rest.join(' ')}` : text;
  if (err !== undefined) {
    const e = err as { message?: string; stack?: string };
    line += ` err=${scalar(e.message ?? err)}`;
    if (e.stack && Number(level) >= 50) line += `\n${e.stack}`;
  }
  return line;
}

/** A pino destination that writes `formatLogRecord` lines to `out` (e.g. process.stderr). */
export function prettyStream(out: { write(text: string): unknown }): DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (!line) continue;
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(line) as Record<string, unknown>;
        } catch {
          out.write(`${line}\n`);
          continue;
        }
        out.write(`${formatLogRecord(record)}\n`);
      }
    },
  };
}
