/**
 * `npm run bench`: throughput and latency of the adapter and the whole mesh, each next
 * to a baseline measured in the same run on the same machine:
 *   - a bare Node HTTP server answering 202 (the HTTP ceiling),
 *   - raw JetStream publish at the same concurrency (the durable-store ceiling).
 * Every process (nats-server, load generator, adapter, dispatcher, subscriber) is its own
 * OS process, as in a cluster. Then fan-out (1…1,000 Triggers on one broker, next to the
 * 1-Trigger figure) and synth scale (10…1,000 applications, each size in a child process,
 * next to the smallest). Figures are printed as a table and written to .bench/results.json,
 * bench/results/summary.md and SVG charts in bench/results/.
 *
 * BENCH_QUICK=1: short runs and the smaller sizes only (checks the bench works in well
 * under a minute; its figures are not the ones to quote).
 * BENCH_ONLY=mesh: the baselines and the mesh phases only (no fan-out, no synth scale).
 * BENCH_ADAPTER_NODE_ARGS / BENCH_DISPATCHER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p")
 * go to that process's node, to profile it under the bench's load.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startNatsServer } from '../test/support/nats-server';
import type { LoadResult, LoadSpec } from './load-generator';
import { percentile } from './load-generator';
import { writeBenchRouting } from './routing';
import { fanOut, type FanOutResult } from './fan-out';
import type { SynthScaleResult } from './synth-scale';
import { writeSummary } from './summary';
import { benchCertificates } from './tls';
import { cpuPerEventUs, cpuSnapshot } from './process-cpu';
import { endToEndCeiling } from './ceiling';
import type { PublishResult, PublishSpec } from './jetstream-publish';
import type { MinimalPipelineSpec } from './minimal-pipeline';
import { BENCH_MAX_IN_FLIGHT } from './routing';
import { medianRoundIndex, roundRatios, type RoundRatios } from './rounds';

const QUICK = ['1', 'true', 'yes'].includes(String(process.env.BENCH_QUICK ?? '').toLowerCase());
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? (QUICK ? 1000 : 10_000));
const FAN_OUT_TRIGGERS = QUICK ? [1, 10, 100] : [1, 10, 100, 1000];
const FAN_OUT_EVENTS = Number(process.env.BENCH_FAN_OUT_EVENTS ?? (QUICK ? 500 : 20_000));
const SYNTH_APPLICATIONS = QUICK ? [10, 100] : [10, 100, 1000];
const EVENT_BYTES = 1024;
const LATENCY_RATE = 1000;
const CLI = path.resolve(__dirname, '../runtime/cli.js');
const MESH_ONLY = process.env.BENCH_ONLY === 'mesh';
/** Rounds of raw publish, end to end and minimal pipeline, back to back (bench/rounds.ts). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));

export function forkAndWait<T>(script: string, message?: unknown, args: string[] = []): { child: ChildProcess; reply: Promise<T> } {
  const child = fork(path.resolve(__dirname, script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const reply = new Promise<T>((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before answering`)));
  });
  if (message !== undefined) child.send(message as object);
  return { child, reply };
}

export async function load(spec: LoadSpec): Promise<LoadResult> {
  return forkAndWait<LoadResult>('load-generator.js', spec).reply;
}

export async function waitReady(url: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`);
}

export function startCli(args: string[], env: Record<string, string>): ChildProcess {
  const nodeArgs = (process.env[`BENCH_${args[0].toUpperCase()}_NODE_ARGS`] ?? '').split(' ').filter(Boolean);
  return spawn(process.execPath, [...nodeArgs, CLI, ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

export function eventHeaders(): Record<string, string> {
  return {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-type': 'bench.event',
    'ce-source': 'bench',
    'ce-eventtypeversion': 'v1',
  };
}

export function eventBody(): string {
  // A JSON payload of exactly EVENT_BYTES bytes: {"filler":"xxx…"}.
  const overhead = JSON.stringify({ filler: '' }).length;
  return JSON.stringify({ filler: 'x'.repeat(EVENT_BYTES - overhead) });
}

const rate = (ok: number, ms: number) => Math.round((ok / ms) * 1000);

async function main(): Promise<void> {
  const body = eventBody();
  const results: Record<string, unknown> = {
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
    eventBytes: Buffer.byteLength(body),
    concurrency: CONCURRENCY,
    durationMs: DURATION_MS,
  };
  console.log(`event-mesh bench: ${os.cpus().length} cores, ${Buffer.byteLength(body)}-byte events, concurrency ${CONCURRENCY}, ${DURATION_MS} ms per run`);

  // Baseline 1: bare Node HTTP server.
  const bare = forkAndWait<{ port: number }>('bare-server.js');
  const { port: barePort } = await bare.reply;
  await load({ url: `http://127.0.0.1:${barePort}/`, headers: eventHeaders(), body, concurrency: CONCURRENCY, durationMs: 1000 });
  const bareCpuBefore = cpuSnapshot({ server: bare.child.pid });
  const bareResult = await load({ url: `http://127.0.0.1:${barePort}/`, headers: eventHeaders(), body, concurrency: CONCURRENCY, durationMs: DURATION_MS });
  // CPU of one bare request, server and client: what each of the mesh's two HTTP hops costs at least.
  const bareServerUs = cpuPerEventUs({ server: bare.child.pid }, bareCpuBefore, bareResult.ok).server;
  const bareRequestUs = bareServerUs === undefined ? undefined : Math.round(bareServerUs + (bareResult.cpuMs * 1000) / Math.max(1, bareResult.ok));
  await stop(bare.child);

  const nats = await startNatsServer();
  try {
    // Baseline 2: raw JetStream publish (and what nats-server spends per stored publish).
    const natsCpuBefore = cpuSnapshot({ natsServer: nats.pid() });
    const rawResult = await rawPublish(nats.url, { warmupMs: 1000 });
    // The warm-up's publishes count too: nats-server's CPU is over all that were stored.
    const rawNatsUs = cpuPerEventUs({ natsServer: nats.pid() }, natsCpuBefore, rawResult.ok + rawResult.warmupOk).natsServer;
    // Baseline 3: raw JetStream publish latency at the rate the mesh's latency is measured at.
    const rawAtRate = await rawPublish(nats.url, { warmupMs: 2000, ratePerSecond: LATENCY_RATE });

    // The mesh: adapter + dispatcher + subscriber, wired by manifests.
    const sink = forkAndWait<{ port: number }>('sink.js');
    const { port: sinkPort } = await sink.reply;
    const routingDir = fs.mkdtempSync(path.join(os.tmpdir(), 'event-mesh-bench-'));
    writeBenchRouting(routingDir, `http://127.0.0.1:${sinkPort}/`);
    const adapterPort = await freePort();
    const dispatcherPort = await freePort();
    const adapterProbePort = await freePort();
    const common = { EVENT_MESH_CHANNEL: 'nats', NATS_URL: nats.url };
    const adapter = startCli(['adapter'], { ...common, APPLICATION_NAME: 'bench', PORT: String(adapterPort), AUTH: 'none', PROBE_PORT: String(adapterProbePort) });
    await waitReady(`http://127.0.0.1:${adapterProbePort}/readyz`);

    // Ingest alone: the dispatcher is not running yet, so nothing else competes for the cores.
    const adapterUrl = `http://127.0.0.1:${adapterPort}/events`;
    const warm = await load({ url: adapterUrl, headers: eventHeaders(), body, concurrency: CONCURRENCY, durationMs: 1000, phase: 'warmup' });
    const ingest = await load({ url: adapterUrl, headers: eventHeaders(), body, concurrency: CONCURRENCY, durationMs: DURATION_MS, phase: 'ingest' });

    // The same ingest over mutual TLS (keep-alive connections, as a client holds them), to an
    // adapter of an application no Subscription reads, so it adds no delivery work later.
    const certs = await benchCertificates();
    const [tlsPort, tlsProbePort] = [await freePort(), await freePort()];
    const tlsAdapter = startCli(['adapter'], {
      ...common, APPLICATION_NAME: 'bench-tls', PORT: String(tlsPort), PROBE_PORT: String(tlsProbePort),
      AUTH: 'mtls', TLS_CERT_FILE: certs.files.cert, TLS_KEY_FILE: certs.files.key, CLIENT_CA_FILE: certs.files.ca,
    });
    await waitReady(`http://127.0.0.1:${tlsProbePort}/readyz`);
    const tlsUrl = `https://127.0.0.1:${tlsPort}/events`;
    await load({ url: tlsUrl, headers: eventHeaders(), body, concurrency: CONCURRENCY, durationMs: 1000, phase: 'mtls-warmup', tls: certs.client });
    const ingestMtls = await load({ url: tlsUrl, headers: eventHeaders(), body, concurrency: CONCURRENCY, durationMs: DURATION_MS, phase: 'mtls', tls: certs.client });
    await stop(tlsAdapter);
    certs.remove();

    // Start the dispatcher and let it deliver everything ingest stored before measuring again.
    const dispatcher = startCli(['dispatcher'], { ...common, ROUTING_DIR: routingDir, PORT: String(dispatcherPort) });
    await waitReady(`http://127.0.0.1:${dispatcherPort}/readyz`);
    await delivered(sink.child, 'warmup', warm.ok);
    const drain = await delivered(sink.child, 'ingest', ingest.ok);

    for (const phase of ['warmup', 'ingest']) sink.child.send({ cmd: 'forget', phase });

    // Baseline 4: the same path with none of the mesh's work (bench/minimal-pipeline.ts), on
    // the same nats-server, subscriber, client and load; idle but for its own phases.
    const minimal = await startMinimalPipeline(nats.url, `http://127.0.0.1:${sinkPort}/`, body, sink.child);

    // End-to-end throughput in rounds (bench/rounds.ts): raw JetStream publish, end to end
    // (closed loop into the adapter, delivered/s at the subscriber) and the minimal pipeline
    // back to back, each ratio within its round. Where the cores go: CPU per delivered event
    // of each process, the bench's own included.
    const meshPids = { adapter: adapter.pid, dispatcher: dispatcher.pid, natsServer: nats.pid(), subscriber: sink.child.pid };
    const minimalPids = { ingress: minimal.pids.ingress, delivery: minimal.pids.delivery, natsServer: nats.pid(), subscriber: sink.child.pid };
    const rounds: Array<RoundRatios & { endToEnd: Delivery; minimal: Delivery }> = [];
    for (let n = 1; n <= ROUNDS; n++) {
      const raw = await rawPublish(nats.url, { warmupMs: 1000 });
      const endToEnd = await measureDelivery(sink.child, `e2e${n}`, adapterUrl, body, meshPids);
      const viaMinimal = await measureDelivery(sink.child, `minimal${n}`, minimal.url, body, minimalPids);
      const figures = roundRatios({ round: n, rawJetStreamPerSecond: rate(raw.ok, raw.elapsedMs), endToEndPerSecond: endToEnd.deliveredPerSecond, minimalPipelinePerSecond: viaMinimal.deliveredPerSecond });
      console.log(`round ${n}: raw JetStream ${figures.rawJetStreamPerSecond}/s, end to end ${figures.endToEndPerSecond}/s (${figures.endToEndToRaw} × raw), minimal pipeline ${figures.minimalPipelinePerSecond}/s (${figures.minimalToRaw} × raw); end to end ${figures.endToEndToMinimal} × minimal`);
      rounds.push({ ...figures, endToEnd, minimal: viaMinimal });
    }
    await minimal.stop();
    const quoted = rounds[medianRoundIndex(rounds)];

    // Latency at a steady 1,000 events/s, from the adapter's request to the subscriber.
    // Steady means steady: 2 s at the rate first, not measured, from the same client process
    // on the same connections (a fresh client's first second, opening connections and
    // compiling its code, was most of the p99 before).
    const steady = await load({ url: adapterUrl, headers: eventHeaders(), body, concurrency: CONCURRENCY, durationMs: DURATION_MS, warmupMs: 2000, ratePerSecond: LATENCY_RATE, phase: 'steady' });
    const steadyStats = await delivered(sink.child, 'steady', steady.ok);
    for (const phase of ['steady-warmup', 'steady']) sink.child.send({ cmd: 'forget', phase });
    const steadyLat = [...steadyStats.latencies].sort((a, b) => a - b);

    await stop(dispatcher);
    await stop(adapter);
    fs.rmSync(routingDir, { recursive: true, force: true });

    // Fan-out: the same sink, a fresh nats-server and dispatcher per Trigger count.
    const fan: FanOutResult[] = [];
    for (const n of MESH_ONLY ? [] : FAN_OUT_TRIGGERS) {
      const r = await fanOut(n, FAN_OUT_EVENTS, {
        cli: CLI,
        freePort,
        waitReady,
        stop,
        sinkUrl: `http://127.0.0.1:${sinkPort}/`,
        sinkStats: (phase) => sinkStats(sink.child, phase),
      });
      console.log(`fan-out ${n} Trigger(s): ${r.deliveredPerSecond} delivered/s, dispatcher peak RSS ${r.dispatcherPeakRssMb} MB, ${r.natsConsumers} NATS consumers`);
      fan.push(r);
    }
    await stop(sink.child);
    results.fanOut = fan.map((r) => ({ ...r, ratioToOneTrigger: +(r.deliveredPerSecond / fan[0].deliveredPerSecond).toFixed(3) }));

    const bareRate = rate(bareResult.ok, bareResult.elapsedMs);
    const rawRate = rate(rawResult.ok, rawResult.elapsedMs);
    const ingestRate = rate(ingest.ok, ingest.elapsedMs);
    const ceiling = bareRequestUs !== undefined && rawNatsUs !== undefined
      ? endToEndCeiling({ cores: os.cpus().length, httpRequestUs: bareRequestUs, natsServerPublishUs: rawNatsUs }, quoted.rawJetStreamPerSecond, quoted.endToEndPerSecond)
      : undefined;
    Object.assign(results, {
      baselineBareHttp: { eventsPerSecond: bareRate, p50Ms: bareResult.latenciesMs.p50, p99Ms: bareResult.latenciesMs.p99 },
      baselineRawJetStreamPublish: { eventsPerSecond: rawRate, p50Ms: rawResult.latenciesMs.p50, p99Ms: rawResult.latenciesMs.p99 },
      baselineRawJetStreamAtLatencyRate: { ratePerSecond: LATENCY_RATE, published: rawAtRate.ok, p50Ms: rawAtRate.latenciesMs.p50, p99Ms: rawAtRate.latenciesMs.p99 },
      adapterIngest: {
        eventsPerSecond: ingestRate,
        failed: ingest.failed,
        statuses: ingest.statuses,
        p50Ms: ingest.latenciesMs.p50,
        p99Ms: ingest.latenciesMs.p99,
        ratioToRawJetStream: +(ingestRate / rawRate).toFixed(3),
        ratioToBareHttp: +(ingestRate / bareRate).toFixed(3),
      },
      adapterIngestMtls: {
        eventsPerSecond: rate(ingestMtls.ok, ingestMtls.elapsedMs),
        failed: ingestMtls.failed,
        statuses: ingestMtls.statuses,
        p50Ms: ingestMtls.latenciesMs.p50,
        p99Ms: ingestMtls.latenciesMs.p99,
        ratioToPlainIngest: +(rate(ingestMtls.ok, ingestMtls.elapsedMs) / ingestRate).toFixed(3),
      },
      drainOfIngestBacklog: { events: drain.unique, deliveredPerSecond: rate(drain.unique, Math.max(1, drain.lastAt - drain.firstAt)) },
      // The figures of the round with the median end-to-end ratio; every round's below.
      endToEnd: {
        round: quoted.round,
        accepted: quoted.endToEnd.accepted,
        delivered: quoted.endToEnd.delivered,
        deliveredPerSecond: quoted.endToEndPerSecond,
        rawJetStreamPerSecond: quoted.rawJetStreamPerSecond,
        ratioToRawJetStream: quoted.endToEndToRaw,
        ratioToMinimalPipeline: quoted.endToEndToMinimal,
        cpuMicrosecondsPerEvent: quoted.endToEnd.cpuUs,
        ...(ceiling ? { ceiling } : {}),
      },
      minimalPipeline: {
        deliveredPerSecond: quoted.minimalPipelinePerSecond,
        ratioToRawJetStream: quoted.minimalToRaw,
        cpuMicrosecondsPerEvent: quoted.minimal.cpuUs,
      },
      rounds: rounds.map(({ endToEnd, minimal: m, ...figures }) => ({ ...figures, endToEndCpuUs: endToEnd.cpuUs, minimalCpuUs: m.cpuUs })),
      latencyAt1000PerSecond: {
        accepted: steady.ok,
        delivered: steadyStats.unique,
        offeredRate: LATENCY_RATE,
        achievedRate: rate(steady.ok, steady.elapsedMs),
        duplicatesSoFar: steadyStats.duplicates,
        p50Ms: percentile(steadyLat, 50),
        p99Ms: percentile(steadyLat, 99),
        p999Ms: percentile(steadyLat, 99.9),
        maxMs: steadyLat[steadyLat.length - 1],
      },
    });
  } finally {
    await nats.stop();
  }

  // Synth scale: each size in its own process (peak RSS is the process's own).
  const synth: SynthScaleResult[] = [];
  for (const n of MESH_ONLY ? [] : SYNTH_APPLICATIONS) {
    const r = await forkAndWait<SynthScaleResult>('synth-scale.js', undefined, [String(n)]).reply;
    console.log(`synth ${n} applications × 10 Triggers: ${r.seconds.toFixed(2)} s (CPU ${r.cpuSeconds.toFixed(2)} s), peak RSS ${r.peakRssMb} MB`);
    synth.push(r);
  }
  results.synthScale = synth.map((r) => ({ ...r, timeRatioToSmallest: +(r.seconds / synth[0].seconds).toFixed(2) }));
  results.quick = QUICK;

  fs.mkdirSync('.bench', { recursive: true });
  fs.writeFileSync('.bench/results.json', JSON.stringify(results, null, 2));
  printTable(results);
  // A partial run does not overwrite the summary of a full one.
  if (MESH_ONLY) return;
  const out = path.resolve(__dirname, '../../bench/results');
  await writeSummary(results, out);
  console.log(`summary and charts: ${path.relative(process.cwd(), out)}/summary.md`);
}


/** Raw JetStream publish (bench/jetstream-publish.ts) in a process of its own, at the run's concurrency, duration and event size. */
function rawPublish(natsUrl: string, options: Pick<PublishSpec, 'warmupMs' | 'ratePerSecond'>): Promise<PublishResult> {
  const spec: PublishSpec = { natsUrl, concurrency: CONCURRENCY, durationMs: DURATION_MS, payloadBytes: EVENT_BYTES, ...options };
  return forkAndWait<PublishResult>('jetstream-publish.js', spec).reply;
}

