/**
 * bench/results/summary.md from one run's results: the end-to-end figure stands next to
 * both of its same-run baselines (raw JetStream and the minimal pipeline), and the CPU
 * table puts each pipeline's processes in the right columns.
 */
import { cpuTable, summaryMarkdown } from '../../bench/summary';

describe('bench summary', () => {
  it('cpuTable: HTTP-in and delivery columns per pipeline, a dash for a process not measured, and the row total', () => {
    const lines = cpuTable([
      { name: 'mesh', cpu: { adapter: 80, dispatcher: 140, natsServer: 65, subscriber: 42, loadGenerator: 75 }, httpIn: 'adapter', delivery: 'dispatcher' },
      { name: 'minimal', cpu: { ingress: 72, delivery: 86, loadGenerator: 70 }, httpIn: 'ingress', delivery: 'delivery' },
    ]);
    expect(lines.slice(2)).toEqual([
      '| mesh | 80 | 140 | 65 | 42 | 75 | 402 |',
      '| minimal | 72 | 86 | — | — | 70 | 228 |',
    ]);
  });

  it('summary.md: end to end next to the raw JetStream of its own round and to the minimal pipeline, with their ratios, and every round', () => {
    const md = summaryMarkdown({
      machine: { cpus: 2, cpuModel: 'test', node: 'v20' },
      eventBytes: 1024, concurrency: 64, durationMs: 10_000,
      baselineBareHttp: { eventsPerSecond: 21_000 },
      baselineRawJetStreamPublish: { eventsPerSecond: 22_000 },
      baselineRawJetStreamAtLatencyRate: { ratePerSecond: 1000, p50Ms: 0.25, p99Ms: 1.5 },
      adapterIngest: { eventsPerSecond: 11_000, ratioToRawJetStream: 0.5 },
      endToEnd: { round: 2, deliveredPerSecond: 4_000, rawJetStreamPerSecond: 20_000, ratioToRawJetStream: 0.2, ratioToMinimalPipeline: 0.8, cpuMicrosecondsPerEvent: { adapter: 80, dispatcher: 140 } },
      rounds: [
        { round: 1, rawJetStreamPerSecond: 25_000, endToEndPerSecond: 4_500, minimalPipelinePerSecond: 5_000, endToEndToRaw: 0.18, minimalToRaw: 0.2, endToEndToMinimal: 0.9 },
        { round: 2, rawJetStreamPerSecond: 20_000, endToEndPerSecond: 4_000, minimalPipelinePerSecond: 5_000, endToEndToRaw: 0.2, minimalToRaw: 0.25, endToEndToMinimal: 0.8 },
      ],
      minimalPipeline: { deliveredPerSecond: 5_000, ratioToRawJetStream: 0.25, cpuMicrosecondsPerEvent: { ingress: 70, delivery: 90 } },
      latencyAt1000PerSecond: { accepted: 10_000, offeredRate: 1000, p50Ms: 1, p99Ms: 9, p999Ms: 20, maxMs: 30 },
    });
    expect(md).toContain('| end to end delivered | 4000/s | raw JetStream 20000/s | 0.2 |');
    expect(md).toContain('| end to end delivered | 4000/s | minimal pipeline 5000/s | 0.8 |');
    expect(md).toMatch(/\| minimal pipeline: .* \| 5000\/s \| raw JetStream 20000\/s \| 0.25 \|/);
    expect(md).toContain('| minimal pipeline (ingress, delivery) | 70 | 90 | — | — | — | 160 |');
    // Ingest against the first raw baseline; end to end against its own round's.
    expect(md).toContain('| adapter ingest | 11000/s | raw JetStream 22000/s | 0.5 |');
    expect(md).toContain('the rows above are round 2, the one with the median end-to-end ratio');
    expect(md).toContain('| 1 | 25000/s | 4500/s | 5000/s | 0.18 | 0.2 | 0.9 |');
  });
});
