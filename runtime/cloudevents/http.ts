/**
 * CloudEvents HTTP protocol binding 1.0: decoding requests (binary, structured, batch)
 * into validated JSON-format events, and encoding events for delivery.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ATTRIBUTE_NAME_PATTERN } from '../../constructs/api';
import { CloudEventJson, EventValidationError, isJsonMediaType, isMediaType, validateEvent } from './event';
import { addTraceHeaders, adoptTraceContext } from './trace-context';
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth, jsonTooDeepMessage } from './json-depth';

export type HttpMode = 'binary' | 'structured' | 'batch';

export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
export const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json; charset=utf-8';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function decodeUtf8(body: Buffer, what: string): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new EventValidationError('invalid_json', `${what} is not valid UTF-8: send JSON encoded as UTF-8`);
  }
}

/** Refuse a JSON text nested deeper than `limit` (400 json_too_deep naming the limit). */
function checkDepth(body: Uint8Array, limit: number, what: string, attribute?: string): void {
  if (exceedsJsonDepth(body, limit)) throw new EventValidationError('json_too_deep', jsonTooDeepMessage(what, limit), attribute);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new EventValidationError('invalid_json', `${what} is not valid JSON (${(err as Error).message}): send a JSON object per the CloudEvents JSON format`);
  }
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
function mediaTypeOf(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

function charsetOf(contentType: string): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return m ? m[1].toLowerCase() : undefined;
}

function checkUtf8Charset(contentType: string): void {
  const cs = charsetOf(contentType);
  if (cs !== undefined && cs !== 'utf-8' && cs !== 'utf8') {
    throw new EventValidationError('unsupported_media_type', `charset ${cs} is not supported for the CloudEvents JSON format: send UTF-8 (charset=utf-8)`, undefined, 415);
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * Decode a percent-encoded binary-mode header value (HTTP binding 3.1.3.2). A "%" that
 * does not start a valid UTF-8 escape sequence is kept literally (senders such as the JS
 * SDK do not encode it).
 */
export function percentDecode(value: string): string {
  if (value.indexOf('%') < 0) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value.replace(/(?:%[0-9A-Fa-f]{2})+/g, (seq) => {
      try {
        return decodeURIComponent(seq);
      } catch {
        return seq;
      }
    });
  }
}

// Must be encoded: space, DQUOTE, "%" and anything outside printable ASCII.
const NEEDS_ENCODING = /[^\x21\x23\x24\x26-\x7e]/;

/** Percent-encode a binary-mode header value as the HTTP binding requires. */
export function percentEncode(value: string): string {
  if (!NEEDS_ENCODING.test(value)) return value;
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x21 && c <= 0x7e && c !== 0x22 && c !== 0x25) {
      out += ch;
    } else {
      for (const b of Buffer.from(ch, 'utf8')) out += `%${b < 16 ? '0' : ''}${b.toString(16).toUpperCase()}`;
    }
  }
  return out;
}

/** Textual payloads (kept as a `data` string); anything else goes to `data_base64`. */
function isTextual(contentType: string): boolean {
  const mt = mediaTypeOf(contentType);
  if (mt.startsWith('text/') || mt.endsWith('+xml') || mt === 'application/xml' || mt === 'application/x-www-form-urlencoded') {
    const cs = charsetOf(contentType);
    return cs === undefined || cs === 'utf-8' || cs === 'utf8' || cs === 'us-ascii';
  }
  const cs = charsetOf(contentType);
  return cs === 'utf-8' || cs === 'utf8';
}

/** decodeBinary's result: the event, and the body when it is the JSON text of `event.data`. */
interface BinaryDecoded {
  event: CloudEventJson;
  rawData?: Uint8Array;
}