/** The minimal pipeline's two processes, warmed up for 1 s, then idle until measured. */
async function startMinimalPipeline(natsUrl: string, subscriberUrl: string, body: string, sink: ChildProcess) {
  const spec: MinimalPipelineSpec = { natsUrl, subscriberUrl, maxInFlight: BENCH_MAX_IN_FLIGHT };
  const ingress = forkAndWait<{ port: number }>('minimal-pipeline.js', spec, ['ingress']);
  const { port } = await ingress.reply;
  const delivery = forkAndWait<{ ready: boolean }>('minimal-pipeline.js', spec, ['delivery']);
  await delivery.reply;
  const url = `http://127.0.0.1:${port}/`;
  const warm = await load({ url, headers: eventHeaders(), body, concurrency: CONCURRENCY, durationMs: 1000, phase: 'minimal-warmup' });
  await delivered(sink, 'minimal-warmup', warm.ok);
  sink.send({ cmd: 'forget', phase: 'minimal-warmup' });
  return {
    url,
    pids: { ingress: ingress.child.pid, delivery: delivery.child.pid },
    stop: async () => {
      await stop(delivery.child);
      await stop(ingress.child);
    },
  };
}

interface Delivery {
  readonly accepted: number;
  readonly delivered: number;
  readonly deliveredPerSecond: number;
  /** CPU µs per delivered event of each process, the load generator's included. */
  readonly cpuUs: Record<string, number>;
}

