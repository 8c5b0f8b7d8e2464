/**
 * Strict CloudEvents 1.0 validation of the JSON format representation.
 *
 * The `cloudevents` JS SDK is lenient (it fills in a missing id/specversion, accepts
 * malformed timestamps, empty optional attributes and bad extension names). This module
 * is not: every rule of the CloudEvents 1.0 core spec and JSON format is enforced, and
 * every error names the attribute and says how to fix it.
 *
 * Decisions where the spec leaves room:
 * - A JSON `null` attribute value is treated as absent (JSON format, "type system
 *   mapping"): a required attribute that is null is reported missing, an optional one is
 *   dropped from the normalized event. `"data": null` is treated as no data.
 * - Extension values must be a string, a boolean or an integer in the signed 32-bit range
 *   (the CloudEvents `Integer` type). Objects, arrays and fractional numbers are rejected.
 * - `time` follows RFC 3339 `date-time`, including a leap second `:60`.
 */
import { ATTRIBUTE_NAME_PATTERN } from '../../constructs/api';

/**
 * One event in the CloudEvents JSON format: context attributes at the top level, the
 * payload in `data` (JSON value or text) or `data_base64` (binary payload). This is also
 * exactly what channels store (see `toChannelBytes`).
 */
export interface CloudEventJson {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  datacontenttype?: string;
  dataschema?: string;
  subject?: string;
  time?: string;
  data?: unknown;
  data_base64?: string;
  /** Extension attributes: lower-case alphanumeric names; string, integer or boolean values. */
  [extension: string]: unknown;
}

/** The value types an extension attribute can have in the JSON format. */
export type ExtensionValue = string | number | boolean;

export type EventErrorCode =
  | 'missing_attribute'
  | 'invalid_attribute'
  | 'invalid_data'
  | 'invalid_json'
  | 'invalid_batch'
  | 'json_too_deep'
  | 'unsupported_media_type';

/**
 * A request or stored event that is not a valid CloudEvent. `status` is the HTTP status
 * to answer with (400, or 415 for a content type we do not speak); `attribute` names the
 * offending attribute when there is one. The message says what is wrong and the fix.
 */
export class EventValidationError extends Error {
  readonly status: 400 | 415;
  readonly code: EventErrorCode;
  readonly attribute?: string;
  constructor(code: EventErrorCode, message: string, attribute?: string, status: 400 | 415 = 400) {
    super(message);
    this.name = 'EventValidationError';
    this.code = code;
    this.status = status;
    if (attribute !== undefined) this.attribute = attribute;
  }
  /** The runtime's JSON error body: `{"error", "attribute"?, "message"}`. */
  toJSON(): { error: string; attribute?: string; message: string } {
    return this.attribute === undefined
      ? { error: this.code, message: this.message }
      : { error: this.code, attribute: this.attribute, message: this.message };
  }
}

export const SPEC_VERSION = '1.0';
/** Context attributes defined by the core spec (not extensions). */
const CORE = new Set(['specversion', 'id', 'source', 'type', 'datacontenttype', 'dataschema', 'subject', 'time']);
/** Members of the JSON format that are not attributes. */
const JSON_MEMBERS = new Set(['data', 'data_base64']);
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** True when `name` is a core attribute or a JSON-format member, i.e. not an extension. */
export function isCoreAttribute(name: string): boolean {
  return CORE.has(name);
}

// ---------------------------------------------------------------------------------------
// Value checks (exported: the adapter's legacy endpoint and the dispatcher reuse them)

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/** RFC 3339 `date-time` with real values (month 1-12, day within the month, leap years). */
export function isRfc3339(text: string): boolean {
  if (typeof text !== 'string') return false;
  const m = RFC3339.exec(text);
  if (!m) return false;
  const year = +m[1];
  const month = +m[2];
  const day = +m[3];
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (day > days) return false;
  if (+m[4] > 23 || +m[5] > 59 || +m[6] > 60) return false;
  if (m[9] !== undefined && (+m[10] > 23 || +m[11] > 59)) return false;
  return true;
}

// RFC 3986 characters: unreserved / reserved / "%" (checked separately for HH).
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const PCT = /%(?![0-9A-Fa-f]{2})/;