function decodeBinary(headers: IncomingHttpHeaders, body: Buffer, maxJsonDepth: number): BinaryDecoded {
  const ev: Record<string, unknown> = {};
  let rawData: Uint8Array | undefined;
  let any = false;
  for (const key in headers) {
    if (key.length < 4 || key.charCodeAt(0) !== 99 || key.charCodeAt(1) !== 101 || key.charCodeAt(2) !== 45) continue; // "ce-"
    any = true;
    const name = key.slice(3).toLowerCase();
    if (!ATTRIBUTE_NAME_PATTERN.test(name)) {
      throw new EventValidationError('invalid_attribute', `header ${key}: attribute names use only lower-case letters a-z and digits 0-9 (rename ${JSON.stringify(name)})`, name);
    }
    if (name === 'datacontenttype') {
      throw new EventValidationError('invalid_attribute', 'in binary mode the media type of the data goes in the Content-Type header: remove ce-datacontenttype', name);
    }
    if (name === 'data') {
      throw new EventValidationError('invalid_attribute', '"data" is reserved for the payload: send it as the request body and remove the ce-data header', name);
    }
    ev[name] = percentDecode(headerValue(headers[key]) ?? '');
  }
  if (!any) {
    throw new EventValidationError(
      'unsupported_media_type',
      `this is not a CloudEvent: send binary mode (ce-specversion, ce-id, ce-source and ce-type headers with the data as body), structured mode (Content-Type: application/cloudevents+json) or a batch (Content-Type: application/cloudevents-batch+json); got Content-Type ${JSON.stringify(headers['content-type'] ?? '')} without ce-* headers`,
      undefined,
      415,
    );
  }
  const ct = headers['content-type'];
  if (ct !== undefined && ct !== '') {
    if (!isMediaType(ct)) {
      throw new EventValidationError('invalid_attribute', `Content-Type (the event's datacontenttype) must be an RFC 2046 media type such as "application/json", got ${JSON.stringify(ct)}`, 'datacontenttype');
    }
    ev.datacontenttype = ct;
  }
  if (body.length > 0) {
    if (ct === undefined || ct === '' || isJsonMediaType(ct)) {
      checkDepth(body, maxJsonDepth, 'the body (data)', 'data');
      const text = decodeUtf8(body, 'the body (data)');
      try {
        ev.data = JSON.parse(text);
      } catch (err) {
        throw new EventValidationError('invalid_data', `the body is not valid JSON (${(err as Error).message}) but Content-Type is ${ct ? JSON.stringify(ct) : 'absent (meaning application/json)'}: send JSON or set the right Content-Type`, 'data');
      }
      // The body is valid JSON: the JSON text of `data` as sent (a byte order mark, which
      // the decoder dropped, excluded).
      rawData = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? body.subarray(3) : body;
    } else if (isTextual(ct)) {
      try {
        ev.data = utf8.decode(body);
      } catch {
        ev.data_base64 = body.toString('base64');
      }
    } else {
      ev.data_base64 = body.toString('base64');
    }
  }
  const event = validateEvent(ev);
  return rawData !== undefined && event.data !== undefined ? { event, rawData } : { event };
}

export interface DecodeOptions {
  /** Also return `rawData` (see DecodedHttpEvents). */
  readonly rawData?: boolean;
  /**
   * Deepest nesting of arrays and objects accepted in a JSON body (structured event,
   * batch, binary-mode JSON data); deeper is a 400 `json_too_deep`. See json-depth.ts.
   * @default 64 (DEFAULT_MAX_JSON_DEPTH)
   */
  readonly maxJsonDepth?: number;
}

export interface DecodedHttpEvents {
  events: CloudEventJson[];
  mode: HttpMode;
  /**
   * Only with `options.rawData`, and only for a binary-mode JSON body: per event, the
   * request bytes that are the JSON text of its `data` (undefined where there are none).
   * Pass them to toChannelBytes to store the data as sent instead of re-serializing it.
   */
  rawData?: readonly (Uint8Array | undefined)[];
}

/**
 * Decode the CloudEvents of one HTTP request.
 *
 * - binary: `ce-*` headers (percent-decoded) + body; Content-Type becomes datacontenttype;
 *   a JSON body becomes `data` (parsed), a textual UTF-8 body a `data` string, anything
 *   else `data_base64`.
 * - structured: `application/cloudevents+json` (charset utf-8 allowed).
 * - batch: `application/cloudevents-batch+json`, a JSON array; an invalid entry fails the
 *   whole batch and the message names its index (`events[2]: …`).
 *
 * Throws EventValidationError: 400 for invalid events, 415 for other event formats
 * (`application/cloudevents+xml`, …) or requests that are not CloudEvents at all.
 *
 * @example
 *   const { events, mode } = decodeHttpEvents(req.headers, body);
 */
export function decodeHttpEvents(headers: IncomingHttpHeaders, body: Buffer, options: DecodeOptions = {}): DecodedHttpEvents {
  const decoded = decodeRequest(headers, body, options);
  // The W3C traceparent/tracestate headers of the request travel with its events.
  adoptTraceContext(headers, decoded.events);
  return decoded;
}

function decodeRequest(headers: IncomingHttpHeaders, body: Buffer, options: DecodeOptions): DecodedHttpEvents {
  const ct = headers['content-type'];
  const maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  if (ct !== undefined) {
    const mt = mediaTypeOf(ct);
    if (mt.startsWith('application/cloudevents')) {
      if (mt === 'application/cloudevents+json') {
        checkUtf8Charset(ct);
        checkDepth(body, maxJsonDepth, 'the structured event');
        const value = parseJson(decodeUtf8(body, 'the structured event'), 'the structured event');
        return { events: [validateEvent(value)], mode: 'structured' };
      }
      if (mt === 'application/cloudevents-batch+json') {
        checkUtf8Charset(ct);
        checkDepth(body, maxJsonDepth, 'the batch');
        const value = parseJson(decodeUtf8(body, 'the batch'), 'the batch');
        if (!Array.isArray(value)) {
          throw new EventValidationError('invalid_batch', 'a batch (application/cloudevents-batch+json) must be a JSON array of events');
        }
        const events = new Array<CloudEventJson>(value.length);
        for (let i = 0; i < value.length; i++) events[i] = validateEvent(value[i], `events[${i}]`);
        return { events, mode: 'batch' };
      }
      throw new EventValidationError(
        'unsupported_media_type',
        `event format ${JSON.stringify(mt)} is not supported: use the JSON format (application/cloudevents+json, or application/cloudevents-batch+json for a batch) or binary mode`,
        undefined,
        415,
      );
    }
  }
  const { event, rawData } = decodeBinary(headers, body, maxJsonDepth);
  return options.rawData && rawData !== undefined ? { events: [event], mode: 'binary', rawData: [rawData] } : { events: [event], mode: 'binary' };
}