/**
 * Closed-loop load into `url` for the run's duration; every accepted event must reach the
 * subscriber. Delivered/s is counted at the subscriber, from its first to its last event.
 */
async function measureDelivery(sink: ChildProcess, phase: string, url: string, body: string, pids: Record<string, number | undefined>): Promise<Delivery> {
  const before = cpuSnapshot(pids);
  const run = await load({ url, headers: eventHeaders(), body, concurrency: CONCURRENCY, durationMs: DURATION_MS, phase });
  const got = await delivered(sink, phase, run.ok);
  const cpuUs = { ...cpuPerEventUs(pids, before, got.unique), loadGenerator: Math.round((run.cpuMs * 1000) / Math.max(1, got.unique)) };
  sink.send({ cmd: 'forget', phase });
  return { accepted: run.ok, delivered: got.unique, deliveredPerSecond: rate(got.unique, Math.max(1, got.lastAt - got.firstAt)), cpuUs };
}

export type SinkStats = { unique: number; firstAt: number; lastAt: number; latencies: number[]; duplicates: number };

export function sinkStats(child: ChildProcess, phase: string): Promise<SinkStats> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as SinkStats));
    child.send({ cmd: 'stats', phase });
  });
}

/** Wait until the sink has every accepted event of a phase: nothing that got a 2xx may be missing. */
export async function delivered(child: ChildProcess, phase: string, accepted: number): Promise<SinkStats> {
  let stats = await sinkStats(child, phase);
  const until = Date.now() + 120_000;
  while (stats.unique < accepted) {
    if (Date.now() > until) throw new Error(`phase ${phase}: only ${stats.unique} of ${accepted} accepted events delivered after 120 s`);
    await new Promise((r) => setTimeout(r, 200));
    stats = await sinkStats(child, phase);
  }
  return stats;
}

