/**
 * W3C Trace Context on CloudEvents (pure): the CloudEvents distributed-tracing extension
 * (`traceparent`, `tracestate` attributes) and the W3C `traceparent` / `tracestate` HTTP
 * headers carry the same values.
 *
 * - In: a request's `traceparent` header (valid per W3C Trace Context) becomes the event's
 *   `traceparent` attribute unless the event already has one; `tracestate` comes along only
 *   with a valid `traceparent`. An invalid header is ignored, as W3C asks (never a 4xx).
 * - Out: an event with the attributes is delivered with the headers too, unchanged, next to
 *   its `ce-traceparent` / `ce-tracestate`.
 * The mesh passes them through untouched: it adds no span of its own.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** version-traceid-parentid-flags; version ff is invalid, all-zero ids are invalid. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?$/;

export function isValidTraceparent(value: string): boolean {
  const m = TRACEPARENT.exec(value);
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]) || /^0+$/.test(m[3])) return false;
  return m[1] !== '00' || m[5] === undefined;
}

function single(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
}

/** The trace context a request carries in its W3C headers, if valid. */
export function traceContextFromHeaders(headers: IncomingHttpHeaders): { traceparent: string; tracestate?: string } | undefined {
  const traceparent = single(headers.traceparent)?.trim();
  if (!traceparent || !isValidTraceparent(traceparent)) return undefined;
  const raw = headers.tracestate;
  const tracestate = (Array.isArray(raw) ? raw.join(',') : raw)?.trim();
  return tracestate && tracestate.length <= 512 && /^[\x20-\x7e]+$/.test(tracestate) ? { traceparent, tracestate } : { traceparent };
}

/** Give events without a `traceparent` attribute the request's trace context (in place). */
export function adoptTraceContext(headers: IncomingHttpHeaders, events: Record<string, unknown>[]): void {
  if (headers.traceparent === undefined) return;
  const ctx = traceContextFromHeaders(headers);
  if (!ctx) return;
  for (const ev of events) {
    if (ev.traceparent !== undefined) continue;
    ev.traceparent = ctx.traceparent;
    if (ctx.tracestate !== undefined && ev.tracestate === undefined) ev.tracestate = ctx.tracestate;
  }
}

/** The W3C headers for an event's trace attributes (set on `headers` in place). */
export function addTraceHeaders(event: Record<string, unknown>, headers: Record<string, string>): void {
  const tp = event.traceparent;
  if (typeof tp !== 'string' || !isValidTraceparent(tp)) return;
  headers.traceparent = tp;
  if (typeof event.tracestate === 'string' && event.tracestate !== '') headers.tracestate = event.tracestate;
}
