/**
 * The bench's rounds: ratios are taken within a round, and the quoted round is the one with
 * the median end-to-end ratio, so one slow minute of the host moves neither.
 */
import { medianRoundIndex, roundRatios } from '../../bench/rounds';

const round = (n: number, raw: number, e2e: number, minimal: number) =>
  roundRatios({ round: n, rawJetStreamPerSecond: raw, endToEndPerSecond: e2e, minimalPipelinePerSecond: minimal });

describe('bench rounds', () => {
  it('each ratio is within its own round', () => {
    expect(round(1, 20_000, 6_000, 8_000)).toMatchObject({ endToEndToRaw: 0.3, minimalToRaw: 0.4, endToEndToMinimal: 0.75 });
  });

  it('picks the round with the median end-to-end ratio, not the one with the median rate', () => {
    // Round 2 has the median end-to-end rate (6,000/s) but the lowest ratio: its raw baseline ran fast.
    const rounds = [round(1, 16_000, 5_000, 7_000), round(2, 24_000, 6_000, 8_000), round(3, 18_000, 6_500, 8_000)];
    expect(rounds.map((r) => r.endToEndToRaw)).toEqual([0.313, 0.25, 0.361]);
    expect(medianRoundIndex(rounds)).toBe(0);
  });

  it('an even count takes the lower middle; one round is its own median', () => {
    expect(medianRoundIndex([round(1, 10, 4, 5), round(2, 10, 2, 5)])).toBe(1);
    expect(medianRoundIndex([round(1, 10, 4, 5)])).toBe(0);
  });

  it('refuses a round without a baseline and an empty list, saying what is missing', () => {
    expect(() => round(2, 0, 5, 5)).toThrow('round 2 has no baseline to compare with: raw JetStream 0/s, minimal pipeline 5/s');
    expect(() => medianRoundIndex([])).toThrow('no rounds measured');
  });
});
