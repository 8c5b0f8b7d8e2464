/** Trigger status, as a table: observed objects in, the Trigger's status out. */
import { reconcileAll, type ControllerContext } from '../../../runtime/controller/reconcile-all';
import { TriggerReason } from '../../../runtime/controller/trigger/conditions';
import type { ObservedObject } from '../../../runtime/controller/objects';
import { broker, clock, trigger } from '../../support/controller-objects';

const ctx: ControllerContext = { now: clock('2026-12-01T20:00:00.000Z') };
const T = '2026-12-01T20:00:00Z';
const svc = (name: string) => ({ ref: { apiVersion: 'v1', kind: 'Service', name } });
const spec = (extra: Record<string, unknown> = {}) => ({ broker: 'default', subscriber: svc('fn'), ...extra });

function statusOf(observed: ObservedObject[], name = 't') {
  return reconcileAll(observed, ctx).status.find((s) => s.ref.kind === 'Trigger' && s.ref.name === name)?.status as
    { conditions: { type: string; status: string; reason?: string; message?: string }[]; [k: string]: unknown } | undefined;
}
const cond = (status: ReturnType<typeof statusOf>, type: string) => status!.conditions.find((c) => c.type === type);

test('a Trigger on a missing broker: Ready=False, reason BrokerDoesNotExist', () => {
  const status = statusOf([trigger('shop', 't', spec({ broker: 'nope' }))]);
  expect(status).toEqual({
    observedGeneration: 1,
    subscriberUri: 'http://fn.shop.svc.cluster.local',
    conditions: [
      { type: 'Ready', status: 'False', reason: 'BrokerDoesNotExist', message: 'Broker "nope" does not exist in namespace "shop"', lastTransitionTime: T },
      { type: 'BrokerReady', status: 'False', reason: 'BrokerDoesNotExist', message: 'Broker "nope" does not exist in namespace "shop"', lastTransitionTime: T },
      { type: 'SubscriberResolved', status: 'True', lastTransitionTime: T },
      { type: 'DependencyReady', status: 'True', lastTransitionTime: T },
      { type: 'SpecValid', status: 'True', lastTransitionTime: T },
    ],
  });
});

test('a Trigger on a ready broker of ours: Ready=True with subscriberUri and deadLetterSinkUri', () => {
  const status = statusOf([broker('shop'), trigger('shop', 't', spec({ delivery: { deadLetterSink: { uri: 'http://dls.example/x' } } }), { generation: 4 })]);
  expect(status).toMatchObject({ observedGeneration: 4, subscriberUri: 'http://fn.shop.svc.cluster.local', deadLetterSinkUri: 'http://dls.example/x' });
  expect(status!.conditions.every((c) => c.status === 'True')).toBe(true);
});

test('the dead letter sink falls back to the broker\'s delivery', () => {
  const b = broker('shop', 'default', { spec: { delivery: { deadLetterSink: svc('dead') } } });
  expect(statusOf([b, trigger('shop', 't', spec())])!.deadLetterSinkUri).toBe('http://dead.shop.svc.cluster.local');
});

test.each([
  ['an unaddressable subscriber kind', spec({ subscriber: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' } } }), 'SubscriberResolved', TriggerReason.UnresolvedSubscriber, /cannot address a Deployment/],
  ['an invalid filter attribute', spec({ filter: { attributes: { 'Bad-Name': 'x' } } }), 'SpecValid', TriggerReason.InvalidSpec, /attribute name "Bad-Name" must match/],
  ['an empty prefix filter', spec({ filters: [{ prefix: { type: '' } }] }), 'SpecValid', TriggerReason.InvalidSpec, /must not be empty/],
])('%s: Ready=False naming the field', (_name, triggerSpec, type, reason, message) => {
  const status = statusOf([broker('shop'), trigger('shop', 't', triggerSpec)]);
  expect(cond(status, type)).toMatchObject({ status: 'False', reason });
  expect(cond(status, type)!.message).toMatch(message);
  expect(cond(status, 'Ready')).toMatchObject({ status: 'False', reason });
});

test('a bad max-in-flight annotation is the dispatcher\'s RoutingProblem, shown as SpecValid=False', () => {
  const t = trigger('shop', 't', spec(), { annotations: { 'event-mesh.dev/delivery.max-in-flight': '0' } });
  expect(cond(statusOf([broker('shop'), t]), 'SpecValid')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringMatching(/max-in-flight must be a whole number from 1 to 1000/) });
});

test('a broker of our class with an invalid delivery makes its Triggers BrokerReady=False', () => {
  const b = broker('shop', 'default', { spec: { delivery: { retry: -1 } } });
  expect(cond(statusOf([b, trigger('shop', 't', spec())]), 'BrokerReady')).toMatchObject({ status: 'False', reason: 'InvalidDelivery' });
});

test('a Trigger on a broker of another class is not ours: no status', () => {
  expect(statusOf([broker('shop', 'default', { class: 'MTChannelBasedBroker' }), trigger('shop', 't', spec())])).toBeUndefined();
});

test('spec.broker defaults to "default", as in v1alpha1', () => {
  const status = statusOf([broker('shop'), trigger('shop', 't', { subscriber: svc('fn') })]);
  expect(cond(status, 'BrokerReady')).toMatchObject({ status: 'True' });
});

test.each([
  ['not JSON', 'x', 'False', TriggerReason.InvalidDependency],
  ['a watched kind that does not exist', JSON.stringify({ apiVersion: 'sources.kyma-project.io/v1alpha1', kind: 'HTTPSource', name: 'nope' }), 'False', TriggerReason.DependencyDoesNotExist],
  ['a kind the controller does not watch', JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Thing', name: 'x' }), 'Unknown', TriggerReason.DependencyNotObserved],
])('knative.dev/dependency is %s: DependencyReady false or unknown with its reason', (_name, annotation, status, reason) => {
  const t = trigger('shop', 't', spec(), { annotations: { 'knative.dev/dependency': annotation } });
  expect(cond(statusOf([broker('shop'), t]), 'DependencyReady')).toMatchObject({ status, reason });
});

test('a dependency that exists and is Ready makes DependencyReady=True', () => {
  const dep = { apiVersion: 'sources.kyma-project.io/v1alpha1', kind: 'HTTPSource', metadata: { name: 'src', namespace: 'shop' }, spec: { source: 'x' }, status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: T }] } };
  const t = trigger('shop', 't', spec(), { annotations: { 'knative.dev/dependency': JSON.stringify({ apiVersion: dep.apiVersion, kind: dep.kind, name: 'src' }) } });
  expect(cond(statusOf([broker('shop'), dep, t]), 'DependencyReady')).toMatchObject({ status: 'True' });
});

test('a broker that appears flips the Trigger to Ready and moves lastTransitionTime; a second pass keeps it', () => {
  const before = statusOf([trigger('shop', 't', spec())])!;
  const later: ControllerContext = { now: clock('2026-12-01T21:00:00.000Z') };
  const observed = [broker('shop'), trigger('shop', 't', spec(), { status: before })];
  const after = reconcileAll(observed, later).status.find((s) => s.ref.kind === 'Trigger')!.status as typeof before;
  expect(after.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', lastTransitionTime: '2026-12-01T21:00:00Z' });
  expect((after.conditions.find((c) => c.type === 'SubscriberResolved') as { lastTransitionTime?: string }).lastTransitionTime).toBe(T);
  const again = reconcileAll([broker('shop'), trigger('shop', 't', spec(), { status: after })], { now: clock('2026-12-01T22:00:00.000Z') });
  expect(again.status.find((s) => s.ref.kind === 'Trigger')!.status).toEqual(after);
});