/** An HTTP message (headers + body) carrying an event. */
export interface EncodedHttpMessage {
  headers: Record<string, string>;
  body: Buffer | string | undefined;
}

/**
 * Binary mode, as Knative delivers to subscribers: every attribute but datacontenttype
 * as a percent-encoded `ce-<name>` header, datacontenttype as Content-Type, the data as
 * body (`data_base64` decoded; JSON data serialized; text as is).
 */
export function encodeBinary(ev: CloudEventJson): EncodedHttpMessage {
  const headers: Record<string, string> = {};
  for (const name in ev) {
    if (name === 'data' || name === 'data_base64' || name === 'datacontenttype') continue;
    const v = ev[name];
    if (v === undefined || v === null) continue;
    headers[`ce-${name}`] = percentEncode(typeof v === 'string' ? v : String(v));
  }
  let body: Buffer | string | undefined;
  if (typeof ev.data_base64 === 'string') {
    body = Buffer.from(ev.data_base64, 'base64');
  } else if (ev.data !== undefined && ev.data !== null) {
    body = typeof ev.data === 'string' && !isJsonMediaType(ev.datacontenttype) ? ev.data : JSON.stringify(ev.data);
  }
  if (ev.datacontenttype !== undefined) headers['content-type'] = ev.datacontenttype;
  else if (body !== undefined) headers['content-type'] = 'application/json';
  if (ev.traceparent !== undefined) addTraceHeaders(ev, headers);
  return { headers, body };
}

/** Structured mode: the JSON format as body, `application/cloudevents+json`. */
export function encodeStructured(ev: CloudEventJson): EncodedHttpMessage {
  return { headers: { 'content-type': STRUCTURED_CONTENT_TYPE }, body: JSON.stringify(ev) };
}

/** Batch mode: a JSON array, `application/cloudevents-batch+json`. */
export function encodeBatch(events: readonly CloudEventJson[]): EncodedHttpMessage {
  return { headers: { 'content-type': BATCH_CONTENT_TYPE }, body: JSON.stringify(events) };
}

/**
 * What a channel stores for one event: the JSON format, UTF-8. The inverse is
 * `fromChannelBytes`.
 *
 * `rawData`, when given, must be a JSON text whose value is `ev.data` (decodeHttpEvents'
 * `rawData`): it is embedded as it is, as the last member, instead of serializing
 * `ev.data` again. Reading the result gives `ev` back, up to what JSON.stringify itself
 * normalizes (-0 and numbers too large for a double), which every later serialization
 * of the event does the same way; for a canonical text and `data` as the last member the
 * bytes are the same too.
 */
export function toChannelBytes(ev: CloudEventJson, rawData?: Uint8Array): Uint8Array {
  if (rawData === undefined || ev.data === undefined || ev.data === null || rawData.length === 0) return Buffer.from(JSON.stringify(ev), 'utf8');
  const rest: Record<string, unknown> = {};
  for (const name in ev) if (name !== 'data') rest[name] = ev[name];
  const head = JSON.stringify(rest);
  if (head.length <= 2) return Buffer.from(JSON.stringify(ev), 'utf8');
  const prefix = `${head.slice(0, -1)},"data":`;
  const prefixBytes = Buffer.byteLength(prefix, 'utf8');
  const out = Buffer.allocUnsafe(prefixBytes + rawData.length + 1);
  out.write(prefix, 0, 'utf8');
  out.set(rawData, prefixBytes);
  out[out.length - 1] = 0x7d; // }
  return out;
}

/**
 * Decode and validate what a channel delivered. Throws EventValidationError when the
 * bytes are not a valid event (the caller should ack and drop, or dead-letter, them:
 * redelivery will not make them valid).
 */
export function fromChannelBytes(bytes: Uint8Array): CloudEventJson {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return validateEvent(parseJson(decodeUtf8(buf, 'the stored event'), 'the stored event'));
}

/** An event read from a channel, with its bytes when they can be stored again as they are. */
export interface ChannelEvent {
  readonly event: CloudEventJson;
  /**
   * `bytes` itself when it is a JSON text of exactly `event` (validation normalized
   * nothing away): storing it elsewhere needs no re-serialization. Undefined otherwise.
   */
  readonly raw?: Uint8Array;
}

/** fromChannelBytes, plus whether the bytes are `event` verbatim. Same validation, same errors. */
export function readChannelEvent(bytes: Uint8Array): ChannelEvent {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parsed = parseJson(decodeUtf8(buf, 'the stored event'), 'the stored event');
  const event = validateEvent(parsed);
  // validateEvent returns its input unless it had to drop null attributes; a byte order
  // mark (dropped by the decoder) is not kept either.
  return event === parsed && buf[0] !== 0xef ? { event, raw: bytes } : { event };
}
