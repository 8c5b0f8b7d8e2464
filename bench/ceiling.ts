/**
 * The most end-to-end throughput the bench's machine could give, from the cost of parts
 * measured in the same run (pure). Every delivered event crosses HTTP twice (client →
 * adapter, dispatcher → subscriber) and is published to JetStream once, and all the bench's
 * processes share the same cores. So even a mesh that did nothing else (no validation, no
 * filter, no consumer reads or acks, no metrics) would need, per event, two bare HTTP
 * requests (server and client CPU, as the bare-server baseline measured them) and what
 * nats-server spent per raw publish. Its ceiling is the cores divided by that floor; the
 * end-to-end figure is best read as a share of it.
 */

export interface MeasuredParts {
  readonly cores: number;
  /** CPU microseconds of one bare HTTP request: the bare server's plus the load generator's. */
  readonly httpRequestUs: number;
  /** CPU microseconds nats-server spent per raw JetStream publish (stored and acknowledged). */
  readonly natsServerPublishUs: number;
}

export interface EndToEndCeiling extends MeasuredParts {
  /** CPU microseconds per event that no implementation of this path can skip. */
  readonly floorUs: number;
  /** Events per second if the cores did nothing but the floor's work. */
  readonly eventsPerSecond: number;
  readonly ratioToRawJetStream: number;
  /** The measured end-to-end rate over the ceiling. */
  readonly shareOfCeiling: number;
}

export function endToEndCeiling(parts: MeasuredParts, rawJetStreamPerSecond: number, endToEndPerSecond: number): EndToEndCeiling {
  const floorUs = 2 * parts.httpRequestUs + parts.natsServerPublishUs;
  if (!(floorUs > 0) || !(parts.cores > 0) || !(rawJetStreamPerSecond > 0)) {
    throw new Error(`cannot bound end to end from cores ${parts.cores}, HTTP request ${parts.httpRequestUs} µs, nats-server publish ${parts.natsServerPublishUs} µs, raw ${rawJetStreamPerSecond}/s`);
  }
  const eventsPerSecond = Math.round((parts.cores * 1e6) / floorUs);
  return {
    ...parts,
    floorUs,
    eventsPerSecond,
    ratioToRawJetStream: +(eventsPerSecond / rawJetStreamPerSecond).toFixed(3),
    shareOfCeiling: +(endToEndPerSecond / eventsPerSecond).toFixed(3),
  };
}
