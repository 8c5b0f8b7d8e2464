/**
 * Baseline: raw JetStream publish with the NATS client, `concurrency` publishes always
 * awaiting their PubAck — the ceiling for an adapter that answers only after the ack.
 * With `ratePerSecond`, publishes at that rate instead (open loop): the latency baseline
 * of the mesh's latency at the same rate.
 */
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { drive, percentile } from './load-generator';

export interface PublishSpec {
  readonly natsUrl: string;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly payloadBytes: number;
  /** Publish for this long first, unmeasured, as the adapter phase also gets a warm-up. */
  readonly warmupMs?: number;
  /** Publish at this rate (open loop, at most `concurrency` in flight) instead of as fast as acks come back. */
  readonly ratePerSecond?: number;
}

export interface PublishResult {
  readonly ok: number;
  /** Publishes acked during the warm-up (not in `ok`). */
  readonly warmupOk: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly latenciesMs: { readonly p50: number; readonly p99: number };
}

export async function runPublish(spec: PublishSpec): Promise<PublishResult> {
  const nc = await connect({ servers: spec.natsUrl });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH_RAW', subjects: ['bench.raw'] });
  const js = jetstream(nc);
  const payload = new Uint8Array(spec.payloadBytes).fill(120);
  let warmupOk = 0;
  if (spec.warmupMs) {
    await drive({ durationMs: spec.warmupMs, ratePerSecond: spec.ratePerSecond, concurrency: spec.concurrency }, () =>
      js.publish('bench.raw', payload).then(() => void warmupOk++, () => undefined),
    );
  }
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  await drive({ durationMs: spec.durationMs, ratePerSecond: spec.ratePerSecond, concurrency: spec.concurrency }, async () => {
    const t0 = performance.now();
    try {
      await js.publish('bench.raw', payload);
      ok++;
    } catch {
      failed++;
    }
    latencies.push(performance.now() - t0);
  });
  const elapsedMs = performance.now() - started;
  await jsm.streams.delete('BENCH_RAW');
  await nc.close();
  latencies.sort((a, b) => a - b);
  return { ok, warmupOk, failed, elapsedMs, latenciesMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) } };
}

if (require.main === module) {
  process.once('message', async (spec: PublishSpec) => {
    const result = await runPublish(spec);
    process.send?.(result, () => process.exit(0));
  });
}