function uriCharsOk(text: string): boolean {
  if (!URI_CHARS.test(text) || PCT.test(text)) return false;
  const hash = text.indexOf('#');
  if (hash >= 0 && text.indexOf('#', hash + 1) >= 0) return false;
  // "[" and "]" only delimit an IP literal in the authority.
  if (text.includes('[') || text.includes(']')) {
    const m = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/(?:[^/?#@]*@)?\[[0-9A-Fa-f:.vV]+\](?::\d*)?(?:[/?#][^[\]]*)?$/.exec(text);
    if (!m) return false;
  }
  return true;
}

/** RFC 3986 URI-reference: an absolute URI or a relative reference (non-empty). */
export function isUriReference(text: string): boolean {
  if (typeof text !== 'string' || text.length === 0 || !uriCharsOk(text)) return false;
  if (SCHEME.test(text)) return true;
  // A relative reference's first path segment may not contain ":".
  const end = text.search(/[/?#]/);
  const first = end < 0 ? text : text.slice(0, end);
  return !first.includes(':');
}

/** RFC 3986 absolute URI (has a scheme). */
export function isAbsoluteUri(text: string): boolean {
  return typeof text === 'string' && SCHEME.test(text) && uriCharsOk(text);
}

// RFC 2045 token: any CHAR except SPACE, CTLs and tspecials.
const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const QUOTED = '"(?:[^"\\\\\\r\\n]|\\\\.)*"';
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*[ \\t]*$`);

/** RFC 2046 media type such as `application/json` or `text/plain; charset=utf-8`. */
export function isMediaType(text: string): boolean {
  return typeof text === 'string' && MEDIA_TYPE.test(text);
}

/** True for `application/json`, `text/json` and any `+json` structured suffix type. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true; // spec: absent means application/json
  const semi = contentType.indexOf(';');
  const mt = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return mt === 'application/json' || mt === 'text/json' || mt.endsWith('+json');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard (RFC 4648 section 4) padded base64. */
export function isBase64(text: string): boolean {
  return typeof text === 'string' && BASE64.test(text);
}

/** Extension attribute name rule of CloudEvents 1.0: `^[a-z0-9]+$`. */
export function isValidAttributeName(name: string): boolean {
  return ATTRIBUTE_NAME_PATTERN.test(name);
}

// ---------------------------------------------------------------------------------------

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (value === undefined) return 'nothing';
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 80)}…` : s;
  } catch {
    return typeof value;
  }
}

function fail(code: EventErrorCode, attribute: string | undefined, message: string, where: string): never {
  throw new EventValidationError(code, where ? `${where}: ${message}` : message, attribute);
}

const REQUIRED_HINT: Record<string, string> = {
  id: 'a unique identifier such as a UUID',
  source: 'a URI-reference identifying the producer such as "/my-app" or "urn:my-app"',
  type: 'the kind of event such as "order.created.v1"',
  specversion: '"1.0"',
};

function requiredString(ev: Record<string, unknown>, name: string, where: string): string {
  const v = ev[name];
  if (v === undefined || v === null) fail('missing_attribute', name, `${name} is required: set it to ${REQUIRED_HINT[name]}`, where);
  if (typeof v !== 'string') fail('invalid_attribute', name, `${name} must be a string (${REQUIRED_HINT[name]}), got ${show(v)}`, where);
  if (v.length === 0) fail('invalid_attribute', name, `${name} must not be empty: set it to ${REQUIRED_HINT[name]}`, where);
  return v;
}

function optionalString(ev: Record<string, unknown>, name: string, hint: string, where: string): string | undefined {
  const v = ev[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail('invalid_attribute', name, `${name} must be a string (${hint}), got ${show(v)}`, where);
  if (v.length === 0) fail('invalid_attribute', name, `${name} must not be empty: leave it out or set it to ${hint}`, where);
  return v;
}

/**
 * Validate one event in the JSON format and return it normalized (null attributes
 * removed, nothing else changed). Throws EventValidationError naming the attribute.
 *
 * @param where prefix for messages, e.g. `events[3]` for a batch entry.
 * @example
 *   const ev = validateEvent(JSON.parse(body)); // throws on `{"specversion":"0.3",…}`
 */
export function validateEvent(input: unknown, where = ''): CloudEventJson {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    fail('invalid_json', undefined, `an event must be a JSON object with specversion, id, source and type, got ${Array.isArray(input) ? 'an array' : show(input)}`, where);
  }
  const ev = input as Record<string, unknown>;
  // specversion first: a 0.3 event fails on its version, not on a renamed attribute.
  const sv = ev.specversion;
  if (sv === undefined || sv === null) fail('missing_attribute', 'specversion', 'specversion is required: set it to "1.0"', where);
  if (sv !== SPEC_VERSION) fail('invalid_attribute', 'specversion', `specversion must be "1.0" (the only CloudEvents version accepted), got ${show(sv)}`, where);
  requiredString(ev, 'id', where);
  const source = requiredString(ev, 'source', where);
  if (!isUriReference(source)) {
    fail('invalid_attribute', 'source', `source must be a URI-reference such as "/my-app" or "https://example.com/app" (no spaces; escape other characters as %XX), got ${show(source)}`, where);
  }
  requiredString(ev, 'type', where);

  let hasNull = false;
  optionalString(ev, 'subject', 'a non-empty string', where);
  const time = optionalString(ev, 'time', 'an RFC 3339 timestamp such as "2026-01-01T12:00:00Z"', where);
  if (time !== undefined && !isRfc3339(time)) {
    fail('invalid_attribute', 'time', `time must be an RFC 3339 timestamp such as "2026-01-01T12:00:00Z", got ${show(time)}`, where);
  }
  const schema = optionalString(ev, 'dataschema', 'an absolute URI such as "https://example.com/schema.json"', where);
  if (schema !== undefined && !isAbsoluteUri(schema)) {
    fail('invalid_attribute', 'dataschema', `dataschema must be an absolute URI such as "https://example.com/schema.json", got ${show(schema)}`, where);
  }
  const dct = optionalString(ev, 'datacontenttype', 'a media type such as "application/json"', where);
  if (dct !== undefined && !isMediaType(dct)) {
    fail('invalid_attribute', 'datacontenttype', `datacontenttype must be an RFC 2046 media type such as "application/json" or "text/plain; charset=utf-8", got ${show(dct)}`, where);
  }

  const hasData = ev.data !== undefined && ev.data !== null;
  const b64 = ev.data_base64;
  if (b64 !== undefined && b64 !== null) {
    if (hasData) fail('invalid_data', 'data_base64', 'an event has either data or data_base64, not both: remove one of them', where);
    if (typeof b64 !== 'string' || !isBase64(b64)) {
      fail('invalid_data', 'data_base64', `data_base64 must be standard padded base64 (RFC 4648) such as "aGVsbG8=", got ${show(b64)}`, where);
    }
  }

  for (const name in ev) {
    const value = ev[name];
    if (value === null) {
      hasNull = true;
      continue;
    }
    if (CORE.has(name) || JSON_MEMBERS.has(name)) continue;
    if (!ATTRIBUTE_NAME_PATTERN.test(name)) {
      fail('invalid_attribute', name, `extension attribute name ${show(name)} is invalid: names use only lower-case letters a-z and digits 0-9 (rename it, e.g. ${show(name.toLowerCase().replace(/[^a-z0-9]/g, '') || 'myext')})`, where);
    }
    checkExtensionValue(name, value, where);
  }

  if (!hasNull) return ev as CloudEventJson;
  const out: Record<string, unknown> = {};
  for (const name in ev) if (ev[name] !== null) out[name] = ev[name];
  return out as CloudEventJson;
}

function checkExtensionValue(name: string, value: unknown, where: string): void {
  switch (typeof value) {
    case 'string':
      return;
    case 'boolean':
      return;
    case 'number':
      if (Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) return;
      fail('invalid_attribute', name, `extension ${name} must be an integer between -2147483648 and 2147483647 (or a string), got ${show(value)}`, where);
      break;
    default:
      fail('invalid_attribute', name, `extension ${name} must be a string, an integer or a boolean, got ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : show(value)}: send structured values in data instead`, where);
  }
}

/** Extension attributes of an event (every attribute that is not a core one). */
export function extensionsOf(ev: CloudEventJson): Record<string, ExtensionValue> {
  const out: Record<string, ExtensionValue> = {};
  for (const name in ev) {
    if (CORE.has(name) || JSON_MEMBERS.has(name)) continue;
    out[name] = ev[name] as ExtensionValue;
  }
  return out;
}

/**
 * The payload as bytes: `data_base64` decoded, a string as UTF-8, any other JSON value
 * serialized. `undefined` when the event has no data.
 */
export function dataBytes(ev: CloudEventJson): Buffer | undefined {
  if (typeof ev.data_base64 === 'string') return Buffer.from(ev.data_base64, 'base64');
  if (ev.data === undefined || ev.data === null) return undefined;
  if (typeof ev.data === 'string' && !isJsonMediaType(ev.datacontenttype)) return Buffer.from(ev.data, 'utf8');
  return Buffer.from(JSON.stringify(ev.data), 'utf8');
}
