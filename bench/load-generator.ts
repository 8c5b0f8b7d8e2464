/**
 * HTTP load generator, run as its own process so it does not share an event loop with
 * the server under test. Closed loop (`concurrency` requests always outstanding) for a
 * fixed duration, or open loop at a fixed `ratePerSecond`. Reports via IPC.
 *
 * Requests go through undici's `dispatch()` with a small handler, as the dispatcher sends
 * its deliveries: `request()` builds a response stream, an AsyncResource and signal
 * listeners per call, and this process shares the cores with what it measures.
 */
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

export interface LoadSpec {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly concurrency: number;
  readonly durationMs: number;
  /** Open loop: start requests at this rate instead of keeping `concurrency` outstanding. */
  readonly ratePerSecond?: number;
  /**
   * Give each request a unique `ce-id` of the form `<phase>.<n>` and a `ce-benchsent`
   * timestamp (ms), so the subscriber can count and time each phase's events.
   */
  readonly phase?: string;
  /**
   * Send the same load for this long first, on the same connections and in the same
   * process, and count none of it: the measured part then starts with connections open
   * and this process's code compiled, as a long-running client's would be. The warm-up's
   * events have the phase `<phase>-warmup`.
   * @default 0
   */
  readonly warmupMs?: number;
  /** HTTPS with this client certificate (and the CA of the server's). */
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

export interface LoadResult {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly statuses: Record<string, number>;
  readonly elapsedMs: number;
  readonly latenciesMs: { p50: number; p99: number };
  /** CPU milliseconds this process spent (user + system) generating the load. */
  readonly cpuMs: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** POST `body` and resolve with the response status once the response has ended (its body dropped). */
export function post(pool: Dispatcher, path: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    let status = 0;
    pool.dispatch({ path, method: 'POST', headers, body }, {
      onRequestStart() {},
      onResponseStart(_controller, statusCode) {
        status = statusCode; // a 1xx is followed by the final response, which overwrites it
      },
      onResponseData() {},
      onResponseEnd() {
        resolve(status);
      },
      onResponseError(_controller, err) {
        reject(err);
      },
    });
  });
}

/**
 * Call `one` for `durationMs`: closed loop (`concurrency` callers, each calling again as
 * soon as its call ends) or, with `ratePerSecond`, open loop at that rate with at most
 * `concurrency` calls in flight. Resolves once every call has ended.
 */
export async function drive(spec: { durationMs: number; ratePerSecond?: number; concurrency: number }, one: () => Promise<void>): Promise<void> {
  const deadline = performance.now() + spec.durationMs;
  if (spec.ratePerSecond) {
    const interval = 1000 / spec.ratePerSecond;
    const inFlight = new Set<Promise<void>>();
    let next = performance.now();
    while (performance.now() < deadline) {
      // Catch up in small bursts rather than relying on sub-millisecond timers.
      while (next <= performance.now() && inFlight.size < spec.concurrency) {
        const p = one().finally(() => inFlight.delete(p));
        inFlight.add(p);
        next += interval;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(inFlight);
  } else {
    const worker = async () => {
      while (performance.now() < deadline) await one();
    };
    await Promise.all(Array.from({ length: spec.concurrency }, worker));
  }
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const pool = new Pool(url.origin, {
    connections: spec.concurrency, pipelining: 1, keepAliveTimeout: 30_000,
    ...(spec.tls ? { connect: { ...spec.tls, servername: 'localhost' } } : {}),
  });
  const body = Buffer.from(spec.body);
  let statuses: Record<string, number> = {};
  let latencies: number[] = [];
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let seq = 0;
  let phase = spec.phase;

  const one = async (): Promise<void> => {
    const headers = { ...spec.headers };
    if (phase) {
      headers['ce-id'] = `${phase}.${seq++}`;
      headers['ce-benchsent'] = String(Date.now());
    }
    const t0 = performance.now();
    sent++;
    try {
      const status = await post(pool, url.pathname, headers, body);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status >= 200 && status < 300) ok++;
      else failed++;
    } catch (err) {
      failed++;
      const code = (err as { code?: string }).code ?? 'error';
      statuses[code] = (statuses[code] ?? 0) + 1;
    }
    latencies.push(performance.now() - t0);
  };

  const run = (durationMs: number) => drive({ durationMs, ratePerSecond: spec.ratePerSecond, concurrency: spec.concurrency }, one);

  if (spec.warmupMs) {
    phase = spec.phase && `${spec.phase}-warmup`;
    await run(spec.warmupMs);
    [statuses, latencies, sent, ok, failed, seq, phase] = [{}, [], 0, 0, 0, 0, spec.phase];
  }
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await run(spec.durationMs);
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { sent, ok, failed, statuses, elapsedMs, latenciesMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) }, cpuMs: (cpu.user + cpu.system) / 1000 };
}

if (require.main === module) {
  process.once('message', async (spec: LoadSpec) => {
    const result = await runLoad(spec);
    process.send?.(result, () => process.exit(0));
  });
}
