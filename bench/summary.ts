/**
 * bench/results/summary.md and its SVG charts from one run's results (writes files).
 * Every figure stands next to its baseline from the same run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { barChartSvg, lineChartSvg } from './charts';

/* eslint-disable @typescript-eslint/no-explicit-any */
export async function writeSummary(r: Record<string, any>, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const fan: any[] = r.fanOut ?? [];
  const synth: any[] = r.synthScale ?? [];
  const lat = r.latencyAt1000PerSecond;
  const rawLat = r.baselineRawJetStreamAtLatencyRate;

  if (fan.length) {
    fs.writeFileSync(path.join(dir, 'fan-out.svg'), await lineChartSvg({
      title: 'Fan-out: delivered events/s vs Triggers on one broker',
      xTitle: 'Triggers (each matching 1/N of the types)',
      yTitle: 'delivered events/s',
      logX: true,
      points: fan.map((f) => ({ x: f.triggers, y: f.deliveredPerSecond, series: 'delivered/s' })),
    }));
  }
  if (synth.length) {
    fs.writeFileSync(path.join(dir, 'synth-scale.svg'), await lineChartSvg({
      title: 'Synthesis time vs applications (10 Triggers each)',
      xTitle: 'applications',
      yTitle: 'seconds',
      logX: true,
      points: synth.flatMap((s) => [
        { x: s.applications, y: +s.seconds.toFixed(2), series: 'wall seconds' },
        { x: s.applications, y: +s.cpuSeconds.toFixed(2), series: 'CPU seconds' },
      ]),
    }));
  }
  if (lat && rawLat) {
    fs.writeFileSync(path.join(dir, 'latency.svg'), await barChartSvg({
      title: `Latency percentiles at ${lat.offeredRate} events/s (ms)`,
      yTitle: 'ms',
      bars: [
        { label: 'raw JetStream p50', value: +rawLat.p50Ms.toFixed(2) },
        { label: 'raw JetStream p99', value: +rawLat.p99Ms.toFixed(2) },
        { label: 'end to end p50', value: lat.p50Ms },
        { label: 'end to end p99', value: lat.p99Ms },
        { label: 'end to end p99.9', value: lat.p999Ms },
      ],
    }));
  }

  fs.writeFileSync(path.join(dir, 'summary.md'), summaryMarkdown(r));
}

