/**
 * The end-to-end ceiling the bench reports next to its end-to-end figure: two bare HTTP
 * requests and one nats-server publish per event, on the run's cores.
 */
import { endToEndCeiling } from '../../bench/ceiling';

describe('end-to-end ceiling from the same run\'s parts', () => {
  it('two HTTP requests and one publish per event, the cores divided by that floor', () => {
    // 32 µs per bare request (server + client), 25 µs of nats-server per publish, 2 cores.
    const c = endToEndCeiling({ cores: 2, httpRequestUs: 32, natsServerPublishUs: 25 }, 40_000, 11_236);
    expect(c).toEqual({ cores: 2, httpRequestUs: 32, natsServerPublishUs: 25, floorUs: 89, eventsPerSecond: 22_472, ratioToRawJetStream: 0.562, shareOfCeiling: 0.5 });
  });

  it('grows with the cores and shrinks with either part', () => {
    const base = endToEndCeiling({ cores: 2, httpRequestUs: 30, natsServerPublishUs: 20 }, 40_000, 1).eventsPerSecond;
    expect(endToEndCeiling({ cores: 4, httpRequestUs: 30, natsServerPublishUs: 20 }, 40_000, 1).eventsPerSecond).toBe(2 * base);
    expect(endToEndCeiling({ cores: 2, httpRequestUs: 31, natsServerPublishUs: 20 }, 40_000, 1).eventsPerSecond).toBeLessThan(base);
    expect(endToEndCeiling({ cores: 2, httpRequestUs: 30, natsServerPublishUs: 21 }, 40_000, 1).eventsPerSecond).toBeLessThan(base);
  });

  it('refuses parts that were not measured, naming them', () => {
    expect(() => endToEndCeiling({ cores: 2, httpRequestUs: NaN, natsServerPublishUs: 20 }, 40_000, 1)).toThrow(/HTTP request NaN µs/);
    expect(() => endToEndCeiling({ cores: 0, httpRequestUs: 30, natsServerPublishUs: 20 }, 40_000, 1)).toThrow(/cores 0/);
    expect(() => endToEndCeiling({ cores: 2, httpRequestUs: 30, natsServerPublishUs: 20 }, 0, 1)).toThrow(/raw 0\/s/);
  });
});
