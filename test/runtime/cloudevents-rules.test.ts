/**
 * The CloudEvents 1.0 rules on their own (runtime/cloudevents/event.ts, pure): each value
 * check at its boundaries (RFC 3339 dates and times, URI-references, media types, base64,
 * the Integer range of extensions), validateEvent's exact error for each attribute (code,
 * attribute, message with the value shown and the fix), null handling, extensionsOf and
 * dataBytes. The mutation run of the `cloudevents` module showed these were only reached
 * through a few HTTP paths.
 */
import {
  dataBytes,
  EventValidationError,
  extensionsOf,
  isAbsoluteUri,
  isBase64,
  isJsonMediaType,
  isMediaType,
  isRfc3339,
  isUriReference,
  validateEvent,
} from '../../runtime/cloudevents';
import type { CloudEventJson } from '../../runtime/cloudevents';
import { thrown } from '../support/thrown';

const base = { specversion: '1.0', id: '1', source: '/orders', type: 'order.created' };

/** The error validateEvent throws for `input`, as its JSON body. */
const errorOf = (input: unknown, where?: string) => thrown(() => validateEvent(input, where), EventValidationError).toJSON();

describe('isRfc3339', () => {
  it.each([
    '2026-01-01T12:00:00Z',
    '2026-01-01t12:00:00z',
    '2026-01-01T12:00:00.123456+05:30',
    '2026-01-01T00:00:00-23:59',
    '2024-02-29T00:00:00Z', // divisible by 4
    '2000-02-29T00:00:00Z', // divisible by 400
    '2026-12-31T23:59:60Z', // leap second
    '2026-04-30T23:59:59Z',
    '2026-01-31T00:00:00Z',
  ])('accepts %s', (t) => expect(isRfc3339(t)).toBe(true));

  it.each([
    '1900-02-29T00:00:00Z', // divisible by 100, not by 400
    '2023-02-29T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-01-32T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T12:60:00Z',
    '2026-01-01T12:00:61Z',
    '2026-01-01T12:00:00+24:00',
    '2026-01-01T12:00:00+05:60',
    '2026-01-01 12:00:00Z',
    '2026-01-01T12:00:00',
    '',
  ])('refuses %s', (t) => expect(isRfc3339(t)).toBe(false));

  it('refuses what is not a string', () => expect(isRfc3339(20260101 as unknown as string)).toBe(false));
});

describe('isUriReference and isAbsoluteUri', () => {
  it.each([
    '/orders',
    'urn:shop:orders',
    'https://example.com/a?b=c#frag',
    '#only-a-fragment',
    './a:b', // a ":" after the first segment
    '1a/b:c',
    '/x:y',
    'http://[::1]:8080/x',
    '//[fe80::1]/x',
    'http://user@[::1]/',
    'http://us.er@[v1.fe]/p?q#f',
    '%41bc',
  ])('URI-reference: %s', (u) => expect(isUriReference(u)).toBe(true));

  it.each([
    '',
    'a b',
    '%zz',
    '/a#b#c',
    '#a#b',
    '1ab:', // no valid scheme, and a ":" in the first segment
    '1a:b',
    '/a[b]',
    '/p//[::1]',
    'http://[::1',
    'http://[::1]x',
    'http://[::1]/a[',
    'http://ab@c@[::1]/',
  ])('not a URI-reference: %s', (u) => expect(isUriReference(u)).toBe(false));

  it('refuses what is not a string', () => {
    expect(isUriReference(123 as unknown as string)).toBe(false);
    expect(isAbsoluteUri(123 as unknown as string)).toBe(false);
  });

  it('absolute URIs need a scheme and valid characters', () => {
    expect(['https://example.com/s.json', 'urn:x', 'http://[::1]/'].map(isAbsoluteUri)).toEqual([true, true, true]);
    expect(['/s.json', 'http://a b', 'http://x/%g0', 'http://x#a#b', '1http://x'].map(isAbsoluteUri)).toEqual([false, false, false, false, false]);
  });
});