/** The text of summary.md (pure): tables with every figure next to its same-run baseline. */
export function summaryMarkdown(r: Record<string, any>): string {
  const fan: any[] = r.fanOut ?? [];
  const synth: any[] = r.synthScale ?? [];
  const raw = r.baselineRawJetStreamPublish;
  const lat = r.latencyAt1000PerSecond;
  const rawLat = r.baselineRawJetStreamAtLatencyRate;
  const lines: string[] = [];
  lines.push('# Benchmark summary', '');
  lines.push(`Machine: ${r.machine?.cpus} cores (${r.machine?.cpuModel}), Node ${r.machine?.node}. ${r.eventBytes}-byte events, concurrency ${r.concurrency}, ${r.durationMs} ms per run${r.quick ? ' — QUICK mode: short runs, smaller sizes; do not quote these figures' : ''}.`, '');
  lines.push('Every figure is next to its baseline from the same run (`npm run bench`).', '');
  if (raw) {
    lines.push('## Throughput and latency', '');
    lines.push('| measure | figure | baseline (same run) | ratio |', '|---|---:|---:|---:|');
    lines.push(`| bare Node HTTP server | ${r.baselineBareHttp.eventsPerSecond}/s | — | — |`);
    lines.push(`| raw JetStream publish | ${raw.eventsPerSecond}/s | — | — |`);
    lines.push(`| adapter ingest | ${r.adapterIngest.eventsPerSecond}/s | raw JetStream ${raw.eventsPerSecond}/s | ${r.adapterIngest.ratioToRawJetStream} |`);
    const e2eRaw = r.endToEnd.rawJetStreamPerSecond ?? raw.eventsPerSecond;
    lines.push(`| end to end delivered | ${r.endToEnd.deliveredPerSecond}/s | raw JetStream ${e2eRaw}/s | ${r.endToEnd.ratioToRawJetStream} |`);
    const m = r.minimalPipeline;
    if (m) {
      lines.push(`| minimal pipeline: the mesh's own transport (HTTP in, stored once, read back, HTTP out), none of its features | ${m.deliveredPerSecond}/s | raw JetStream ${e2eRaw}/s | ${m.ratioToRawJetStream} |`);
      lines.push(`| end to end delivered | ${r.endToEnd.deliveredPerSecond}/s | minimal pipeline ${m.deliveredPerSecond}/s | ${r.endToEnd.ratioToMinimalPipeline} |`);
    }
    const c = r.endToEnd.ceiling;
    if (c) lines.push(`| end-to-end ceiling: 2 bare HTTP requests + 1 JetStream publish per event, nothing else | ${c.eventsPerSecond}/s | raw JetStream ${e2eRaw}/s | ${c.ratioToRawJetStream} |`);
    lines.push(`| end-to-end p50 / p99 / p99.9 at ${lat.offeredRate}/s (adapter request to subscriber) | ${lat.p50Ms} / ${lat.p99Ms} / ${lat.p999Ms} ms | raw JetStream publish at ${rawLat.ratePerSecond}/s, p50 / p99 ${rawLat.p50Ms.toFixed(2)} / ${rawLat.p99Ms.toFixed(2)} ms | — |`, '');
    if (c) {
      lines.push(`The ceiling is what the same run's parts allow at most: each delivered event crosses HTTP twice and is stored once, and the bench's processes share ${r.machine?.cpus} cores. One bare request cost ${c.httpRequestUs} µs of CPU (server and client, from the bare-server baseline), nats-server spent ${c.natsServerPublishUs} µs per raw publish: a floor of ${c.floorUs} µs per event before any validation, filtering, consumer read, ack or metric. End to end reached ${(c.shareOfCeiling * 100).toFixed(1)} % of that ceiling.`, '');
    }
    const rounds: any[] = r.rounds ?? [];
    if (rounds.length > 1) {
      lines.push(`End to end, the minimal pipeline and their raw JetStream baseline are measured in ${rounds.length} rounds, back to back within each, because this host's speed drifts from minute to minute; the rows above are round ${r.endToEnd.round}, the one with the median end-to-end ratio. Every round:`, '');
      lines.push('| round | raw JetStream | end to end | minimal pipeline | end to end / raw | minimal / raw | end to end / minimal |', '|---:|---:|---:|---:|---:|---:|---:|');
      for (const x of rounds) lines.push(`| ${x.round} | ${x.rawJetStreamPerSecond}/s | ${x.endToEndPerSecond}/s | ${x.minimalPipelinePerSecond}/s | ${x.endToEndToRaw} | ${x.minimalToRaw} | ${x.endToEndToMinimal} |`);
      lines.push('');
    }
    if (m) {
      lines.push(`The minimal pipeline (bench/minimal-pipeline.ts) is measured like end to end, on the same nats-server, subscriber, client and load: a bare HTTP server that stores each request through the mesh's JetStream channel and answers 202 once stored, and one consumer of it that POSTs each event to the subscriber and acks after the 2xx. It stores each event once, as the mesh does (the broker's fan-out stage reads the application channel), but does no validation, authentication, CloudEvents parsing, broker stamping, filtering, Trigger lanes, retry schedule, metric or log. End to end over it (${r.endToEnd.ratioToMinimalPipeline}) is what the mesh's features cost; it over raw publish (${m.ratioToRawJetStream}) is what crossing HTTP twice and reading the event back cost on these cores.`, '');
    }
    lines.push(`Latency: ${lat.accepted} events sent at ${lat.offeredRate}/s (open loop) after 2 s at the same rate from the same client on the same connections, not measured; each event timed from the client's request to the subscriber's receipt (p99.9 ${lat.p999Ms} ms, max ${lat.maxMs} ms). The raw baseline publishes at the same rate to the same nats-server and times each PubAck.`, '');
    lines.push('![latency](latency.svg)', '');
    const cpu: Record<string, number> = r.endToEnd.cpuMicrosecondsPerEvent ?? {};
    if (Object.keys(cpu).length) {
      lines.push('Where the two cores go: CPU microseconds per delivered event, per process (the load generator and the subscriber are the bench\'s own and share the cores with the rest).', '');
      lines.push(...cpuTable([
        { name: 'end to end (adapter, dispatcher)', cpu, httpIn: 'adapter', delivery: 'dispatcher' },
        ...(m ? [{ name: 'minimal pipeline (ingress, delivery)', cpu: m.cpuMicrosecondsPerEvent ?? {}, httpIn: 'ingress', delivery: 'delivery' }] : []),
      ]), '');
    }
  }
  if (fan.length) {
    lines.push('## Fan-out', '');
    lines.push(`One broker, N Triggers, each with an exact \`type\` filter matching 1/N of ${fan[0].events} events; the dispatcher delivers them all to one subscriber. NATS consumers: the broker's fan-out consumer plus one consumer of parked events per Trigger. Baseline: 1 Trigger.`, '');
    lines.push('| Triggers | delivered/s | ratio to 1 Trigger | dispatcher peak RSS | NATS consumers | dispatcher startup |', '|---:|---:|---:|---:|---:|---:|');
    for (const f of fan) lines.push(`| ${f.triggers} | ${f.deliveredPerSecond} | ${f.ratioToOneTrigger} | ${f.dispatcherPeakRssMb} MB | ${f.natsConsumers} | ${f.startupSeconds.toFixed(1)} s |`);
    lines.push('', '![fan-out](fan-out.svg)', '');
  }
  if (synth.length) {
    lines.push('## Synth scale', '');
    lines.push('One chart, N applications with 10 Triggers each over 50 namespaces, synthesized in memory with validation (each size in its own process). Baseline: the smallest size.', '');
    lines.push('| applications | Triggers | objects | seconds | CPU seconds | time ratio to smallest | peak RSS |', '|---:|---:|---:|---:|---:|---:|---:|');
    for (const s of synth) lines.push(`| ${s.applications} | ${s.triggers} | ${s.objects} | ${s.seconds.toFixed(2)} | ${s.cpuSeconds.toFixed(2)} | ${s.timeRatioToSmallest} | ${s.peakRssMb} MB |`);
    lines.push('', '![synth scale](synth-scale.svg)', '');
  }
  return lines.join('\n');
}

/** One row per pipeline, its HTTP-in and delivery processes side by side (markdown lines). */
export function cpuTable(rows: ReadonlyArray<{ name: string; cpu: Record<string, number>; httpIn: string; delivery: string }>): string[] {
  const cell = (v: number | undefined) => (v === undefined ? '—' : String(v));
  const lines = ['| pipeline | HTTP in | delivery | nats-server | subscriber | load generator | total |', '|---|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    const total = Object.values(r.cpu).reduce((n, v) => n + v, 0);
    lines.push(`| ${r.name} | ${cell(r.cpu[r.httpIn])} | ${cell(r.cpu[r.delivery])} | ${cell(r.cpu.natsServer)} | ${cell(r.cpu.subscriber)} | ${cell(r.cpu.loadGenerator)} | ${total} |`);
  }
  return lines;
}
