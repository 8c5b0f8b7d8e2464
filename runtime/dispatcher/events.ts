/**
 * Pure event conversions of the broker data plane: what ingress adds, what a reply
 * becomes, what a dead-lettered event carries. Events are the CloudEvents JSON form
 * (attributes and extensions as top-level members).
 */
import {
  DEFAULT_BROKER_TTL,
  EXT_ARRIVAL_TIME,
  EXT_BROKER_TTL,
  EXT_ERROR_CODE,
  EXT_ERROR_DATA,
  EXT_ERROR_DEST,
} from '../../constructs/api';

export type EventJson = Record<string, unknown>;

/** The broker TTL of an event, or undefined when absent or not a whole number. */
export function brokerTtl(event: EventJson): number | undefined {
  const raw = event[EXT_BROKER_TTL];
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  return Number.isInteger(n) ? n : undefined;
}

/**
 * What broker ingress stores: the event plus `knativearrivaltime` (now, RFC 3339) and
 * `knativebrokerttl` (kept when valid, else the default 255).
 */
export function stampForBroker(event: EventJson, now: Date = new Date(), defaultTtl = DEFAULT_BROKER_TTL): EventJson {
  const ttl = brokerTtl(event);
  return { ...event, [EXT_ARRIVAL_TIME]: now.toISOString(), [EXT_BROKER_TTL]: ttl ?? defaultTtl };
}

const isJsonSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * stampForBroker on the JSON text of an event that has neither stamp attribute: `raw` (a
 * JSON object) with `"knativearrivaltime":"<arrivalIso>","knativebrokerttl":<ttl>`
 * appended as its last members, without parsing or re-serializing anything. For canonical
 * JSON this is byte for byte JSON.stringify(stampForBroker(event)). Undefined when `raw`
 * does not end with a non-empty JSON object (the caller serializes instead).
 */
export function appendBrokerStamp(raw: Uint8Array, arrivalIso: string, ttl = DEFAULT_BROKER_TTL): Uint8Array | undefined {
  let end = raw.length - 1;
  while (end >= 0 && isJsonSpace(raw[end])) end--;
  if (end < 1 || raw[end] !== 0x7d /* } */) return undefined;
  let prev = end - 1;
  while (prev >= 0 && isJsonSpace(raw[prev])) prev--;
  if (prev < 0 || raw[prev] === 0x7b /* { */) return undefined;
  if (!Number.isInteger(ttl) || !/^[0-9TZ:.+-]+$/.test(arrivalIso)) return undefined;
  const tail = Buffer.from(`,"${EXT_ARRIVAL_TIME}":"${arrivalIso}","${EXT_BROKER_TTL}":${ttl}}`, 'latin1');
  const out = Buffer.allocUnsafe(end + tail.length);
  out.set(raw.subarray(0, end), 0);
  out.set(tail, end);
  return out;
}

export type ReplyDecision = { readonly forward: true; readonly event: EventJson } | { readonly forward: false; readonly ttl: number };

/**
 * A subscriber's reply to `original` re-enters the broker with the original's TTL minus
 * one (whatever the reply itself claims, so a loop cannot reset it). A TTL that reaches 0
 * means the reply is dropped.
 */
export function prepareReply(original: EventJson, reply: EventJson, defaultTtl = DEFAULT_BROKER_TTL): ReplyDecision {
  const ttl = (brokerTtl(original) ?? defaultTtl) - 1;
  if (ttl <= 0) return { forward: false, ttl };
  return { forward: true, event: { ...reply, [EXT_BROKER_TTL]: ttl } };
}

/** Bytes of the last response body kept in knativeerrordata (before base64). */
export const ERROR_DATA_MAX_BYTES = 1024;

/**
 * The event sent to a dead-letter sink: the original plus `knativeerrordest` (the
 * subscriber URL), `knativeerrorcode` (last HTTP status, as a string; absent when there was
 * no response) and `knativeerrordata` (the last response body, at most 1024 bytes,
 * base64-encoded; for a timeout or connection error, the error text).
 */
export function deadLetterEvent(event: EventJson, destination: string, status: number | undefined, body: Uint8Array | string | undefined): EventJson {
  const out: EventJson = { ...event, [EXT_ERROR_DEST]: destination };
  delete out[EXT_ERROR_CODE];
  delete out[EXT_ERROR_DATA];
  if (status !== undefined) out[EXT_ERROR_CODE] = String(status);
  if (body !== undefined) {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (bytes.length > 0) out[EXT_ERROR_DATA] = bytes.subarray(0, ERROR_DATA_MAX_BYTES).toString('base64');
  }
  return out;
}
