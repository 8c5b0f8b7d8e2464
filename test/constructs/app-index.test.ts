/**
 * The per-App index validation looks Brokers up in: one tree walk per synthesis pass, never
 * stale across passes.
 */
import { ApiObject, App, Chart, Testing } from 'cdk8s';
import { Broker, Sink, Trigger } from '../../constructs';
import { appIndexOf, buildAppIndex } from '../../constructs/app-index';

test('indexes every Broker object by namespace, whichever construct made it', () => {
  const app = Testing.app();
  const chart = new Chart(app, 'c');
  new Broker(chart, 'b1', { namespace: 'shop' });
  new Broker(chart, 'b2', { namespace: 'shop', name: 'orders' });
  new ApiObject(chart, 'raw', { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'raw', namespace: 'other' } });
  new ApiObject(chart, 'not-a-broker', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'default', namespace: 'third' } });
  const index = buildAppIndex(app);
  expect(Object.fromEntries(index.brokersByNamespace)).toEqual({ shop: ['default', 'orders'], other: ['raw'] });
});

test('a Broker added after a failed synthesis is seen by the next one, in the same tick', () => {
  const app = new App({ outdir: 'dist' });
  const chart = new Chart(app, 'c');
  new Trigger(chart, 't', { namespace: 'shop', subscriber: Sink.service('fn') });
  expect(() => app.synthYaml()).toThrow(/no such broker/);
  new Broker(chart, 'b', { namespace: 'shop' });
  expect(() => app.synthYaml()).not.toThrow();
});

test('one tree walk per validation pass, however many Triggers', () => {
  const app = new App({ outdir: 'dist' });
  const chart = new Chart(app, 'c');
  new Broker(chart, 'b', { namespace: 'shop' });
  for (let i = 0; i < 50; i++) new Trigger(chart, `t${i}`, { namespace: 'shop', subscriber: Sink.service('fn') });
  const walk = jest.spyOn(app.node, 'findAll');
  // The App's own validation first (as cdk8s runs a pass), then every Trigger's.
  for (const c of app.node.findAll()) c.node.validate();
  const walksInPass = walk.mock.calls.length - 1; // minus the findAll above
  expect(walksInPass).toBe(1);
  expect(appIndexOf(chart).brokersByNamespace.get('shop')).toEqual(['default']);
  walk.mockRestore();
});
