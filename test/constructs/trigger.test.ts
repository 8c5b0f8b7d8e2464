import { Chart, Testing } from 'cdk8s';
import { DELIVERY_ORDER_ANNOTATION, EventMesh, MAX_IN_FLIGHT_ANNOTATION, Sink, Trigger } from '../../constructs';
import { find, synth } from '../support/synth';
import { validateManifests, type Manifest } from '../support/validate-manifests';

let chart: Chart;
beforeEach(() => {
  chart = new Chart(Testing.app(), 'c');
  new EventMesh(chart, 'mesh', { namespaces: ['ns'] });
});

const render = (name: string): Manifest => {
  const manifests = synth(chart);
  validateManifests(manifests);
  return find(manifests, 'Trigger', name, 'ns');
};

test('filter on type, eventtypeversion, source and an extension attribute', () => {
  new Trigger(chart, 't', { namespace: 'ns', filter: { type: 'a.b', eventtypeversion: 'v2', source: 'shop', region: 'eu', subject: undefined }, subscriber: Sink.service('fn') });
  expect((render('t').spec as any).filter).toEqual({ attributes: { type: 'a.b', eventtypeversion: 'v2', source: 'shop', region: 'eu' } });
});

test('the filters dialect: exact, prefix, suffix, all, any, not', () => {
  const filters = [
    { all: [{ exact: { source: 'shop' } }, { prefix: { type: 'order.' } }] },
    { any: [{ suffix: { type: '.v1' } }, { not: { exact: { region: 'us' } } }] },
  ];
  new Trigger(chart, 't', { namespace: 'ns', filters, subscriber: Sink.service('fn') });
  expect((render('t').spec as any).filters).toEqual(filters);
});

test.each([
  ['a Kubernetes Service', Sink.service('fn', { path: '/events' }), { ref: { apiVersion: 'v1', kind: 'Service', name: 'fn' }, uri: '/events' }],
  ['a Knative Service', Sink.knativeService('fn', { namespace: 'other' }), { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'fn', namespace: 'other' } }],
  ['a Kyma Function', Sink.function('fn'), { ref: { apiVersion: 'serverless.kyma-project.io/v1alpha2', kind: 'Function', name: 'fn' } }],
  ['a URI', Sink.uri('https://hooks.example.com/e'), { uri: 'https://hooks.example.com/e' }],
])('subscriber: %s', (_kind, subscriber, expected) => {
  new Trigger(chart, 't', { namespace: 'ns', subscriber });
  expect((render('t').spec as any).subscriber).toEqual(expected);
});

test('ordering and maxInFlight become annotations; the delivery spec stays Knative\'s', () => {
  new Trigger(chart, 'ordered', { namespace: 'ns', subscriber: Sink.service('fn'), delivery: { ordering: 'ordered', retry: 2 } });
  new Trigger(chart, 'parallel', { namespace: 'ns', subscriber: Sink.service('fn'), delivery: { ordering: 'parallel', maxInFlight: 32, timeout: 'PT5S' } });
  const ordered = render('ordered');
  expect(ordered.metadata!.annotations).toEqual({ [DELIVERY_ORDER_ANNOTATION]: 'ordered' });
  expect((ordered.spec as any).delivery).toEqual({ retry: 2 });
  const parallel = render('parallel');
  expect(parallel.metadata!.annotations).toEqual({ [DELIVERY_ORDER_ANNOTATION]: 'unordered', [MAX_IN_FLIGHT_ANNOTATION]: '32' });
  expect((parallel.spec as any).delivery).toEqual({ timeout: 'PT5S' });
});

test('name and namespace defaults: the construct id and the chart namespace', () => {
  const app = Testing.app();
  const team = new Chart(app, 'team', { namespace: 'ns' });
  new EventMesh(team, 'mesh', { namespaces: ['ns'] });
  const trigger = new Trigger(team, 'on-signup', { subscriber: Sink.service('fn') });
  expect([trigger.name, trigger.namespace, trigger.broker]).toEqual(['on-signup', 'ns', 'default']);
  expect(() => synth(team)).not.toThrow();
});
