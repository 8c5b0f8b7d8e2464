/** Condition sets: Ready derived, lastTransitionTime moves only on a flip (fixed clocks). */
import { ConditionSet, conditionOf, readConditions, rfc3339 } from '../../../runtime/controller/conditions';
import { clock } from '../../support/controller-objects';

const T0 = '2026-12-01T20:00:00.000Z';
const T1 = '2026-12-01T21:30:00.000Z';

test.each([
  { name: 'all true → Ready True', marks: (s: ConditionSet) => s.markTrue('A').markTrue('B'), ready: { status: 'True' } },
  { name: 'one false → Ready False with its reason', marks: (s: ConditionSet) => s.markTrue('A').markFalse('B', 'BBroke', 'b is broken'), ready: { status: 'False', reason: 'BBroke', message: 'b is broken' } },
  { name: 'false wins over unknown, whatever the order', marks: (s: ConditionSet) => s.markUnknown('A', 'AWaiting', 'a').markFalse('B', 'BBroke', 'b'), ready: { status: 'False', reason: 'BBroke' } },
  { name: 'unknown when none false', marks: (s: ConditionSet) => s.markTrue('A').markUnknown('B', 'BWaiting', 'b'), ready: { status: 'Unknown', reason: 'BWaiting' } },
  { name: 'an unmarked dependent keeps Ready Unknown', marks: (s: ConditionSet) => s.markTrue('A'), ready: { status: 'Unknown', reason: 'NotReconciled' } },
])('$name', ({ marks, ready }) => {
  const set = marks(new ConditionSet(['A', 'B'], undefined, clock(T0)));
  expect(set.conditions()[0]).toMatchObject({ type: 'Ready', ...ready, lastTransitionTime: '2026-12-01T20:00:00Z' });
  expect(set.conditions().map((c) => c.type)).toEqual(['Ready', 'A', 'B']);
});

test('a True condition carries no reason or message', () => {
  const set = new ConditionSet(['A'], undefined, clock(T0)).markFalse('A', 'X', 'y').markTrue('A');
  expect(set.conditions()[1]).toEqual({ type: 'A', status: 'True', lastTransitionTime: '2026-12-01T20:00:00Z' });
});

test('lastTransitionTime stays when the status stays (even if the reason changes), moves when it flips', () => {
  const first = new ConditionSet(['A', 'B'], undefined, clock(T0)).markTrue('A').markFalse('B', 'One', 'first');
  const previous = { conditions: first.conditions() };
  const second = new ConditionSet(['A', 'B'], previous, clock(T1)).markTrue('A').markFalse('B', 'Two', 'second');
  expect(second.conditions()).toEqual([
    { type: 'Ready', status: 'False', reason: 'Two', message: 'second', lastTransitionTime: '2026-12-01T20:00:00Z' },
    { type: 'A', status: 'True', lastTransitionTime: '2026-12-01T20:00:00Z' },
    { type: 'B', status: 'False', reason: 'Two', message: 'second', lastTransitionTime: '2026-12-01T20:00:00Z' },
  ]);
  const third = new ConditionSet(['A', 'B'], { conditions: second.conditions() }, clock(T1)).markTrue('A').markTrue('B');
  expect(third.conditions()).toEqual([
    { type: 'Ready', status: 'True', lastTransitionTime: '2026-12-01T21:30:00Z' },
    { type: 'A', status: 'True', lastTransitionTime: '2026-12-01T20:00:00Z' },
    { type: 'B', status: 'True', lastTransitionTime: '2026-12-01T21:30:00Z' },
  ]);
});

test('propagate copies a child condition, and a missing child is Unknown with the given reason', () => {
  const child = { type: 'Ready', status: 'False' as const, reason: 'ChildBroke', message: 'child', lastTransitionTime: 'x' };
  const set = new ConditionSet(['A', 'B'], undefined, clock(T0))
    .propagate('A', child, { reason: 'NoChild', message: 'none' })
    .propagate('B', undefined, { reason: 'NoChild', message: 'none' });
  expect(set.conditions().slice(1)).toEqual([
    { type: 'A', status: 'False', reason: 'ChildBroke', message: 'child', lastTransitionTime: '2026-12-01T20:00:00Z' },
    { type: 'B', status: 'Unknown', reason: 'NoChild', message: 'none', lastTransitionTime: '2026-12-01T20:00:00Z' },
  ]);
});

test('marking a condition outside the set is a programming error', () => {
  expect(() => new ConditionSet(['A'], undefined, clock(T0)).markTrue('Ready')).toThrow(/condition Ready is not in this set \(A\)/);
});

test('malformed previous conditions are ignored, not trusted', () => {
  expect(readConditions({ conditions: [{ type: 'A', status: 'Maybe' }, null, 'x', { type: 'B', status: 'True', lastTransitionTime: 't' }] }))
    .toEqual([{ type: 'B', status: 'True', lastTransitionTime: 't' }]);
  expect(readConditions({ conditions: 'nope' })).toEqual([]);
  expect(conditionOf({ status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: 't' }] } })?.status).toBe('True');
  expect(rfc3339(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03:04:05Z');
});
