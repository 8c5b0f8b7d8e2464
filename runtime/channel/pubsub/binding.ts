/**
 * The CloudEvents Google Cloud Pub/Sub protocol binding for the events channels store (pure).
 *
 * A stored event (the CloudEvents JSON format, `toChannelBytes`) is published in binary
 * content mode: every attribute becomes a `ce-<name>` message attribute holding its
 * canonical string, `datacontenttype` the `Content-Type` attribute, and the event data
 * the message data (JSON data as its exact JSON text, text data as UTF-8, `data_base64`
 * decoded). So any CloudEvents tool reading the topic sees an ordinary binary-mode event.
 *
 * Two extra attributes make the way back exact: `em-data` says which JSON member the data
 * came from (`json`, `text` or `base64`), `em-types` which extensions were integers or
 * booleans (attributes are strings). Decoding rebuilds a JSON text that parses to the very
 * event that was stored, with JSON data byte for byte (big numbers keep their digits).
 *
 * What binary mode cannot carry (an attribute value over Pub/Sub's 1024 bytes, more than
 * 100 attributes, an event that is not valid CloudEvents JSON) goes in structured mode:
 * the stored bytes unchanged as the data, `Content-Type: application/cloudevents+json`.
 * Bytes that are not a CloudEvent at all travel unchanged with no attributes.
 */
import { isJsonMediaType } from '../../cloudevents/event';

export interface PubSubMessageParts {
  readonly data: Buffer;
  readonly attributes: Record<string, string>;
}

export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';
export const CONTENT_TYPE_ATTRIBUTE = 'Content-Type';
export const ATTRIBUTE_PREFIX = 'ce-';
/** `json` | `text` | `base64`: which JSON-format member the message data came from. */
export const DATA_HINT_ATTRIBUTE = 'em-data';
/** `name=i,name=b`: extensions that were integers (i) or booleans (b) in the JSON format. */
export const TYPES_HINT_ATTRIBUTE = 'em-types';
/** Set on an empty opaque message: Pub/Sub refuses a message with neither data nor attributes. */
const EMPTY_ATTRIBUTE = 'em-empty';

/** Pub/Sub's message attribute limits. */
export const PUBSUB_ATTRIBUTE_LIMITS = { maxAttributes: 100, maxKeyBytes: 256, maxValueBytes: 1024 } as const;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const CORE_ORDER = ['specversion', 'id', 'source', 'type', 'datacontenttype', 'dataschema', 'subject', 'time'];

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decodeText(buf: Buffer): string | undefined {
  try {
    return utf8.decode(buf);
  } catch {
    return undefined;
  }
}

interface Member {
  readonly key: string;
  readonly start: number;
  readonly end: number;
}

/**
 * The top-level members of a JSON object text, with the byte span of each value. Only
 * called on text JSON.parse accepted. Iterative (no recursion), one pass.
 */
export function topLevelMembers(buf: Buffer): Member[] | undefined {
  const n = buf.length;
  let i = 0;
  const ws = () => {
    while (i < n && (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === 0x0a || buf[i] === 0x0d)) i++;
  };
  const skipString = (): boolean => {
    i++;
    while (i < n) {
      const c = buf[i];
      if (c === 0x5c) i += 2;
      else if (c === 0x22) {
        i++;
        return true;
      } else i++;
    }
    return false;
  };
  ws();
  if (buf[i] !== 0x7b) return undefined;
  i++;
  const out: Member[] = [];
  ws();
  if (buf[i] === 0x7d) return out;
  for (;;) {
    ws();
    if (buf[i] !== 0x22) return undefined;
    const ks = i;
    if (!skipString()) return undefined;
    const rawKey = buf.toString('utf8', ks, i);
    const key = rawKey.includes('\\') ? (JSON.parse(rawKey) as string) : rawKey.slice(1, -1);
    ws();
    if (buf[i] !== 0x3a) return undefined;
    i++;
    ws();
    const start = i;
    const c = buf[i];
    if (c === 0x22) {
      if (!skipString()) return undefined;
    } else if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      while (i < n) {
        const d = buf[i];
        if (d === 0x22) {
          if (!skipString()) return undefined;
          continue;
        }
        if (d === 0x7b || d === 0x5b) depth++;
        else if (d === 0x7d || d === 0x5d) depth--;
        i++;
        if (depth === 0) break;
      }
    } else {
      while (i < n && buf[i] !== 0x2c && buf[i] !== 0x7d && buf[i] !== 0x20 && buf[i] !== 0x09 && buf[i] !== 0x0a && buf[i] !== 0x0d) i++;
    }
    out.push({ key, start, end: i });
    ws();
    if (buf[i] === 0x2c) {
      i++;
      continue;
    }
    if (buf[i] === 0x7d) return out;
    return undefined;
  }
}

