/** Strict CloudEvents 1.0 decoding/encoding, with the `cloudevents` SDK as a real peer. */
import { CloudEvent, HTTP } from 'cloudevents';
import type { IncomingHttpHeaders } from 'node:http';
import {
  CloudEventJson,
  decodeHttpEvents,
  encodeBinary,
  encodeStructured,
  EventValidationError,
  fromChannelBytes,
  isRfc3339,
  isUriReference,
  percentDecode,
  percentEncode,
  toChannelBytes,
  validateEvent,
} from '../../runtime/cloudevents';
import { thrown } from '../support/thrown';

const base = (): Record<string, unknown> => ({ specversion: '1.0', id: 'A234-1234-1234', source: '/mycontext', type: 'com.example.someevent' });

function lower(h: Record<string, unknown>): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = String(v);
  return out;
}

function sdkBinary(ev: CloudEvent<unknown>): { headers: IncomingHttpHeaders; body: Buffer } {
  const m = HTTP.binary(ev);
  const body = m.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(m.body) ? m.body : Buffer.from(typeof m.body === 'string' ? m.body : JSON.stringify(m.body));
  return { headers: lower(m.headers), body };
}

function sdkStructured(ev: CloudEvent<unknown>): { headers: IncomingHttpHeaders; body: Buffer } {
  const m = HTTP.structured(ev);
  return { headers: lower(m.headers), body: Buffer.from(m.body as string) };
}

function structured(obj: unknown, ct = 'application/cloudevents+json'): { headers: IncomingHttpHeaders; body: Buffer } {
  return { headers: { 'content-type': ct }, body: Buffer.from(JSON.stringify(obj)) };
}

const failure = (fn: () => unknown): EventValidationError => thrown(fn, EventValidationError);

describe('decodeHttpEvents with the SDK as producer', () => {
  test('binary: attributes, extensions and JSON data', () => {
    const ev = new CloudEvent({ id: '1', source: '/app', type: 'order.created', subject: 's', time: '2026-01-01T12:00:00.123Z', myext: 'v', data: { a: 1 } });
    const { headers, body } = sdkBinary(ev);
    const { events, mode } = decodeHttpEvents(headers, body);
    expect(mode).toBe('binary');
    expect(events[0]).toMatchObject({ specversion: '1.0', id: '1', source: '/app', type: 'order.created', subject: 's', myext: 'v', data: { a: 1 } });
    expect(events[0].datacontenttype).toMatch(/^application\/json/);
  });

  test('binary: text and binary payloads', () => {
    const text = decodeHttpEvents({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 'x', 'ce-type': 't', 'content-type': 'text/plain' }, Buffer.from('héllo'));
    expect(text.events[0].data).toBe('héllo');
    const bin = decodeHttpEvents({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 'x', 'ce-type': 't', 'content-type': 'application/octet-stream' }, Buffer.from([0, 1, 2, 255]));
    expect(bin.events[0].data_base64).toBe(Buffer.from([0, 1, 2, 255]).toString('base64'));
    expect(bin.events[0].data).toBeUndefined();
  });

  test('structured: SDK event, charset allowed', () => {
    const ev = new CloudEvent({ id: '2', source: 'urn:app', type: 't', data: 'plain', datacontenttype: 'text/plain' });
    const { headers, body } = sdkStructured(ev);
    const { events, mode } = decodeHttpEvents(headers, body);
    expect(mode).toBe('structured');
    expect(events[0]).toMatchObject({ id: '2', source: 'urn:app', data: 'plain' });
  });

  test('batch: every entry validated, failure names the index', () => {
    const ok = decodeHttpEvents({ 'content-type': 'application/cloudevents-batch+json' }, Buffer.from(JSON.stringify([base(), { ...base(), id: 'b' }])));
    expect(ok.mode).toBe('batch');
    expect(ok.events.map((e) => e.id)).toEqual(['A234-1234-1234', 'b']);
    const err = failure(() => decodeHttpEvents({ 'content-type': 'application/cloudevents-batch+json' }, Buffer.from(JSON.stringify([base(), { ...base(), time: 'yesterday' }]))));
    expect(err.status).toBe(400);
    expect(err.attribute).toBe('time');
    expect(err.message).toContain('events[1]');
    expect(failure(() => decodeHttpEvents({ 'content-type': 'application/cloudevents-batch+json' }, Buffer.from('{}'))).code).toBe('invalid_batch');
  });

  test('415 for other event formats and for requests that are not CloudEvents', () => {
    expect(failure(() => decodeHttpEvents({ 'content-type': 'application/cloudevents+xml' }, Buffer.from('<x/>'))).status).toBe(415);
    expect(failure(() => decodeHttpEvents({ 'content-type': 'application/cloudevents-batch+protobuf' }, Buffer.alloc(1))).status).toBe(415);
    expect(failure(() => decodeHttpEvents({ 'content-type': 'application/json' }, Buffer.from('{}'))).status).toBe(415);
    expect(failure(() => decodeHttpEvents({ 'content-type': 'application/cloudevents+json; charset=latin1' }, Buffer.from('{}'))).status).toBe(415);
  });

  test('binary: percent-encoded header values are decoded', () => {
    const { events } = decodeHttpEvents({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 'x', 'ce-type': 't', 'ce-subject': 'Gr%C3%BC%C3%9Fe%20%22x%22' }, Buffer.alloc(0));
    expect(events[0].subject).toBe('Grüße "x"');
  });
});

