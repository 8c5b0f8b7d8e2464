/** Sink.fromService / Sink.service: cdk8s-plus Services as subscribers, at their actual port. */
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { destinationUrl } from '../../constructs/api';
import { findUnmappedServices, parseServiceMap } from '../../runtime/dev/discovery';
import { resolveTarget } from '../../runtime/dispatcher/delivery/targets';
import { buildRoutingTable } from '../../runtime/dispatcher/routing';
import { EventMesh, Sink, Trigger } from '../../constructs';
import { find, synth } from '../support/synth';
import { validateManifests } from '../support/validate-manifests';

const chartIn = (namespace?: string) => {
  const chart = new Chart(Testing.app(), 'c', namespace ? { namespace } : {});
  new EventMesh(chart, 'mesh', { namespaces: ['ns'] });
  return chart;
};

test('a kplus Service on port 80 is a Service reference, namespaced like its chart', () => {
  const chart = chartIn('ns');
  const svc = new kplus.Service(chart, 'fn', { ports: [{ port: 80, targetPort: 8080 }] });
  const subscriber = Sink.fromService(svc, { path: '/events' });
  expect(subscriber).toEqual({ ref: { apiVersion: 'v1', kind: 'Service', name: svc.name, namespace: 'ns' }, uri: '/events' });
  new Trigger(chart, 't', { namespace: 'ns', subscriber });
  const manifests = synth(chart);
  validateManifests(manifests);
  expect((find(manifests, 'Trigger', 't', 'ns').spec as any).subscriber).toEqual(subscriber);
  expect(destinationUrl(subscriber, 'ns')).toBe(`http://${svc.name}.ns.svc.cluster.local/events`);
});

test('a Service on 8080 only is addressed at 8080: the URL carries the port', () => {
  const chart = chartIn('shop');
  const svc = new kplus.Service(chart, 'orders', { ports: [{ port: 8080 }] });
  const subscriber = Sink.from(svc, { path: 'hooks/orders' });
  expect(subscriber).toEqual({ uri: `http://${svc.name}.shop.svc.cluster.local:8080/hooks/orders` });
  expect(new URL(destinationUrl(subscriber, 'ns')).port).toBe('8080');
});

test("a Deployment's exposed Service becomes a subscriber through exposeViaService()", () => {
  const chart = chartIn('ns');
  const deployment = new kplus.Deployment(chart, 'display', { containers: [{ image: 'event-display', portNumber: 8080, securityContext: { ensureNonRoot: false } }] });
  const svc = deployment.exposeViaService({ ports: [{ port: 80, targetPort: 8080 }] });
  new Trigger(chart, 't', { namespace: 'ns', subscriber: Sink.fromService(svc) });
  const manifests = synth(chart);
  validateManifests(manifests);
  const trigger = find(manifests, 'Trigger', 't', 'ns').spec as any;
  const service = manifests.find((m) => m.kind === 'Service' && m.metadata?.name === trigger.subscriber.ref.name)!;
  expect(service).toBeDefined();
  expect((service.spec as any).ports).toEqual([expect.objectContaining({ port: 80, targetPort: 8080 })]);
});

test('a port the Service does not have fails with its ports, the fix and the construct path', () => {
  const chart = chartIn('ns');
  const svc = new kplus.Service(chart, 'fn', { ports: [{ port: 8080 }, { port: 9090 }] });
  expect(() => Sink.fromService(svc, { port: 80 })).toThrow(/service "c-fn-c8[0-9a-f]*" has no port 80 \(its ports: 8080, 9090\); pass one of its ports to Sink.fromService, or bind 80 on the Service .* \(at c\/fn\)/);
  expect(() => Sink.fromService(svc)).toThrow(/has several ports \(8080, 9090\) and none is 80; pass \{ port \} with one of 8080, 9090 .*\(at c\/fn\)/);
  expect(Sink.fromService(svc, { port: 9090 })).toEqual({ uri: `http://${svc.name}.ns.svc.cluster.local:9090/` });
});

test('a Service without ports, or without a namespace for a URL, fails naming the fix', () => {
  const chart = chartIn();
  const bare = new kplus.Service(chart, 'bare', { selector: kplus.Pods.select(chart, 'sel', { labels: { app: 'x' } }) });
  expect(() => Sink.fromService(bare)).toThrow(/has no ports to deliver events to; add a port first .*\(at c\/bare\)/);
  const alt = new kplus.Service(chart, 'alt', { ports: [{ port: 3000 }] });
  expect(() => Sink.fromService(alt)).toThrow(/is addressed on port 3000, by URL, but has no namespace; give its chart a namespace, pass \{ namespace \}/);
  expect(Sink.fromService(alt, { namespace: 'ns' })).toEqual({ uri: `http://${alt.name}.ns.svc.cluster.local:3000/` });
});

test('Sink.service(name, { port, namespace, path })', () => {
  expect(Sink.service('fn', { port: 80, path: '/e' })).toEqual({ ref: { apiVersion: 'v1', kind: 'Service', name: 'fn' }, uri: '/e' });
  expect(Sink.service('fn', { port: 8080, namespace: 'shop', path: '/e' })).toEqual({ uri: 'http://fn.shop.svc.cluster.local:8080/e' });
  expect(() => Sink.service('fn', { port: 8080 })).toThrow(/port other than 80 is addressed by URL, which needs the namespace; pass \{ namespace/);
  expect(() => Sink.service('fn', { port: 0 })).toThrow(/port must be a whole number from 1 to 65535, got 0/);
});

test('event-mesh dev: --map name.namespace covers a Service addressed on another port, and the warning says so', () => {
  const chart = chartIn('shop');
  const svc = new kplus.Service(chart, 'orders', { ports: [{ port: 8080 }] });
  const subscriber = Sink.fromService(svc, { path: '/in' });
  const { table } = buildRoutingTable([
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' } },
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't', namespace: 'shop' }, spec: { broker: 'default', subscriber } },
  ]);
  expect(findUnmappedServices(table, parseServiceMap([])).map((u) => u.service)).toEqual([`${svc.name}.shop`]);
  const map = parseServiceMap([`${svc.name}.shop=http://127.0.0.1:3000`]);
  expect(findUnmappedServices(table, map)).toEqual([]);
  const addressing = { systemNamespace: 'event-mesh-system', integrationNamespace: 'kyma-integration', clusterDomain: 'cluster.local' };
  expect(resolveTarget(subscriber, 'shop', table, { addressing, serviceOverrides: map })).toMatchObject({ kind: 'http', url: 'http://127.0.0.1:3000/in' });
});
