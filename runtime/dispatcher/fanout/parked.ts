/**
 * A Trigger's event parked on its broker's retry topic (`brokerRetryTopic`): the stored
 * event bytes behind one JSON header line saying whose it is, how many deliveries it has
 * had and when it may be tried again. Pure.
 *
 *   {"trigger":"ns/name","deliveries":2,"notBefore":1764650000000}\n<event JSON>
 *
 * The event's bytes are kept as stored (never re-serialized), so what the Trigger's
 * subscriber finally gets is what the broker stored.
 */
export interface ParkedHeader {
  /** The Trigger's route key (`namespace/name`). */
  readonly trigger: string;
  /** Deliveries already made (0 when parked before the first attempt). */
  readonly deliveries: number;
  /** Epoch ms before which it is not tried again. */
  readonly notBefore: number;
}

export interface Parked extends ParkedHeader {
  readonly event: Uint8Array;
}

const NEWLINE = 0x0a;

export function encodeParked(header: ParkedHeader, event: Uint8Array): Uint8Array {
  const head = Buffer.from(JSON.stringify({ trigger: header.trigger, deliveries: header.deliveries, notBefore: header.notBefore }) + '\n');
  return Buffer.concat([head, event]);
}

/** The parked event, or undefined when the bytes are not one (never written by us). */
export function decodeParked(bytes: Uint8Array): Parked | undefined {
  const end = bytes.indexOf(NEWLINE);
  if (end <= 0 || end > 4096) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null) return undefined;
  const { trigger, deliveries, notBefore } = header as Record<string, unknown>;
  if (typeof trigger !== 'string' || !Number.isSafeInteger(deliveries) || (deliveries as number) < 0 || !Number.isFinite(notBefore)) return undefined;
  return { trigger, deliveries: deliveries as number, notBefore: notBefore as number, event: bytes.subarray(end + 1) };
}

/**
 * The attributes a parked event is published with: the channel's server-side filter then
 * hands each Trigger's retry consumer only its own parked events (`prefilter` of the same
 * shape), JetStream by subject.
 */
export function parkedAttributes(trigger: string): { readonly type: string } {
  return { type: trigger };
}