describe('strict validation (the SDK would accept these)', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['missing id', (() => { const b = base(); delete b.id; return b; })(), 'id'],
    ['empty id', { ...base(), id: '' }, 'id'],
    ['missing specversion', (() => { const b = base(); delete b.specversion; return b; })(), 'specversion'],
    ['specversion 0.3', { ...base(), specversion: '0.3' }, 'specversion'],
    ['specversion 1.0 as number', { ...base(), specversion: 1.0 }, 'specversion'],
    ['missing source', (() => { const b = base(); delete b.source; return b; })(), 'source'],
    ['source with a space', { ...base(), source: 'my app' }, 'source'],
    ['source with bad escape', { ...base(), source: '/a%zz' }, 'source'],
    ['missing type', (() => { const b = base(); delete b.type; return b; })(), 'type'],
    ['type not a string', { ...base(), type: 5 }, 'type'],
    ['time "yesterday"', { ...base(), time: 'yesterday' }, 'time'],
    ['time Feb 30', { ...base(), time: '2026-02-30T00:00:00Z' }, 'time'],
    ['time hour 24', { ...base(), time: '2026-01-01T24:00:00Z' }, 'time'],
    ['time without zone', { ...base(), time: '2026-01-01T12:00:00' }, 'time'],
    ['empty subject', { ...base(), subject: '' }, 'subject'],
    ['empty datacontenttype', { ...base(), datacontenttype: '' }, 'datacontenttype'],
    ['bad datacontenttype', { ...base(), datacontenttype: 'json' }, 'datacontenttype'],
    ['relative dataschema', { ...base(), dataschema: '/schema.json' }, 'dataschema'],
    ['empty dataschema', { ...base(), dataschema: '' }, 'dataschema'],
    ['extension name Bad_Name', { ...base(), Bad_Name: 'x' }, 'Bad_Name'],
    ['extension name with dash', { ...base(), 'my-ext': 'x' }, 'my-ext'],
    ['extension object value', { ...base(), myext: { a: 1 } }, 'myext'],
    ['extension array value', { ...base(), myext: [1] }, 'myext'],
    ['extension fractional number', { ...base(), myext: 1.5 }, 'myext'],
    ['extension integer out of int32 range', { ...base(), myext: 2 ** 31 }, 'myext'],
    ['data and data_base64', { ...base(), data: 'x', data_base64: 'eA==' }, 'data_base64'],
    ['data_base64 not base64', { ...base(), data_base64: 'not base64!' }, 'data_base64'],
  ];
  test.each(cases)('%s → 400 naming the attribute', (_name, ev, attribute) => {
    const err = failure(() => validateEvent(ev));
    expect(err.status).toBe(400);
    expect(err.attribute).toBe(attribute);
    expect(err.message).toContain(attribute);
  });

  test('error message names the attribute and the fix', () => {
    const err = failure(() => validateEvent({ ...base(), time: 'yesterday' }));
    expect(err.message).toBe('time must be an RFC 3339 timestamp such as "2026-01-01T12:00:00Z", got "yesterday"');
    expect(err.toJSON()).toEqual({ error: 'invalid_attribute', attribute: 'time', message: err.message });
  });

  test('binary mode: bad header names and missing specversion', () => {
    const h = { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 'x', 'ce-type': 't' };
    expect(failure(() => decodeHttpEvents({ ...h, 'ce-bad_name': 'v' }, Buffer.alloc(0))).attribute).toBe('bad_name');
    const noVersion: IncomingHttpHeaders = { ...h };
    delete noVersion['ce-specversion'];
    expect(failure(() => decodeHttpEvents(noVersion, Buffer.alloc(0))).attribute).toBe('specversion');
    expect(failure(() => decodeHttpEvents({ ...h, 'content-type': 'application/json' }, Buffer.from('{bad'))).attribute).toBe('data');
    expect(failure(() => decodeHttpEvents({ ...h, 'ce-datacontenttype': 'text/plain' }, Buffer.alloc(0))).attribute).toBe('datacontenttype');
  });

  test('null means absent: optional attributes dropped, required ones missing', () => {
    const ev = validateEvent({ ...base(), subject: null, myext: null });
    expect('subject' in ev).toBe(false);
    expect('myext' in ev).toBe(false);
    expect(failure(() => validateEvent({ ...base(), id: null })).code).toBe('missing_attribute');
  });

  test('valid edge cases are accepted', () => {
    expect(() => validateEvent({ ...base(), time: '2024-02-29T23:59:60.5+01:00', myext1: 2147483647, flag: true, dataschema: 'urn:x', datacontenttype: 'text/plain; charset="utf-8"' })).not.toThrow();
    expect(isRfc3339('2023-02-29T00:00:00Z')).toBe(false);
    expect(isRfc3339('2000-02-29T00:00:00z')).toBe(true);
    expect(isUriReference('commerce')).toBe(true);
    expect(isUriReference('//host/p?q#f')).toBe(true);
    expect(isUriReference('http://[::1]:8080/x')).toBe(true);
    expect(isUriReference('a:b:c')).toBe(true);
    expect(isUriReference('1a:b')).toBe(false);
    expect(isUriReference('a#b#c')).toBe(false);
  });
});