const opaque = (buf: Buffer): PubSubMessageParts => ({ data: buf, attributes: buf.length === 0 ? { [EMPTY_ATTRIBUTE]: '1' } : {} });
const structured = (buf: Buffer): PubSubMessageParts => ({ data: buf, attributes: { [CONTENT_TYPE_ATTRIBUTE]: STRUCTURED_CONTENT_TYPE } });

/** A stored event (or any bytes) as a Pub/Sub message: binary mode when it can, else structured, else as is. */
export function toPubSubMessage(bytes: Uint8Array): PubSubMessageParts {
  const buf = asBuffer(bytes);
  const text = decodeText(buf);
  if (text === undefined) return opaque(buf);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return opaque(buf);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || typeof (parsed as { specversion?: unknown }).specversion !== 'string') return opaque(buf);
  const ev = parsed as Record<string, unknown>;
  const members = topLevelMembers(buf);
  if (!members) return structured(buf);
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m.key)) return structured(buf); // duplicate names: JSON.parse keeps the last; keep it as sent
    seen.add(m.key);
  }
  const attributes: Record<string, string> = {};
  const types: string[] = [];
  const dct = ev.datacontenttype;
  for (const name of Object.keys(ev)) {
    if (name === 'data' || name === 'data_base64') continue;
    if (!/^[a-z0-9]+$/.test(name)) return structured(buf);
    const value = ev[name];
    let str: string;
    if (typeof value === 'string') str = value;
    else if (CORE_ORDER.includes(name)) return structured(buf);
    else if (typeof value === 'boolean') {
      str = String(value);
      types.push(`${name}=b`);
    } else if (typeof value === 'number' && Number.isSafeInteger(value)) {
      str = String(value);
      types.push(`${name}=i`);
    } else return structured(buf);
    if (name === 'datacontenttype') {
      if (/^application\/cloudevents/i.test(str)) return structured(buf);
      attributes[CONTENT_TYPE_ATTRIBUTE] = str;
    } else attributes[`${ATTRIBUTE_PREFIX}${name}`] = str;
  }
  let data: Buffer = Buffer.alloc(0);
  const hasData = 'data' in ev;
  const hasB64 = 'data_base64' in ev;
  if (hasData && hasB64) return structured(buf);
  if (hasB64) {
    const b64 = ev.data_base64;
    if (typeof b64 !== 'string') return structured(buf);
    data = Buffer.from(b64, 'base64');
    if (data.toString('base64') !== b64) return structured(buf); // not canonical: would not come back the same
    attributes[DATA_HINT_ATTRIBUTE] = 'base64';
  } else if (hasData) {
    const member = members.find((m) => m.key === 'data')!;
    const value = ev.data;
    if (typeof value === 'string' && !isJsonMediaType(typeof dct === 'string' ? dct : undefined)) {
      data = Buffer.from(value, 'utf8');
      attributes[DATA_HINT_ATTRIBUTE] = 'text';
    } else {
      data = buf.subarray(member.start, member.end);
      attributes[DATA_HINT_ATTRIBUTE] = 'json';
    }
  }
  if (types.length) attributes[TYPES_HINT_ATTRIBUTE] = types.join(',');
  const entries = Object.entries(attributes);
  if (entries.length > PUBSUB_ATTRIBUTE_LIMITS.maxAttributes) return structured(buf);
  for (const [k, v] of entries) {
    if (Buffer.byteLength(k) > PUBSUB_ATTRIBUTE_LIMITS.maxKeyBytes || Buffer.byteLength(v) > PUBSUB_ATTRIBUTE_LIMITS.maxValueBytes) return structured(buf);
  }
  return { data, attributes };
}