describe('media types and base64', () => {
  it('isMediaType: type/subtype with parameters, tokens and quoted strings', () => {
    expect(['application/json', 'text/plain; charset=utf-8', 'text/plain;charset="utf-8"', 'application/vnd.a+json ;\tv=1 '].map(isMediaType)).toEqual([true, true, true, true]);
    expect(['application', 'application/', '/json', 'a/b; x', 'a b/c', 'a/b; x="y', ''].map(isMediaType)).toEqual([false, false, false, false, false, false, false]);
    expect(isMediaType(1 as unknown as string)).toBe(false);
  });

  it('isJsonMediaType: absent means JSON; application/json, text/json and +json, any case and parameters', () => {
    expect(isJsonMediaType(undefined)).toBe(true);
    expect(['application/json', 'Application/JSON; charset=utf-8', ' application/json ', 'text/json', 'application/ld+json', 'application/cloudevents+json;x=1'].map(isJsonMediaType)).toEqual([true, true, true, true, true, true]);
    expect(['application/jsonx', 'text/plain', 'application/json-seq', '+json/x', ';+json', 'application/xml; x=+json'].map(isJsonMediaType)).toEqual([false, false, false, false, false, false]);
  });

  it('isBase64: standard alphabet, padded', () => {
    expect(['', 'aGVsbG8=', 'aGk=', 'aGVs', 'a+/='.replace('=', 'A')].map(isBase64)).toEqual([true, true, true, true, true]);
    expect(['aGVsbG8', 'aGk', 'a-_A', 'aGVsbG8==', 'aG=k', ' aGk='].map(isBase64)).toEqual([false, false, false, false, false, false]);
    expect(isBase64(1234 as unknown as string)).toBe(false);
  });
});

