/**
 * Server-side filtering on JetStream, pure part: attribute-carrying subjects and the filter
 * subject a Trigger's compiled filter gives. The property: a server filter may let too much
 * through but never too little.
 */
import fc from 'fast-check';
import {
  ABSENT_TOKEN, attributeToken, EMPTY_TOKEN, filterIsSafe, filterSubjectFor, publishSubjectFor, streamSubjectFor, subjectMatches,
} from '../../runtime/channel/jetstream/subjects';
import { compileTriggerFilter } from '../../runtime/dispatcher/filter';
import type { SubscriptionsApiFilter } from '../../constructs/api';

const TOKEN = /^[A-Za-z0-9_-]+$/;

test('one token for the topic, one per attribute; absent and empty have tokens of their own', () => {
  expect(streamSubjectFor('broker.ns.default')).toBe('emf.broker_ns_default.*.*.*');
  expect(publishSubjectFor('broker.ns.default', { type: 'user.created', source: 'commerce', eventtypeversion: 'v1' })).toBe('emf.broker_ns_default.user_created.commerce.v1');
  expect(publishSubjectFor('t', { type: 'a', source: '' })).toBe(`emf.t.a.${EMPTY_TOKEN}.${ABSENT_TOKEN}`);
  expect(publishSubjectFor('t')).toBe(`emf.t.${ABSENT_TOKEN}.${ABSENT_TOKEN}.${ABSENT_TOKEN}`);
  expect(publishSubjectFor('t', { type: 'a b*>', source: 's', eventtypeversion: 2 })).toBe("emf.t.a_X20b_X2A_X3E.s.2");
  expect(filterSubjectFor('t', { type: 'a', region: 'eu' })).toBe('emf.t.a.*.*');
  expect(filterSubjectFor('t', { region: 'eu' })).toBeUndefined();
  expect(filterSubjectFor('t', undefined)).toBeUndefined();
});

test('tokens are valid NATS tokens and never the same for two values (nor for absent / empty)', () => {
  fc.assert(
    fc.property(fc.option(fc.string({ unit: 'binary' }), { nil: undefined }), fc.option(fc.string({ unit: 'binary' }), { nil: undefined }), (a, b) => {
      const ta = attributeToken(a);
      expect(ta).toMatch(TOKEN);
      if (a !== b && (a ?? '').length <= 30 && (b ?? '').length <= 30) expect(ta).not.toBe(attributeToken(b));
    }),
    { numRuns: 2000 },
  );
});

test('stream subjects of two topics never overlap', () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), (a, b) => {
      fc.pre(a !== b && a.length <= 60 && b.length <= 60);
      const subject = publishSubjectFor(a, { type: 'x' });
      expect(subjectMatches(streamSubjectFor(a), subject)).toBe(true);
      expect(subjectMatches(streamSubjectFor(b), subject)).toBe(false);
    }),
  );
});

// Small alphabets so that generated filters and events often agree.
const value = fc.constantFrom('a', 'b', 'a.b', '', 'x y', '*', '>', 'é', '1');
const attribute = fc.constantFrom('type', 'source', 'eventtypeversion', 'subject', 'region');
const event = fc.dictionary(attribute, fc.oneof(value, fc.constantFrom(1, true)), { maxKeys: 5 }).map((attrs) => ({ specversion: '1.0', id: 'e', ...attrs }));
const exact = fc.dictionary(attribute, value, { minKeys: 1, maxKeys: 3 });
const leaf: fc.Arbitrary<SubscriptionsApiFilter> = fc.oneof(
  exact.map((e) => ({ exact: e })),
  fc.dictionary(attribute, value, { minKeys: 1, maxKeys: 1 }).map((p) => ({ prefix: p })),
  fc.dictionary(attribute, value, { minKeys: 1, maxKeys: 1 }).map((p) => ({ suffix: p })),
);
const filter: fc.Arbitrary<SubscriptionsApiFilter> = fc.letrec<{ f: SubscriptionsApiFilter }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((all) => ({ all })),
    fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((any) => ({ any })),
    tie('f').map((not) => ({ not })),
  ),
})).f;

test('property: whenever the predicate accepts an event, its subject matches the filter subject (filters dialect)', () => {
  fc.assert(
    fc.property(fc.array(filter, { minLength: 1, maxLength: 3 }), event, (filters, ev) => {
      const compiled = compileTriggerFilter({ filters });
      const fs = filterSubjectFor('broker.ns.default', Object.fromEntries(compiled.requiredExact));
      if (compiled.matches(ev) && fs !== undefined) expect(subjectMatches(fs, publishSubjectFor('broker.ns.default', ev))).toBe(true);
    }),
    { numRuns: 5000 },
  );
});

test('property: the same for spec.filter.attributes', () => {
  fc.assert(
    fc.property(fc.dictionary(attribute, value, { maxKeys: 4 }), event, (attributes, ev) => {
      const compiled = compileTriggerFilter({ filter: { attributes } });
      const fs = filterSubjectFor('t', Object.fromEntries(compiled.requiredExact));
      if (compiled.matches(ev) && fs !== undefined) expect(subjectMatches(fs, publishSubjectFor('t', ev))).toBe(true);
    }),
    { numRuns: 5000 },
  );
});

test('the filter does select: an event with another exact type does not match', () => {
  const fs = filterSubjectFor('t', { type: 'order.created' })!;
  expect(subjectMatches(fs, publishSubjectFor('t', { type: 'order.created', source: 's' }))).toBe(true);
  expect(subjectMatches(fs, publishSubjectFor('t', { type: 'order.deleted', source: 's' }))).toBe(false);
  expect(subjectMatches(fs, publishSubjectFor('t', { source: 's' }))).toBe(false);
});

test('migration: filter only once the ack floor passed the last old-layout event', () => {
  expect(filterIsSafe(0, 0)).toBe(true);
  expect(filterIsSafe(4, 5)).toBe(false);
  expect(filterIsSafe(5, 5)).toBe(true);
});
