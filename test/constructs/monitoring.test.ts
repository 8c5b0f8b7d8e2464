/** monitoring: { serviceMonitor: true } renders a ServiceMonitor (validated with @kubernetes-models/prometheus-operator) that selects the dispatcher's Service. */
import { Chart, Testing } from 'cdk8s';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { EventMesh } from '../../constructs';
import { containerEnv, find, synth } from '../support/synth';
import { validateManifests, type Manifest } from '../support/validate-manifests';

const render = (props: ConstructorParameters<typeof EventMesh>[2]) => {
  const chart = new Chart(Testing.app(), 'c');
  new EventMesh(chart, 'mesh', props);
  const manifests = synth(chart);
  validateManifests(manifests);
  return manifests;
};

test('a ServiceMonitor selecting the broker ingress Service, its named port and /metrics; Prometheus admitted by a NetworkPolicy', () => {
  const manifests = render({ monitoring: { serviceMonitor: true, interval: '15s', labels: { release: 'kube-prometheus-stack' }, prometheusNamespace: 'prom' } });
  const sm = find(manifests, 'ServiceMonitor', 'event-mesh-broker-ingress', 'event-mesh-system') as Manifest & { spec: any };
  new ServiceMonitor(sm as never).validate();
  expect(sm.metadata!.labels).toEqual({ release: 'kube-prometheus-stack' });
  expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '15s', scheme: 'http' }]);
  expect(sm.spec.namespaceSelector).toEqual({ matchNames: ['event-mesh-system'] });
  const service = find(manifests, 'Service', 'event-mesh-broker-ingress', 'event-mesh-system') as Manifest & { spec: any };
  for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(service.metadata!.labels![k]).toBe(v);
  expect(service.spec.ports.map((p: any) => p.name)).toContain('http');

  const policy = find(manifests, 'NetworkPolicy', 'event-mesh-broker-ingress-metrics', 'event-mesh-system') as Manifest & { spec: any };
  expect(JSON.stringify(policy.spec.ingress)).toContain('"kubernetes.io/metadata.name"');
  expect(JSON.stringify(policy.spec.ingress)).toContain('prom');
  expect(policy.spec.ingress[0].ports).toEqual([{ port: 8080, protocol: 'TCP' }]);
});

test('no monitoring: no ServiceMonitor; eventTypeLabel sets METRICS_EVENT_TYPE on the dispatcher', () => {
  expect(render({}).filter((m) => m.kind === 'ServiceMonitor')).toEqual([]);
  const manifests = render({ monitoring: { eventTypeLabel: true } });
  expect(manifests.filter((m) => m.kind === 'ServiceMonitor')).toEqual([]);
  expect(containerEnv(find(manifests, 'Deployment', 'event-mesh-dispatcher', 'event-mesh-system')).METRICS_EVENT_TYPE).toBe('true');
});

test('the ServiceMonitor model rejects what Prometheus would (the validation can fail)', () => {
  expect(() => new ServiceMonitor({ metadata: { name: 'x' }, spec: { selector: {}, endpoints: [{ port: 7 as unknown as string }] } }).validate()).toThrow();
});

test('a bad interval fails at synth with the path and the fix', () => {
  expect(() => render({ monitoring: { serviceMonitor: true, interval: 'often' } })).toThrow(/monitoring.interval must be a Prometheus duration such as "30s" or "1m", got "often"; set a duration like "30s" \(at c\/mesh\/Monitoring\)/);
});