describe('validateEvent: the error for each attribute', () => {
  it('EventValidationError: its name, status, and an attribute field only when there is one', () => {
    const withAttr = new EventValidationError('invalid_attribute', 'm', 'id');
    const without = new EventValidationError('invalid_json', 'm');
    expect([withAttr.name, withAttr.status, without.status, new EventValidationError('unsupported_media_type', 'm', undefined, 415).status]).toEqual(['EventValidationError', 400, 400, 415]);
    expect(withAttr.toJSON()).toEqual({ error: 'invalid_attribute', attribute: 'id', message: 'm' });
    expect(Object.keys(without.toJSON())).toEqual(['error', 'message']);
  });

  it('an event must be a JSON object', () => {
    const msg = 'an event must be a JSON object with specversion, id, source and type, got ';
    expect(errorOf(null)).toEqual({ error: 'invalid_json', message: `${msg}null` });
    expect(errorOf(undefined)).toEqual({ error: 'invalid_json', message: `${msg}nothing` });
    expect(errorOf('x')).toEqual({ error: 'invalid_json', message: `${msg}"x"` });
    expect(errorOf(7)).toEqual({ error: 'invalid_json', message: `${msg}7` });
    expect(errorOf([base])).toEqual({ error: 'invalid_json', message: `${msg}an array` });
    expect(errorOf([base], 'events[3]').message).toBe(`events[3]: ${msg}an array`);
  });

  it('specversion: missing (or null), or not "1.0"', () => {
    const { specversion: _omit, ...rest } = base;
    expect(errorOf(rest)).toEqual({ error: 'missing_attribute', attribute: 'specversion', message: 'specversion is required: set it to "1.0"' });
    expect(errorOf({ ...rest, specversion: null })).toEqual({ error: 'missing_attribute', attribute: 'specversion', message: 'specversion is required: set it to "1.0"' });
    expect(errorOf({ ...base, specversion: '0.3' })).toEqual({ error: 'invalid_attribute', attribute: 'specversion', message: 'specversion must be "1.0" (the only CloudEvents version accepted), got "0.3"' });
  });

  it('required strings: missing, null, not a string (the value shown), empty', () => {
    expect(errorOf({ ...base, id: undefined })).toEqual({ error: 'missing_attribute', attribute: 'id', message: 'id is required: set it to a unique identifier such as a UUID' });
    expect(errorOf({ ...base, id: null })).toEqual({ error: 'missing_attribute', attribute: 'id', message: 'id is required: set it to a unique identifier such as a UUID' });
    expect(errorOf({ ...base, id: 5 })).toEqual({ error: 'invalid_attribute', attribute: 'id', message: 'id must be a string (a unique identifier such as a UUID), got 5' });
    expect(errorOf({ ...base, type: '' })).toEqual({ error: 'invalid_attribute', attribute: 'type', message: 'type must not be empty: set it to the kind of event such as "order.created.v1"' });
    expect(errorOf({ ...base, source: 'a b' })).toEqual({
      error: 'invalid_attribute',
      attribute: 'source',
      message: 'source must be a URI-reference such as "/my-app" or "https://example.com/app" (no spaces; escape other characters as %XX), got "a b"',
    });
  });

  it('values are shown up to 80 characters, then cut with …', () => {
    const at80 = 'x'.repeat(80);
    expect(errorOf({ ...base, source: `a ${at80.slice(2)}` }).message).toMatch(new RegExp(`got "a x{78}"$`));
    expect(errorOf({ ...base, source: `a ${at80}` }).message).toMatch(new RegExp(`got "a x{78}…"$`));
    // Non-strings are shown as JSON, cut the same way.
    const obj80 = { a: 'y'.repeat(72) }; // {"a":"…"} is 80 characters
    expect(JSON.stringify(obj80)).toHaveLength(80);
    expect(errorOf({ ...base, id: obj80 }).message).toBe(`id must be a string (a unique identifier such as a UUID), got ${JSON.stringify(obj80)}`);
    const obj81 = { a: 'y'.repeat(73) };
    expect(errorOf({ ...base, id: obj81 }).message).toBe(`id must be a string (a unique identifier such as a UUID), got ${JSON.stringify(obj81).slice(0, 80)}…`);
    // A value JSON cannot show is named by its type.
    expect(errorOf({ ...base, id: 1n }).message).toBe('id must be a string (a unique identifier such as a UUID), got bigint');
  });

  it('optional attributes: not a string, empty, or an invalid value, each with its hint', () => {
    expect(errorOf({ ...base, subject: 1 })).toEqual({ error: 'invalid_attribute', attribute: 'subject', message: 'subject must be a string (a non-empty string), got 1' });
    expect(errorOf({ ...base, subject: '' })).toEqual({ error: 'invalid_attribute', attribute: 'subject', message: 'subject must not be empty: leave it out or set it to a non-empty string' });
    expect(errorOf({ ...base, time: '' }).message).toBe('time must not be empty: leave it out or set it to an RFC 3339 timestamp such as "2026-01-01T12:00:00Z"');
    expect(errorOf({ ...base, time: '2026-02-30T00:00:00Z' })).toEqual({ error: 'invalid_attribute', attribute: 'time', message: 'time must be an RFC 3339 timestamp such as "2026-01-01T12:00:00Z", got "2026-02-30T00:00:00Z"' });
    expect(errorOf({ ...base, dataschema: '' }).message).toBe('dataschema must not be empty: leave it out or set it to an absolute URI such as "https://example.com/schema.json"');
    expect(errorOf({ ...base, dataschema: '/s.json' })).toEqual({ error: 'invalid_attribute', attribute: 'dataschema', message: 'dataschema must be an absolute URI such as "https://example.com/schema.json", got "/s.json"' });
    expect(errorOf({ ...base, datacontenttype: 1 }).message).toBe('datacontenttype must be a string (a media type such as "application/json"), got 1');
    expect(errorOf({ ...base, datacontenttype: 'json' })).toEqual({
      error: 'invalid_attribute',
      attribute: 'datacontenttype',
      message: 'datacontenttype must be an RFC 2046 media type such as "application/json" or "text/plain; charset=utf-8", got "json"',
    });
  });

  it('data_base64: valid alone, never with data, standard padded base64 only', () => {
    expect(validateEvent({ ...base, data_base64: 'aGk=' }).data_base64).toBe('aGk=');
    expect(validateEvent({ ...base, data_base64: 'aGk=', data: null }).data_base64).toBe('aGk=');
    expect(errorOf({ ...base, data_base64: 'aGk=', data: 'x' })).toEqual({ error: 'invalid_data', attribute: 'data_base64', message: 'an event has either data or data_base64, not both: remove one of them' });
    expect(errorOf({ ...base, data_base64: 'aGk' })).toEqual({ error: 'invalid_data', attribute: 'data_base64', message: 'data_base64 must be standard padded base64 (RFC 4648) such as "aGVsbG8=", got "aGk"' });
    expect(errorOf({ ...base, data_base64: 12 }).message).toBe('data_base64 must be standard padded base64 (RFC 4648) such as "aGVsbG8=", got 12');
  });

  it('extension names: lower-case a-z and 0-9, with a suggested rename', () => {
    expect(errorOf({ ...base, My_Ext: 'x' })).toEqual({
      error: 'invalid_attribute',
      attribute: 'My_Ext',
      message: 'extension attribute name "My_Ext" is invalid: names use only lower-case letters a-z and digits 0-9 (rename it, e.g. "myext")',
    });
    expect(errorOf({ ...base, 'Tenant-ID2': 'x' }).message).toContain('(rename it, e.g. "tenantid2")');
    expect(errorOf({ ...base, __: 'x' }).message).toContain('(rename it, e.g. "myext")');
  });

  it('extension values: strings, booleans and 32-bit integers only', () => {
    const ok = validateEvent({ ...base, s: 'x', t: true, f: false, max: 2147483647, min: -2147483648, zero: 0 });
    expect([ok.s, ok.t, ok.f, ok.max, ok.min, ok.zero]).toEqual(['x', true, false, 2147483647, -2147483648, 0]);
    const range = (v: number) => `extension n must be an integer between -2147483648 and 2147483647 (or a string), got ${v}`;
    for (const v of [2147483648, -2147483649, 1.5]) expect(errorOf({ ...base, n: v })).toEqual({ error: 'invalid_attribute', attribute: 'n', message: range(v) });
    const kind = (what: string) => `extension e must be a string, an integer or a boolean, got ${what}: send structured values in data instead`;
    expect(errorOf({ ...base, e: { a: 1 } })).toEqual({ error: 'invalid_attribute', attribute: 'e', message: kind('an object') });
    expect(errorOf({ ...base, e: [1] }).message).toBe(kind('an array'));
    expect(errorOf({ ...base, e: 1n }).message).toBe(kind('bigint'));
  });

  it('null means absent: the event comes back as it was when nothing is null, without the null members otherwise', () => {
    const clean = { ...base, subject: 's', data: { a: 1 } };
    expect(validateEvent(clean)).toBe(clean);
    const withNulls = { ...base, subject: null, ext: null, data: null, time: '2026-01-01T00:00:00Z' };
    const out = validateEvent(withNulls);
    expect(out).not.toBe(withNulls);
    expect(out).toEqual({ ...base, time: '2026-01-01T00:00:00Z' });
    expect(Object.keys(out)).toEqual(['specversion', 'id', 'source', 'type', 'time']);
  });
});

