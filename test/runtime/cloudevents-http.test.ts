/**
 * The CloudEvents HTTP binding and channel bytes on their own (runtime/cloudevents/http.ts
 * and trace-context.ts, pure): exact errors of each decoding path (binary headers,
 * Content-Type and charset, JSON bodies, structured and batch), what a binary body becomes
 * (data, a data string, data_base64) for each media type and charset, percent-encoding at
 * its character boundaries, encodeBinary's headers and body, toChannelBytes with the raw
 * JSON data and readChannelEvent's verbatim bytes, and the W3C trace headers in and out.
 */
import type { IncomingHttpHeaders } from 'node:http';
import {
  BATCH_CONTENT_TYPE,
  decodeHttpEvents,
  encodeBatch,
  encodeBinary,
  EventValidationError,
  fromChannelBytes,
  percentDecode,
  percentEncode,
  readChannelEvent,
  toChannelBytes,
  traceContextFromHeaders,
} from '../../runtime/cloudevents';
import type { CloudEventJson, DecodeOptions } from '../../runtime/cloudevents';
import { thrown } from '../support/thrown';

const ce = { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't' };
const base: CloudEventJson = { specversion: '1.0', id: '1', source: '/s', type: 't' };
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const TP2 = '00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const decode = (headers: IncomingHttpHeaders, body: string | Buffer = '', options: DecodeOptions = {}) => decodeHttpEvents(headers, typeof body === 'string' ? Buffer.from(body) : body, options);
/** The error decode() throws: its HTTP status and JSON body. */
function failure(headers: IncomingHttpHeaders, body: string | Buffer, options: DecodeOptions = {}): { status: number; json: ReturnType<EventValidationError['toJSON']> } {
  const err = thrown(() => decode(headers, body, options), EventValidationError);
  return { status: err.status, json: err.toJSON() };
}

