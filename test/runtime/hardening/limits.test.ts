/**
 * The pure parts of the hardening: the JSON depth scanner, the delivery limit derived
 * from a delivery spec, the dead letter built for an undeliverable message, and patterns
 * the ReDoS check made us rewrite as loops.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { EXT_ERROR_DATA, EXT_ERROR_DEST, labelValue } from '../../../constructs/api';
import { exceedsJsonDepth, jsonDepth, validateEvent } from '../../../runtime/cloudevents';
import { CHANNEL_MAX_DELIVERIES, deliveryLimit, undeliverableDeadLetter, UNDELIVERABLE_EVENT_TYPE } from '../../../runtime/dispatcher/delivery/undeliverable';

const b = (s: string) => Buffer.from(s);

describe('jsonDepth / exceedsJsonDepth', () => {
  test.each([
    ['1', 0],
    ['"[[[["', 0],
    ['{}', 1],
    ['[1,[2,[3]]]', 3],
    ['{"a":[{}]}', 3],
    ['{"a":"\\"[[[[","b":[]}', 2],
    ['["\\\\",[]]', 2],
    ['{"é":[["ü"]]}', 3],
  ])('%s has depth %d', (text, depth) => {
    expect(jsonDepth(b(text))).toBe(depth);
    expect(exceedsJsonDepth(b(text), depth)).toBe(false);
    if (depth > 0) expect(exceedsJsonDepth(b(text), depth - 1)).toBe(true);
  });
});

describe('deliveryLimit', () => {
  test.each([
    [0, 10],
    [9, 10],
    [10, 11],
    [50, 51],
    [99, 100],
    [1000, 100],
  ])('retry %d -> at most %d deliveries', (retry, limit) => {
    expect(deliveryLimit({ retry })).toBe(limit);
    expect(deliveryLimit({ retry })).toBeLessThan(CHANNEL_MAX_DELIVERIES);
  });
});

describe('undeliverableDeadLetter', () => {
  const route = { kind: 'trigger', namespace: 'shop', name: 'orders' };
  test('keeps the original attributes, carries the stored bytes and the reason', () => {
    const stored = b('{"specversion":"1.0","id":"e1","source":"/s","type":"t","datacontenttype":"application/json","myext":"x","data":[[]]}');
    const dead = undeliverableDeadLetter(stored, { specversion: '1.0', id: 'e1', source: '/s', type: 't', datacontenttype: 'application/json', myext: 'x', data: [[]] }, 'http://sub/', route, 'cannot encode');
    expect(validateEvent(dead)).toBe(dead);
    expect(dead).toMatchObject({ id: 'e1', source: '/s', type: 't', myext: 'x', datacontenttype: 'application/octet-stream', [EXT_ERROR_DEST]: 'http://sub/' });
    expect(dead.data).toBeUndefined();
    expect(Buffer.from(dead.data_base64!, 'base64').equals(stored)).toBe(true);
    expect(Buffer.from(String(dead[EXT_ERROR_DATA]), 'base64').toString()).toBe('cannot encode');
  });
  test('for bytes that are no event: a valid event whose id depends only on the bytes', () => {
    const bytes = b('not json');
    const one = undeliverableDeadLetter(bytes, undefined, 'trigger shop/orders', route, 'not a CloudEvent');
    const again = undeliverableDeadLetter(bytes, undefined, 'trigger shop/orders', route, 'not a CloudEvent');
    const other = undeliverableDeadLetter(b('other'), undefined, 'trigger shop/orders', route, 'not a CloudEvent');
    expect(validateEvent(one)).toBe(one);
    expect(one).toMatchObject({ type: UNDELIVERABLE_EVENT_TYPE, source: '/event-mesh/dispatcher/trigger/shop/orders' });
    expect(one.id).toBe(again.id);
    expect(one.id).not.toBe(other.id);
  });
});

describe('patterns rewritten as loops keep their results', () => {
  test('labelValue gives what the regex-trimming version gave (fast-check, 2,000 names)', () => {
    const old = (value: string): string => {
      if (value.length <= 63 && (value === '' || /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(value))) return value;
      const hash = createHash('sha256').update(value).digest('hex').slice(0, 8);
      const head = value.replace(/[^-A-Za-z0-9_.]/g, '-').slice(0, 63 - hash.length - 1).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
      return head ? `${head}-${hash}` : hash;
    };
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 140 }), fc.stringMatching(/^[-._a-z0-9]{0,140}$/)), (name) => {
        expect(labelValue(name)).toBe(old(name));
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});