describe('extensionsOf and dataBytes', () => {
  it('extensionsOf: every attribute that is neither core nor a JSON member', () => {
    const ev = validateEvent({ ...base, subject: 's', time: '2026-01-01T00:00:00Z', datacontenttype: 'application/json', dataschema: 'urn:s', data: 1, tenant: 't', n: 3, b: false }) as CloudEventJson;
    expect(extensionsOf(ev)).toEqual({ tenant: 't', n: 3, b: false });
    expect(extensionsOf(validateEvent({ ...base, data_base64: 'aGk=' }))).toEqual({});
  });

  it('dataBytes: base64 decoded, text as UTF-8 for non-JSON types, JSON serialized, none without data', () => {
    expect(dataBytes({ ...base, data_base64: 'aGk=' } as CloudEventJson)).toEqual(Buffer.from('hi'));
    expect(dataBytes({ ...base, datacontenttype: 'text/plain', data: 'héllo' } as CloudEventJson)).toEqual(Buffer.from('héllo', 'utf8'));
    expect(dataBytes({ ...base, data: 'hi' } as CloudEventJson)).toEqual(Buffer.from('"hi"'));
    expect(dataBytes({ ...base, datacontenttype: 'application/ld+json', data: 'hi' } as CloudEventJson)).toEqual(Buffer.from('"hi"'));
    expect(dataBytes({ ...base, data: { a: [1] } } as CloudEventJson)).toEqual(Buffer.from('{"a":[1]}'));
    expect(dataBytes({ ...base, data: 0 } as CloudEventJson)).toEqual(Buffer.from('0'));
    expect(dataBytes({ ...base } as CloudEventJson)).toBeUndefined();
    expect(dataBytes({ ...base, data: null } as CloudEventJson)).toBeUndefined();
  });
});
