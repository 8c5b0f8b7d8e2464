/**
 * `npm run soak`: the data plane under steady load for a bounded time (I/O, not in CI).
 *
 * nats-server, an adapter and a dispatcher process as in `npm run bench`, wired by the
 * same construct. First the capacity is measured (closed loop, end to end); then events
 * are offered at half of it for SOAK_DURATION (default 5m, e.g. `SOAK_DURATION=30s`), in
 * SOAK_INTERVALS slices (default 10). Per slice: accepted and delivered throughput, ingest
 * and end-to-end p50/p99. RSS of each process at the end of the steady phase must not
 * exceed its start by more than 20 %. Results go to bench/results/soak-<time>.json; the exit code
 * is 1 when an accepted event was not delivered or an RSS grew past the bound.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { parseGoDuration } from '../constructs/api';
import { freePort, startNatsServer } from '../test/support/nats-server';
import { percentile } from './load-generator';
import { delivered, eventBody, eventHeaders, forkAndWait, load, startCli, stop, waitReady } from './main';
import { writeBenchRouting } from './routing';

const DURATION_MS = parseGoDuration(process.env.SOAK_DURATION ?? '5m') ?? 300_000;
const INTERVALS = Math.max(1, Number(process.env.SOAK_INTERVALS ?? 10));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const RSS_BOUND = 0.2;

function rssBytes(pid: number | undefined): number {
  if (!pid) return NaN;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

async function main(): Promise<void> {
  const started = new Date();
  const nats = await startNatsServer();
  const body = eventBody();
  const children: ChildProcess[] = [];
  try {
    const sink = forkAndWait<{ port: number }>('sink.js');
    children.push(sink.child);
    const { port: sinkPort } = await sink.reply;
    const routingDir = fs.mkdtempSync(path.join(os.tmpdir(), 'event-mesh-soak-'));
    writeBenchRouting(routingDir, `http://127.0.0.1:${sinkPort}/`);
    const adapterPort = await freePort();
    const dispatcherPort = await freePort();
    const common = { EVENT_MESH_CHANNEL: 'nats', NATS_URL: nats.url };
    const dispatcher = startCli(['dispatcher'], { ...common, ROUTING_DIR: routingDir, PORT: String(dispatcherPort) });
    children.push(dispatcher);
    await waitReady(`http://127.0.0.1:${dispatcherPort}/readyz`);
    const adapter = startCli(['adapter'], { ...common, APPLICATION_NAME: 'bench', PORT: String(adapterPort), AUTH: 'none' });
    children.push(adapter);
    await waitReady(`http://127.0.0.1:${adapterPort}/readyz`);
    const url = `http://127.0.0.1:${adapterPort}/events`;
    const headers = eventHeaders();

    // Capacity: closed loop, end to end (delivered per second at the subscriber).
    const warm = await load({ url, headers, body, concurrency: CONCURRENCY, durationMs: 2000, phase: 'warmup' });
    await delivered(sink.child, 'warmup', warm.ok);
    const cap = await load({ url, headers, body, concurrency: CONCURRENCY, durationMs: 10_000, phase: 'capacity' });
    const capStats = await delivered(sink.child, 'capacity', cap.ok);
    const capacity = Math.round((capStats.unique / Math.max(1, capStats.lastAt - capStats.firstAt)) * 1000);
    const rate = Math.max(1, Math.floor(capacity / 2));
    console.log(`soak: capacity ${capacity} events/s end to end; offering ${rate}/s for ${DURATION_MS} ms in ${INTERVALS} intervals`);

    const pids = { adapter: adapter.pid, dispatcher: dispatcher.pid, natsServer: nats.pid(), subscriber: sink.child.pid };
    const rssStart = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, rssBytes(pid)]));
    const intervals = [];
    let lost = 0;
    for (let i = 0; i < INTERVALS; i++) {
      const phase = `soak${i}`;
      const res = await load({ url, headers, body, concurrency: CONCURRENCY, durationMs: Math.max(1000, Math.floor(DURATION_MS / INTERVALS)), ratePerSecond: rate, phase });
      let stats;
      try {
        stats = await delivered(sink.child, phase, res.ok);
      } catch (err) {
        console.error((err as Error).message);
        lost++;
        continue;
      }
      const lat = [...stats.latencies].sort((a, b) => a - b);
      const row = {
        interval: i,
        offeredPerSecond: rate,
        acceptedPerSecond: Math.round((res.ok / res.elapsedMs) * 1000),
        failed: res.failed,
        delivered: stats.unique,
        duplicatesSoFar: stats.duplicates,
        ingestP50Ms: res.latenciesMs.p50,
        ingestP99Ms: res.latenciesMs.p99,
        endToEndP50Ms: percentile(lat, 50),
        endToEndP99Ms: percentile(lat, 99),
        rssBytes: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, rssBytes(pid)])),
      };
      intervals.push(row);
      console.log(`  ${i}: accepted ${row.acceptedPerSecond}/s, delivered ${row.delivered}, ingest p50 ${row.ingestP50Ms.toFixed(2)} p99 ${row.ingestP99Ms.toFixed(2)} ms, end to end p50 ${row.endToEndP50Ms} p99 ${row.endToEndP99Ms} ms`);
    }
    const rssEnd = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, rssBytes(pid)]));
    const rssGrowth = Object.fromEntries(Object.keys(pids).map((k) => [k, +((rssEnd[k] - rssStart[k]) / rssStart[k]).toFixed(3)]));
    // Growth is what a leak shows; a process giving memory back (GC, nats-server's caches) is fine.
    const rssOk = Object.values(rssGrowth).every((g) => Number.isFinite(g) && g <= RSS_BOUND);
    const results = {
      started: started.toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
      durationMs: DURATION_MS,
      capacityPerSecond: capacity,
      offeredPerSecond: rate,
      intervals,
      rssStart,
      rssEnd,
      rssGrowth,
      rssWithinBound: rssOk,
      rssBound: RSS_BOUND,
      intervalsWithUndeliveredEvents: lost,
    };
    fs.mkdirSync(path.join('bench', 'results'), { recursive: true });
    const file = path.join('bench', 'results', `soak-${started.toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`RSS growth ${JSON.stringify(rssGrowth)} (bound +${RSS_BOUND * 100} %): ${rssOk ? 'ok' : 'EXCEEDED'}; results in ${file}`);
    fs.rmSync(routingDir, { recursive: true, force: true });
    if (!rssOk || lost > 0) process.exitCode = 1;
  } finally {
    for (const c of children.reverse()) await stop(c);
    await nats.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
