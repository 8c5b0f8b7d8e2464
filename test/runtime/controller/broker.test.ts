/** Broker status and the namespace injection labels, as tables. */
import { reconcileAll, type ControllerContext } from '../../../runtime/controller/reconcile-all';
import { broker, clock, mapping, namespace, application } from '../../support/controller-objects';

const ctx: ControllerContext = { now: clock('2026-12-01T20:00:00.000Z') };
const T = '2026-12-01T20:00:00Z';

test('a Broker of our class: Ready with address.url (its ingress on the dispatcher)', () => {
  const desired = reconcileAll([broker('shop', 'default', { class: 'EventMeshBroker', generation: 3 })], ctx);
  expect(desired.status).toEqual([{
    ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', namespace: 'shop', name: 'default' },
    status: {
      observedGeneration: 3,
      address: { url: 'http://event-mesh-broker-ingress.event-mesh-system.svc.cluster.local/shop/default' },
      conditions: [
        { type: 'Ready', status: 'True', lastTransitionTime: T },
        { type: 'Addressable', status: 'True', lastTransitionTime: T },
        { type: 'DeliveryValid', status: 'True', lastTransitionTime: T },
      ],
    },
  }]);
  expect(desired.apply).toEqual([]);
});

test('the address follows the controller\'s addressing', () => {
  const desired = reconcileAll([broker('shop')], { ...ctx, mesh: { addressing: { systemNamespace: 'mesh', clusterDomain: 'example.internal' } } });
  expect((desired.status[0].status as { address: unknown }).address).toEqual({ url: 'http://event-mesh-broker-ingress.mesh.svc.example.internal/shop/default' });
});

test('a Broker with an invalid delivery: Ready=False InvalidDelivery naming the field', () => {
  const desired = reconcileAll([broker('shop', 'default', { spec: { delivery: { backoffDelay: '5s' } } })], ctx);
  const ready = (desired.status[0].status as { conditions: { type: string }[] }).conditions[0];
  expect(ready).toMatchObject({ type: 'Ready', status: 'False', reason: 'InvalidDelivery', message: expect.stringContaining('spec.delivery.backoffDelay must be an ISO-8601 duration') });
});

test('a Broker of another class: no status, one note for the log at info', () => {
  const desired = reconcileAll([broker('shop', 'default', { class: 'MTChannelBasedBroker' })], ctx);
  expect(desired.status).toEqual([]);
  expect(desired.notes).toEqual([{
    key: 'foreign-broker/shop/default/MTChannelBasedBroker',
    level: 'info',
    ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', namespace: 'shop', name: 'default' },
    message: 'broker shop/default has class "MTChannelBasedBroker": left to that class\'s controller, with its Triggers',
  }]);
});

describe('namespace injection labels', () => {
  const brokers = (observed: Parameters<typeof reconcileAll>[0]) => reconcileAll(observed, ctx).apply.filter((o) => o.kind === 'Broker');

  test.each([
    ['knative-eventing-injection=enabled', { 'knative-eventing-injection': 'enabled' }, 1],
    ['eventing.knative.dev/injection=enabled', { 'eventing.knative.dev/injection': 'enabled' }, 1],
    ['knative-eventing-injection=disabled', { 'knative-eventing-injection': 'disabled' }, 0],
    ['no label', {}, 0],
  ])('%s', (_name, labels, count) => {
    const created = brokers([namespace('shop', { labels })]);
    expect(created).toHaveLength(count);
    if (count) {
      expect(created[0]).toEqual({
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Broker',
        metadata: {
          name: 'default',
          namespace: 'shop',
          labels: { 'app.kubernetes.io/name': 'default', 'app.kubernetes.io/component': 'broker', 'app.kubernetes.io/part-of': 'event-mesh' },
          annotations: { 'eventing.knative.dev/broker.class': 'EventMeshBroker' },
        },
        spec: {},
      });
    }
  });

  test('an existing default Broker, of any class, is never applied over; nothing is ever deleted', () => {
    const observed = [namespace('shop', { labels: { 'knative-eventing-injection': 'enabled' } }), broker('shop', 'default', { class: 'MTChannelBasedBroker' })];
    const desired = reconcileAll(observed, ctx);
    expect(desired.apply).toEqual([]);
    expect(desired.delete).toEqual([]);
  });

  test('a label removed: the Broker stays (no delete)', () => {
    expect(reconcileAll([namespace('shop'), broker('shop')], ctx).delete).toEqual([]);
  });

  test('a namespace both labelled and mapped gets one Broker', () => {
    const created = brokers([namespace('shop', { labels: { 'knative-eventing-injection': 'enabled' } }), application('commerce'), mapping('commerce', 'shop')]);
    expect(created).toHaveLength(1);
  });
});
