/**
 * The bench's open-loop driver and the raw JetStream baseline at a fixed rate (the
 * latency baseline), against a real nats-server: the rate is a ceiling on calls, the
 * in-flight cap holds, and every publish is stored and counted once.
 */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { runPublish } from '../../bench/jetstream-publish';
import { drive } from '../../bench/load-generator';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server';

describe('bench open loop', () => {
  it('drive() at a rate: never more calls than rate × duration (+1), and not far fewer', async () => {
    let calls = 0;
    await drive({ durationMs: 500, ratePerSecond: 200, concurrency: 8 }, async () => {
      calls++;
    });
    expect(calls).toBeLessThanOrEqual(101);
    expect(calls).toBeGreaterThanOrEqual(60);
  });

  it('drive() at a rate: at most `concurrency` calls in flight, and it resolves only once all have ended', async () => {
    let inFlight = 0;
    let most = 0;
    let ended = 0;
    await drive({ durationMs: 200, ratePerSecond: 1000, concurrency: 3 }, async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight--;
      ended++;
    });
    expect(most).toBe(3);
    expect(inFlight).toBe(0);
    expect(ended).toBeGreaterThan(3);
    // 3 at a time for 200 ms, 30 ms each: the cap, not the rate (200 calls), bounds the count.
    expect(ended).toBeLessThan(40);
  });
});

describe('raw JetStream baseline at a rate (real nats-server)', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('publishes at the rate after an uncounted warm-up; every publish acked, none failed; the stream is removed after', async () => {
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    try {
      const r = await runPublish({ natsUrl: nats.url, concurrency: 4, durationMs: 500, payloadBytes: 64, warmupMs: 200, ratePerSecond: 200 });
      expect(r.failed).toBe(0);
      expect(r.ok).toBeLessThanOrEqual(101);
      expect(r.ok).toBeGreaterThanOrEqual(60);
      expect(r.warmupOk).toBeLessThanOrEqual(41);
      expect(r.warmupOk).toBeGreaterThan(10);
      expect(r.latenciesMs.p50).toBeGreaterThan(0);
      expect(r.latenciesMs.p99).toBeGreaterThanOrEqual(r.latenciesMs.p50);
      await expect(jsm.streams.info('BENCH_RAW')).rejects.toThrow(/stream not found/);
    } finally {
      await nc.close();
    }
  });
});