describe('encoding', () => {
  const ev: CloudEventJson = {
    specversion: '1.0',
    id: 'x-1',
    source: 'commerce',
    type: 'order.created',
    subject: 'Grüße 100% "ok"',
    time: '2026-01-01T12:00:00Z',
    datacontenttype: 'application/json',
    count: 5,
    flag: false,
    data: { orderId: 7 },
  };

  test('encodeBinary → SDK reads the same event (percent-encoding included)', () => {
    const { headers, body } = encodeBinary(ev);
    expect(headers['ce-subject']).toBe('Gr%C3%BC%C3%9Fe%20100%25%20%22ok%22');
    expect(headers['content-type']).toBe('application/json');
    const back = decodeHttpEvents(headers, Buffer.from(body as string));
    expect(back.events[0]).toEqual({ ...ev, count: '5', flag: 'false' });
    const sdk = HTTP.toEvent({ headers, body }) as CloudEvent<unknown>;
    expect(sdk.id).toBe('x-1');
    expect(sdk.data).toEqual({ orderId: 7 });
  });

  test('encodeBinary of data_base64 sends the raw bytes', () => {
    const { headers, body } = encodeBinary({ specversion: '1.0', id: '1', source: 's', type: 't', datacontenttype: 'application/octet-stream', data_base64: 'AAEC' });
    expect(headers['content-type']).toBe('application/octet-stream');
    expect(Buffer.compare(body as Buffer, Buffer.from([0, 1, 2]))).toBe(0);
  });

  test('encodeStructured → SDK and decodeHttpEvents agree', () => {
    const { headers, body } = encodeStructured(ev);
    expect(decodeHttpEvents(headers, Buffer.from(body as string)).events[0]).toEqual(ev);
    const sdk = HTTP.toEvent({ headers, body }) as CloudEvent<unknown>;
    expect(sdk.subject).toBe(ev.subject);
  });

  test('channel bytes round trip; invalid stored bytes throw', () => {
    expect(fromChannelBytes(toChannelBytes(ev))).toEqual(ev);
    expect(() => fromChannelBytes(Buffer.from('garbage'))).toThrow(EventValidationError);
    expect(() => fromChannelBytes(Buffer.from(JSON.stringify({ ...ev, specversion: '0.3' })))).toThrow(EventValidationError);
  });

  test('percent encoding is reversible and lenient on stray %', () => {
    for (const s of ['plain', 'a b', 'ü€😀', '100%', '"q"']) expect(percentDecode(percentEncode(s))).toBe(s);
    expect(percentDecode('100% sure')).toBe('100% sure');
    expect(percentDecode('%E2%82%AC and %zz')).toBe('€ and %zz');
  });
});

test('structured decoding rejects non-UTF-8 and non-object bodies', () => {
  expect(failure(() => decodeHttpEvents(structured([base()]).headers, Buffer.from([0xff, 0xfe]))).code).toBe('invalid_json');
  expect(failure(() => decodeHttpEvents(structured([base()]).headers, Buffer.from('[1]'))).code).toBe('invalid_json');
  expect(failure(() => decodeHttpEvents(structured(null).headers, Buffer.from('{"specversion":'))).code).toBe('invalid_json');
});