describe('binary mode: headers', () => {
  it('only ce-<name> headers are attributes (not "ce-" alone, not cex, cexa or c-e-), names lower-cased, values percent-decoded and joined', () => {
    const [ev] = decode({ ...ce, 'ce-': 'x', cex: 'y', cexa: 'u', 'cf-a': 'z', 'de-a': 'w', 'c-e-a': 'v', 'ce-tenant': 'a%20b', 'ce-list': ['1', '2'] as unknown as string }).events;
    expect(ev).toEqual({ ...base, tenant: 'a b', list: '1,2' });
    expect(decode({ ...ce, 'ce-x': '1' }).events[0].x).toBe('1'); // a one-letter name
    // The event format's media type is matched in any case and with spaces around it.
    expect(decode({ 'content-type': ' Application/CloudEvents+JSON ; charset=utf-8' }, JSON.stringify(base)).mode).toBe('structured');
  });

  it('a header name that is no attribute name, ce-datacontenttype and ce-data: each a 400 naming it', () => {
    expect(failure({ ...ce, 'ce-bad_name': 'x' }, '')).toEqual({ status: 400, json: { error: 'invalid_attribute', attribute: 'bad_name', message: 'header ce-bad_name: attribute names use only lower-case letters a-z and digits 0-9 (rename "bad_name")' } });
    expect(failure({ ...ce, 'ce-datacontenttype': 'application/json' }, '').json).toEqual({ error: 'invalid_attribute', attribute: 'datacontenttype', message: 'in binary mode the media type of the data goes in the Content-Type header: remove ce-datacontenttype' });
    expect(failure({ ...ce, 'ce-data': 'x' }, '').json).toEqual({ error: 'invalid_attribute', attribute: 'data', message: '"data" is reserved for the payload: send it as the request body and remove the ce-data header' });
  });

  it('no ce- headers at all: 415 saying what a CloudEvent request looks like, with the Content-Type received', () => {
    const f = failure({ 'content-type': 'application/json' }, '{}');
    expect([f.status, f.json.error, f.json.attribute]).toEqual([415, 'unsupported_media_type', undefined]);
    expect(f.json.message).toMatch(/^this is not a CloudEvent: send binary mode \(ce-specversion, ce-id, ce-source and ce-type headers/);
    expect(f.json.message).toMatch(/; got Content-Type "application\/json" without ce-\* headers$/);
    expect(failure({}, '').json.message).toMatch(/; got Content-Type "" without ce-\* headers$/);
  });

  it('Content-Type becomes datacontenttype when it is a media type; an empty one is none', () => {
    expect(decode({ ...ce, 'content-type': 'text/plain; charset=utf-8' }, 'hi').events[0]).toEqual({ ...base, datacontenttype: 'text/plain; charset=utf-8', data: 'hi' });
    expect(decode({ ...ce, 'content-type': '' }, '{"a":1}').events[0]).toEqual({ ...base, data: { a: 1 } });
    expect(failure({ ...ce, 'content-type': 'not a type' }, 'x').json).toEqual({ error: 'invalid_attribute', attribute: 'datacontenttype', message: 'Content-Type (the event\'s datacontenttype) must be an RFC 2046 media type such as "application/json", got "not a type"' });
  });
});

describe('binary mode: what the body becomes', () => {
  it('JSON (absent, empty or a JSON type): parsed into data; invalid JSON is a 400 naming data and the Content-Type', () => {
    expect(decode(ce, '[1,2]').events[0].data).toEqual([1, 2]);
    expect(decode({ ...ce, 'content-type': 'application/vnd.x+json' }, '"s"').events[0].data).toBe('s');
    expect(decode(ce, '').events[0]).toEqual(base);
    const absent = failure(ce, '{nope');
    expect([absent.json.error, absent.json.attribute]).toEqual(['invalid_data', 'data']);
    expect(absent.json.message).toMatch(/^the body is not valid JSON \(.+\) but Content-Type is absent \(meaning application\/json\): send JSON or set the right Content-Type$/);
    expect(failure({ ...ce, 'content-type': 'application/json' }, '{nope').json.message).toMatch(/but Content-Type is "application\/json": send JSON/);
    expect(failure(ce, Buffer.from([0x22, 0xff, 0x22])).json).toEqual({ error: 'invalid_json', message: 'the body (data) is not valid UTF-8: send JSON encoded as UTF-8' });
  });

  it('a JSON body past --max-json-depth: 400 json_too_deep naming data and the limit', () => {
    // Brackets inside strings, escaped quotes included, are not nesting.
    expect(decode(ce, '["\\"[[[[", 1]', { maxJsonDepth: 1 }).events[0].data).toEqual(['"[[[[', 1]);
    expect(failure(ce, '[[[[]]]]', { maxJsonDepth: 3 }).json).toEqual({ error: 'json_too_deep', attribute: 'data', message: 'the body (data) nests arrays and objects more than 3 levels deep: flatten it (the limit is set with --max-json-depth / MAX_JSON_DEPTH)' });
    expect(decode(ce, '[[[]]]', { maxJsonDepth: 3 }).events[0].data).toEqual([[[]]]);
  });

  it('textual types (text/*, XML, form data) in UTF-8 or US-ASCII become a data string; other charsets and binary types data_base64', () => {
    const as = (ct: string, body: string | Buffer = 'hé') => {
      const ev = decode({ ...ce, 'content-type': ct }, body).events[0];
      return ev.data !== undefined ? `data:${String(ev.data)}` : `b64:${String(ev.data_base64)}`;
    };
    const b64 = `b64:${Buffer.from('hé').toString('base64')}`;
    expect(as('text/plain')).toBe('data:hé');
    expect(as('text/csv; charset=UTF-8')).toBe('data:hé');
    expect(as('text/plain; charset=utf8')).toBe('data:hé');
    expect(as('text/plain; charset="us-ascii"', 'hi')).toBe('data:hi');
    expect(as('application/xml')).toBe('data:hé');
    expect(as('image/svg+xml')).toBe('data:hé');
    expect(as('application/x-www-form-urlencoded', 'a=1')).toBe('data:a=1');
    expect(as('text/plain; charset=iso-8859-1')).toBe(b64);
    expect(as('text/plain;charset=iso-8859-1')).toBe(b64);
    expect(as('application/octet-stream')).toBe(b64);
    expect(as('application/x-custom; charset=utf-8')).toBe('data:hé');
    expect(as('application/x-custom; charset=utf8')).toBe('data:hé');
    expect(as('application/x-custom; charset=latin1')).toBe(b64);
    expect(as('application/xmlish')).toBe(b64);
    expect(as('xml/text')).toBe(b64);
    // Text that is not valid UTF-8 is kept as bytes.
    expect(as('text/plain', Buffer.from([0x68, 0xff]))).toBe(`b64:${Buffer.from([0x68, 0xff]).toString('base64')}`);
  });

  it('rawData: the JSON body as sent (without a byte order mark), only when asked and only for JSON data', () => {
    const sent = Buffer.from('{ "a" : 1 }');
    expect(decode(ce, sent, { rawData: true })).toEqual({ events: [{ ...base, data: { a: 1 } }], mode: 'binary', rawData: [sent] });
    expect(decode(ce, sent)).toEqual({ events: [{ ...base, data: { a: 1 } }], mode: 'binary' });
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), sent]);
    expect(Buffer.from(decode(ce, bom, { rawData: true }).rawData![0]!).toString()).toBe('{ "a" : 1 }');
    // Only a full BOM is cut.
    expect(failure(ce, Buffer.from([0xef, 0xbb, 0x31])).json.error).toBe('invalid_json');
    expect(decode({ ...ce, 'content-type': 'text/plain' }, 'x', { rawData: true })).toEqual({ events: [{ ...base, datacontenttype: 'text/plain', data: 'x' }], mode: 'binary' });
    expect(decode(ce, '', { rawData: true })).toEqual({ events: [base], mode: 'binary' });
    expect(decode(ce, 'null', { rawData: true })).toEqual({ events: [base], mode: 'binary' });
  });
});