function printTable(r: Record<string, any>): void {
  const row = (name: string, value: string, note = '') => console.log(`${name.padEnd(44)} ${value.padStart(14)}  ${note}`);
  console.log('');
  row('bare Node HTTP server (202)', `${r.baselineBareHttp.eventsPerSecond}/s`, `p50 ${r.baselineBareHttp.p50Ms.toFixed(2)} ms, p99 ${r.baselineBareHttp.p99Ms.toFixed(2)} ms`);
  row('raw JetStream publish', `${r.baselineRawJetStreamPublish.eventsPerSecond}/s`, `p50 ${r.baselineRawJetStreamPublish.p50Ms.toFixed(2)} ms, p99 ${r.baselineRawJetStreamPublish.p99Ms.toFixed(2)} ms`);
  row('adapter ingest (2xx after PubAck)', `${r.adapterIngest.eventsPerSecond}/s`, `${(r.adapterIngest.ratioToRawJetStream * 100).toFixed(1)}% of raw JetStream, ${(r.adapterIngest.ratioToBareHttp * 100).toFixed(1)}% of bare HTTP; p50 ${r.adapterIngest.p50Ms.toFixed(2)} ms, p99 ${r.adapterIngest.p99Ms.toFixed(2)} ms; failed ${r.adapterIngest.failed}`);
  row('adapter ingest over mTLS', `${r.adapterIngestMtls.eventsPerSecond}/s`, `${(r.adapterIngestMtls.ratioToPlainIngest * 100).toFixed(1)}% of plain-HTTP ingest; p50 ${r.adapterIngestMtls.p50Ms.toFixed(2)} ms, p99 ${r.adapterIngestMtls.p99Ms.toFixed(2)} ms; failed ${r.adapterIngestMtls.failed}`);
  row('drain of the ingest backlog', `${r.drainOfIngestBacklog.deliveredPerSecond}/s`, `${r.drainOfIngestBacklog.events} events`);
  row(`end to end delivered (round ${r.endToEnd.round} of ${r.rounds.length})`, `${r.endToEnd.deliveredPerSecond}/s`, `${r.endToEnd.delivered}/${r.endToEnd.accepted} delivered, ${r.endToEnd.ratioToRawJetStream} × raw JetStream of its round (${r.endToEnd.rawJetStreamPerSecond}/s); every round: ${r.rounds.map((x: RoundRatios) => x.endToEndToRaw).join(', ')}`);
  const c = r.endToEnd.ceiling;
  if (c) row('  ceiling: 2 bare HTTP requests + 1 publish', `${c.eventsPerSecond}/s`, `${c.ratioToRawJetStream} × raw JetStream; floor ${c.floorUs} µs/event (HTTP ${c.httpRequestUs}, nats-server ${c.natsServerPublishUs}); end to end is ${(c.shareOfCeiling * 100).toFixed(1)}% of it`);
  const cpu = Object.entries(r.endToEnd.cpuMicrosecondsPerEvent as Record<string, number>);
  if (cpu.length) row('  CPU µs per event', String(cpu.reduce((n, [, v]) => n + v, 0)), cpu.map(([k, v]) => `${k} ${v}`).join(', '));
  const lat = r.latencyAt1000PerSecond;
  const rawLat = r.baselineRawJetStreamAtLatencyRate;
  const m = r.minimalPipeline;
  row('  minimal pipeline (transport, no features)', `${m.deliveredPerSecond}/s`, `${m.ratioToRawJetStream} × raw JetStream; end to end is ${(r.endToEnd.ratioToMinimalPipeline * 100).toFixed(1)}% of it; CPU µs per event ${Object.entries(m.cpuMicrosecondsPerEvent as Record<string, number>).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  row(`end-to-end latency at ${lat.offeredRate}/s`, `p99 ${lat.p99Ms} ms`, `p50 ${lat.p50Ms} ms, p99.9 ${lat.p999Ms} ms, max ${lat.maxMs} ms; ${lat.delivered}/${lat.accepted} delivered`);
  row(`  raw JetStream publish at ${rawLat.ratePerSecond}/s`, `p99 ${rawLat.p99Ms.toFixed(2)} ms`, `p50 ${rawLat.p50Ms.toFixed(2)} ms (PubAck latency alone, same nats-server)`);
  console.log('\nfull results: .bench/results.json');
}

// Run when started as a script; bench/soak.ts imports the helpers above.
if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
