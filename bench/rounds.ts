/**
 * Rounds of the throughput comparison (pure). The bench's host changes speed from minute to
 * minute (the same code measured 0.22–0.33 × raw JetStream within an hour), so a ratio
 * between phases a minute apart measures the host as much as the mesh. Each round measures
 * raw JetStream publish, end to end and the minimal pipeline back to back, each ratio is
 * taken within its round, and the figure quoted is the round with the median end-to-end
 * ratio, with every round's ratios next to it.
 */

export interface RoundFigures {
  readonly round: number;
  readonly rawJetStreamPerSecond: number;
  readonly endToEndPerSecond: number;
  readonly minimalPipelinePerSecond: number;
}

export interface RoundRatios extends RoundFigures {
  readonly endToEndToRaw: number;
  readonly minimalToRaw: number;
  readonly endToEndToMinimal: number;
}

const ratio = (a: number, b: number) => +(a / b).toFixed(3);

export function roundRatios(r: RoundFigures): RoundRatios {
  if (!(r.rawJetStreamPerSecond > 0) || !(r.minimalPipelinePerSecond > 0)) {
    throw new Error(`round ${r.round} has no baseline to compare with: raw JetStream ${r.rawJetStreamPerSecond}/s, minimal pipeline ${r.minimalPipelinePerSecond}/s`);
  }
  return {
    ...r,
    endToEndToRaw: ratio(r.endToEndPerSecond, r.rawJetStreamPerSecond),
    minimalToRaw: ratio(r.minimalPipelinePerSecond, r.rawJetStreamPerSecond),
    endToEndToMinimal: ratio(r.endToEndPerSecond, r.minimalPipelinePerSecond),
  };
}

/** The index of the round with the median end-to-end-to-raw ratio (the lower middle of an even count). */
export function medianRoundIndex(rounds: readonly RoundRatios[]): number {
  if (rounds.length === 0) throw new Error('no rounds measured');
  const order = rounds.map((_, i) => i).sort((a, b) => rounds[a].endToEndToRaw - rounds[b].endToEndToRaw || a - b);
  return order[Math.floor((order.length - 1) / 2)];
}