/**
 * The bytes a channel consumer gets for a Pub/Sub message: the stored event again (binary
 * mode, ours or another producer's, rebuilt as CloudEvents JSON), the data as is
 * (structured mode), or the data as is (not a CloudEvent).
 */
export function fromPubSubMessage(data: Uint8Array | null | undefined, attributes: Readonly<Record<string, string>> | null | undefined): Buffer {
  const body = data ? asBuffer(data) : Buffer.alloc(0);
  if (!attributes) return body;
  const attrs = new Map<string, string>();
  for (const [k, v] of Object.entries(attributes)) attrs.set(k.toLowerCase(), v);
  const contentType = attrs.get('content-type');
  if (contentType !== undefined && /^application\/cloudevents/i.test(contentType)) return body;
  if (!attrs.has('ce-specversion')) return body;

  const values = new Map<string, string | number | boolean>();
  for (const [k, v] of attrs) if (k.startsWith(ATTRIBUTE_PREFIX) && k.length > ATTRIBUTE_PREFIX.length) values.set(k.slice(ATTRIBUTE_PREFIX.length), v);
  if (contentType !== undefined) values.set('datacontenttype', contentType);
  for (const hint of (attrs.get(TYPES_HINT_ATTRIBUTE) ?? '').split(',')) {
    const [name, type] = hint.split('=');
    const v = values.get(name);
    if (typeof v !== 'string') continue;
    if (type === 'b' && (v === 'true' || v === 'false')) values.set(name, v === 'true');
    else if (type === 'i' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))) values.set(name, Number(v));
  }
  const names = [...CORE_ORDER.filter((n) => values.has(n)), ...[...values.keys()].filter((n) => !CORE_ORDER.includes(n)).sort()];
  const head = names.map((n) => `${JSON.stringify(n)}:${JSON.stringify(values.get(n))}`).join(',');

  const dct = values.get('datacontenttype');
  let hint = attrs.get(DATA_HINT_ATTRIBUTE);
  if (hint === undefined && body.length > 0) hint = guessDataKind(body, typeof dct === 'string' ? dct : undefined);
  let tail: Buffer | string = '';
  if (hint === 'json') tail = Buffer.concat([Buffer.from(',"data":'), body]);
  else if (hint === 'text') tail = `,"data":${JSON.stringify(decodeText(body) ?? body.toString('utf8'))}`;
  else if (hint === 'base64') tail = `,"data_base64":${JSON.stringify(body.toString('base64'))}`;
  return Buffer.concat([Buffer.from(`{${head}`), typeof tail === 'string' ? Buffer.from(tail) : tail, Buffer.from('}')]);
}

/** How to carry the data of another producer's binary-mode message: JSON text, text, or bytes. */
function guessDataKind(body: Buffer, dct: string | undefined): 'json' | 'text' | 'base64' {
  const text = decodeText(body);
  if (text === undefined) return 'base64';
  if (isJsonMediaType(dct)) {
    try {
      JSON.parse(text);
      return 'json';
    } catch {
      return 'base64';
    }
  }
  return dct !== undefined && (/^text\//i.test(dct) || /charset=/i.test(dct)) ? 'text' : 'base64';
}
