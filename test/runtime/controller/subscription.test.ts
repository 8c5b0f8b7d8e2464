/** Subscription status, as a table: ChannelReady and ReferencesResolved, with the resolved URIs. */
import { reconcileAll, type ControllerContext } from '../../../runtime/controller/reconcile-all';
import type { ObservedObject } from '../../../runtime/controller/objects';
import { channel, clock, subscription } from '../../support/controller-objects';

const ctx: ControllerContext = { now: clock('2026-12-01T20:00:00.000Z') };
const NS = 'kyma-integration';
const toBroker = { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: 'shop' } };
const spec = (extra = {}) => ({ channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'commerce' }, subscriber: toBroker, ...extra });

function statusOf(observed: ObservedObject[]) {
  return reconcileAll(observed, ctx).status.find((s) => s.ref.kind === 'Subscription')?.status as
    { physicalSubscription?: Record<string, string>; conditions: { type: string; status: string; reason?: string; message?: string }[] } | undefined;
}

test('on an existing channel of ours: Ready, the broker\'s ingress as subscriberUri', () => {
  const status = statusOf([channel(NS, 'commerce'), subscription(NS, 's', spec({ reply: { uri: 'http://reply.example/' } }))])!;
  expect(status.conditions.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=True', 'ChannelReady=True', 'ReferencesResolved=True']);
  expect(status.physicalSubscription).toEqual({
    subscriberUri: 'http://event-mesh-broker-ingress.event-mesh-system.svc.cluster.local/shop/default',
    replyUri: 'http://reply.example/',
  });
});

test.each([
  ['a missing channel', [subscription(NS, 's', spec())], 'ChannelReady', 'ChannelNotFound', /Channel "commerce" not found in namespace "kyma-integration"/],
  ['an unaddressable subscriber', [channel(NS, 'commerce'), subscription(NS, 's', spec({ subscriber: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' } } }))], 'ReferencesResolved', 'UnresolvedSubscriber', /spec.subscriber: cannot address a Deployment/],
  ['a bad delivery', [channel(NS, 'commerce'), subscription(NS, 's', spec({ delivery: { retry: 1.5 } }))], 'ReferencesResolved', 'InvalidSpec', /spec.delivery.retry must be a whole number/],
])('%s: Ready=False naming the problem', (_name, observed, type, reason, message) => {
  const status = statusOf(observed as ObservedObject[])!;
  const c = status.conditions.find((x) => x.type === type)!;
  expect(c).toMatchObject({ status: 'False', reason });
  expect(c.message).toMatch(message);
  expect(status.conditions[0]).toMatchObject({ type: 'Ready', status: 'False', reason });
});

test('a Subscription on a channel of another implementation (no channel-kind annotation) is not ours', () => {
  const foreign = channel(NS, 'commerce', { annotations: {} });
  expect(statusOf([foreign, subscription(NS, 's', spec())])).toBeUndefined();
});