describe('structured and batch: exact errors', () => {
  const structured = { 'content-type': 'application/cloudevents+json' };
  const batch = { 'content-type': 'application/cloudevents-batch+json' };

  it('each names what it read: the structured event or the batch', () => {
    expect(failure(structured, Buffer.from([0xff])).json).toEqual({ error: 'invalid_json', message: 'the structured event is not valid UTF-8: send JSON encoded as UTF-8' });
    expect(failure(structured, '{').json.message).toMatch(/^the structured event is not valid JSON \(.+\): send a JSON object per the CloudEvents JSON format$/);
    expect(failure(batch, Buffer.from([0xff])).json.message).toBe('the batch is not valid UTF-8: send JSON encoded as UTF-8');
    expect(failure(batch, '[').json.message).toMatch(/^the batch is not valid JSON \(/);
    expect(failure(batch, '{}').json).toEqual({ error: 'invalid_batch', message: 'a batch (application/cloudevents-batch+json) must be a JSON array of events' });
    expect(failure({ 'content-type': 'application/cloudevents+json' }, '[[[[]]]]').json.error).toBe('invalid_json');
  });

  it('charset: UTF-8 only (415 naming the charset)', () => {
    expect(failure({ 'content-type': 'application/cloudevents+json; charset=latin1' }, '{}')).toEqual({ status: 415, json: { error: 'unsupported_media_type', message: 'charset latin1 is not supported for the CloudEvents JSON format: send UTF-8 (charset=utf-8)' } });
    expect(failure({ 'content-type': 'application/cloudevents+json; charset = latin1' }, '{}').status).toBe(415);
    expect(failure({ 'content-type': 'application/cloudevents-batch+json;charset="UTF-16"' }, '[]').json.message).toBe('charset utf-16 is not supported for the CloudEvents JSON format: send UTF-8 (charset=utf-8)');
    for (const cs of ['utf-8', 'UTF8', '"utf-8"']) expect(decode({ 'content-type': `application/cloudevents+json;  charset = ${cs}` }, JSON.stringify(base)).events).toEqual([base]);
  });

  it('depth is checked for the structured event and the batch as a whole', () => {
    const deep = JSON.stringify({ ...base, data: [[[]]] });
    expect(decode(structured, deep, { maxJsonDepth: 4 }).events[0].data).toEqual([[[]]]);
    expect(failure(structured, deep, { maxJsonDepth: 3 }).json).toEqual({ error: 'json_too_deep', message: 'the structured event nests arrays and objects more than 3 levels deep: flatten it (the limit is set with --max-json-depth / MAX_JSON_DEPTH)' });
    expect(failure(batch, `[${deep}]`, { maxJsonDepth: 4 }).json.message).toMatch(/^the batch nests arrays and objects more than 4 levels deep/);
  });

  it('a batch keeps its order and length; other event formats are a 415 naming the format', () => {
    const events = [0, 1, 2].map((i) => ({ ...base, id: String(i) }));
    expect(decode(batch, JSON.stringify(events))).toEqual({ events, mode: 'batch' });
    expect(decode(batch, '[]')).toEqual({ events: [], mode: 'batch' });
    expect(failure({ 'content-type': 'application/cloudevents+xml; charset=utf-8' }, '<e/>')).toEqual({
      status: 415,
      json: { error: 'unsupported_media_type', message: 'event format "application/cloudevents+xml" is not supported: use the JSON format (application/cloudevents+json, or application/cloudevents-batch+json for a batch) or binary mode' },
    });
    expect(encodeBatch(events)).toEqual({ headers: { 'content-type': BATCH_CONTENT_TYPE }, body: JSON.stringify(events) });
  });
});

describe('percent-encoding', () => {
  it('encodes space, DQUOTE, % and everything outside printable ASCII, nothing else', () => {
    const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter((c) => c !== '"' && c !== '%').join('');
    expect(percentEncode(printable)).toBe(printable);
    expect(percentEncode(' "%')).toBe('%20%22%25');
    expect(percentEncode('a\u0000\u000f\u0010\u007f')).toBe('a%00%0F%10%7F');
    expect(percentEncode('ü~!')).toBe('%C3%BC~!');
  });

  it('decodes valid escapes and keeps a stray % as it is', () => {
    expect(percentDecode('plain')).toBe('plain');
    expect(percentDecode('a%20b')).toBe('a b');
    expect(percentDecode('100%')).toBe('100%');
    expect(percentDecode('%C3%BC 50% %41')).toBe('ü 50% A');
    expect(percentDecode('%C3')).toBe('%C3'); // an incomplete UTF-8 sequence stays literal
  });
});

describe('encodeBinary', () => {
  it('every attribute but datacontenttype as ce-, non-strings as text, null and undefined left out', () => {
    const { headers, body } = encodeBinary({ ...base, subject: 'a b', n: 3, b: false, gone: null, none: undefined, datacontenttype: 'text/plain', data: 'hi' } as CloudEventJson);
    expect(headers).toEqual({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'ce-subject': 'a%20b', 'ce-n': '3', 'ce-b': 'false', 'content-type': 'text/plain' });
    expect(body).toBe('hi');
  });

  it('data_base64 goes in the body as bytes, never in a header', () => {
    expect(encodeBinary({ ...base, data_base64: 'aGk=' })).toEqual({ headers: { ...ce, 'content-type': 'application/json' }, body: Buffer.from('hi') });
  });

  it('body: JSON data serialized (a string too, for JSON types), no body and no Content-Type without data', () => {
    expect(encodeBinary({ ...base, data: { a: 1 } })).toEqual({ headers: { ...ce, 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(encodeBinary({ ...base, data: 'x' }).body).toBe('"x"');
    expect(encodeBinary({ ...base, data: 0 }).body).toBe('0');
    expect(encodeBinary({ ...base, data: false }).body).toBe('false');
    expect(encodeBinary({ ...base, datacontenttype: 'application/ld+json', data: 'x' }).body).toBe('"x"');
    expect(encodeBinary(base)).toEqual({ headers: ce, body: undefined });
    expect(encodeBinary({ ...base, data: null })).toEqual({ headers: ce, body: undefined });
    expect(encodeBinary({ ...base, datacontenttype: 'application/json' })).toEqual({ headers: { ...ce, 'content-type': 'application/json' }, body: undefined });
  });

  it('trace context: the W3C headers next to ce-traceparent, only for a valid traceparent', () => {
    expect(encodeBinary({ ...base, traceparent: TP, tracestate: 'a=1' }).headers).toEqual({ ...ce, 'ce-traceparent': TP, 'ce-tracestate': 'a=1', traceparent: TP, tracestate: 'a=1' });
    expect(encodeBinary({ ...base, traceparent: TP, tracestate: '' }).headers).toEqual({ ...ce, 'ce-traceparent': TP, 'ce-tracestate': '', traceparent: TP });
    expect(encodeBinary({ ...base, traceparent: 'nope' }).headers).toEqual({ ...ce, 'ce-traceparent': 'nope' });
  });
});

describe('trace context from request headers', () => {
  it('a valid traceparent (one header), tracestate joined and bounded', () => {
    expect(traceContextFromHeaders({ traceparent: ` ${TP} ` })).toEqual({ traceparent: TP });
    expect(traceContextFromHeaders({ traceparent: [TP] as unknown as string })).toEqual({ traceparent: TP });
    expect(traceContextFromHeaders({ traceparent: [TP, TP] as unknown as string })).toBeUndefined();
    expect(traceContextFromHeaders({})).toBeUndefined();
    expect(traceContextFromHeaders({ traceparent: TP, tracestate: ['a=1', 'b=2'] as unknown as string })).toEqual({ traceparent: TP, tracestate: 'a=1,b=2' });
    expect(traceContextFromHeaders({ traceparent: TP, tracestate: ' a=1 ' })).toEqual({ traceparent: TP, tracestate: 'a=1' });
    expect(traceContextFromHeaders({ traceparent: TP, tracestate: `a=${'x'.repeat(510)}` })).toEqual({ traceparent: TP, tracestate: `a=${'x'.repeat(510)}` });
    expect(traceContextFromHeaders({ traceparent: TP, tracestate: `a=${'x'.repeat(511)}` })).toEqual({ traceparent: TP });
    expect(traceContextFromHeaders({ traceparent: TP, tracestate: 'a=\u0001' })).toEqual({ traceparent: TP });
    expect(traceContextFromHeaders({ traceparent: TP, tracestate: '\u0001a=1' })).toEqual({ traceparent: TP });
  });

  it('ids that are all zeros, or end or start with zeros', () => {
    expect(traceContextFromHeaders({ traceparent: `00-${'0'.repeat(32)}-b7ad6b7169203331-01` })).toBeUndefined();
    expect(traceContextFromHeaders({ traceparent: `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01` })).toBeUndefined();
    const trailing = `00-${'1'.repeat(31)}0-${'2'.repeat(15)}0-01`;
    expect(traceContextFromHeaders({ traceparent: trailing })).toEqual({ traceparent: trailing });
  });

  it('adopted by events without one; an event keeps its own tracestate', () => {
    const [a, b, c] = decode({ 'content-type': 'application/cloudevents-batch+json', traceparent: TP, tracestate: 'r=1' }, JSON.stringify([base, { ...base, id: '2', traceparent: TP2 }, { ...base, id: '3', tracestate: 'own=1' }])).events;
    expect([a.traceparent, a.tracestate]).toEqual([TP, 'r=1']);
    expect([b.traceparent, b.tracestate]).toEqual([TP2, undefined]);
    expect([c.traceparent, c.tracestate]).toEqual([TP, 'own=1']);
    const [d] = decode({ ...ce, traceparent: TP }).events;
    expect(Object.keys(d)).toEqual(['specversion', 'id', 'source', 'type', 'traceparent']);
  });
});

describe('channel bytes', () => {
  const ev: CloudEventJson = { ...base, knativearrivaltime: '2026-01-01T00:00:00Z', data: { a: 1 } };

  it('toChannelBytes embeds the raw JSON data as sent, as the last member; without it, or without data, serializes', () => {
    const raw = Buffer.from('{ "a" : 1 }');
    expect(Buffer.from(toChannelBytes(ev, raw)).toString()).toBe('{"specversion":"1.0","id":"1","source":"/s","type":"t","knativearrivaltime":"2026-01-01T00:00:00Z","data":{ "a" : 1 }}');
    expect(Buffer.from(toChannelBytes(ev)).toString()).toBe(JSON.stringify(ev));
    expect(Buffer.from(toChannelBytes(base, raw)).toString()).toBe(JSON.stringify(base));
    expect(Buffer.from(toChannelBytes({ ...base, data: null }, raw)).toString()).toBe(JSON.stringify({ ...base, data: null }));
    expect(Buffer.from(toChannelBytes(ev, Buffer.alloc(0))).toString()).toBe(JSON.stringify(ev));
    // Only data itself is replaced: data_base64 or other members stay.
    expect(fromChannelBytes(toChannelBytes(ev, raw))).toEqual(ev);
    // An event of nothing but data has no members to put before it.
    expect(Buffer.from(toChannelBytes({ data: 1 } as unknown as CloudEventJson, Buffer.from('1'))).toString()).toBe('{"data":1}');
  });

  it('readChannelEvent: the bytes themselves when they are the event verbatim, not when nulls were dropped or a BOM cut', () => {
    const bytes = Buffer.from(JSON.stringify(ev));
    const read = readChannelEvent(bytes);
    expect(read.event).toEqual(ev);
    expect(read.raw).toBe(bytes);
    const u8 = new Uint8Array(bytes);
    expect(readChannelEvent(u8).raw).toBe(u8);
    expect(readChannelEvent(Buffer.from(JSON.stringify({ ...ev, subject: null })))).toEqual({ event: ev });
    expect(readChannelEvent(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]))).toEqual({ event: ev });
    expect(() => readChannelEvent(Buffer.from('{'))).toThrow(/^the stored event is not valid JSON/);
    expect(() => readChannelEvent(Buffer.from([0xff]))).toThrow('the stored event is not valid UTF-8: send JSON encoded as UTF-8');
    expect(() => fromChannelBytes(Buffer.from('{'))).toThrow(/^the stored event is not valid JSON/);
    expect(() => fromChannelBytes(Buffer.from([0xff]))).toThrow('the stored event is not valid UTF-8: send JSON encoded as UTF-8');
  });
});
