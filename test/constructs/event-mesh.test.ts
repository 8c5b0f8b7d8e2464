import { App, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import {
  CHANNEL_KIND_ANNOTATION, EventMesh, PART_OF, PART_OF_LABEL, RUNTIME_VERSION, Sink, Trigger, adapterEventsUrl, brokerIngressUrl,
  type EventMeshProps,
} from '../../constructs';
import { all, containerEnv, find, routingDocuments, synth } from '../support/synth';
import { validateManifests, type Manifest } from '../support/validate-manifests';

const spec = (m: Manifest) => m.spec as any;
const CLUSTER_SCOPED = ['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'Application'];

describe('inside a user\'s own Chart', () => {
  let manifests: Manifest[];
  let mesh: EventMesh;
  beforeAll(() => {
    const app = Testing.app();
    // The user's chart has its own default namespace and its own objects.
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    new kplus.Deployment(chart, 'web', { metadata: { name: 'web' }, containers: [{ image: 'nginx:1.27', portNumber: 8080 }] });
    mesh = new EventMesh(chart, 'mesh', { applications: [{ name: 'storefront', namespaces: ['shop'] }], routing: 'configmap' });
    new Trigger(chart, 'on-order', { filter: { type: 'order.created' }, subscriber: Sink.service('web') });
    manifests = synth(chart);
  });

  test('renders the user\'s objects and the mesh side by side, all valid', () => {
    expect(find(manifests, 'Deployment', 'web', 'shop')).toBeDefined();
    expect(find(manifests, 'Deployment', 'event-mesh-dispatcher', 'event-mesh-system')).toBeDefined();
    expect(validateManifests(manifests)).toBe(manifests.length);
  });

  test('the chart namespace defaults the user\'s Trigger but never leaks onto mesh or cluster-scoped objects', () => {
    expect(find(manifests, 'Trigger', 'on-order').metadata!.namespace).toBe('shop');
    expect(find(manifests, 'Deployment', 'storefront-adapter').metadata!.namespace).toBe('kyma-integration');
    for (const m of manifests.filter((o) => CLUSTER_SCOPED.includes(o.kind))) expect(m.metadata!.namespace).toBeUndefined();
  });

  test('the user\'s Trigger lands in the routing ConfigMap', () => {
    expect(routingDocuments(manifests).map((d) => d.metadata!.name)).toContain('on-order');
  });

  test('exposes the adapter and broker ingress URLs from api/wiring', () => {
    expect(mesh.adapterUrls).toEqual({ storefront: adapterEventsUrl('storefront', undefined, true) });
    expect(mesh.brokerIngressUrls).toEqual({ 'shop/default': brokerIngressUrl('shop', 'default') });
    // mTLS by default: the adapter serves HTTPS.
    expect(mesh.adapterUrls.storefront).toBe('https://storefront-adapter.kyma-integration.svc.cluster.local/events');
  });
});

test('Triggers in another chart of the same App are routed too', () => {
  const app = Testing.app();
  const infra = new Chart(app, 'infra');
  new EventMesh(infra, 'mesh', { namespaces: ['team-a'], routing: 'configmap' });
  const team = new Chart(app, 'team-a', { namespace: 'team-a' });
  new Trigger(team, 'audit', { subscriber: Sink.uri('https://audit.example.com/events') });
  expect(routingDocuments(synth(infra)).map((d) => `${d.kind}/${d.metadata!.name}`)).toContain('Trigger/audit');
});

test('props are plain data: a JSON round trip (as a Pulumi component would pass them) renders the same manifests', () => {
  const props: EventMeshProps = {
    addressing: { systemNamespace: 'mesh-system', integrationNamespace: 'mesh-integration', clusterDomain: 'corp.local' },
    nats: { replicas: 3, persistence: { size: '5Gi' } },
    applications: [{ name: 'crm', namespaces: ['sales'], events: [{ type: 'lead.created', version: 'v1' }] }],
    triggers: [{ name: 'leads', namespace: 'sales', filter: { type: 'lead.created' }, subscriber: Sink.function('score-lead') }],
    dataPlane: { replicas: 3 },
    image: { name: 'registry.corp/event-mesh', tag: '1.2.3' },
  };
  const render = (p: EventMeshProps) => {
    const chart = new Chart(new App({ outdir: '/tmp/unused' }), 'pulumi');
    const mesh = new EventMesh(chart, 'mesh', p);
    return { json: chart.toJson(), adapterUrls: mesh.adapterUrls, brokerIngressUrls: mesh.brokerIngressUrls };
  };
  const direct = render(props);
  expect(render(JSON.parse(JSON.stringify(props)))).toEqual(direct);
  expect(direct.adapterUrls).toEqual({ crm: 'https://crm-adapter.mesh-integration.svc.corp.local/events' });
  expect(direct.brokerIngressUrls).toEqual({ 'sales/default': 'http://event-mesh-broker-ingress.mesh-system.svc.corp.local/sales/default' });
  expect(spec(find(direct.json, 'Deployment', 'event-mesh-dispatcher')).template.spec.containers[0].image).toBe('registry.corp/event-mesh:1.2.3');
});

test('the runtime image defaults to this package\'s version', () => {
  const chart = new Chart(Testing.app(), 'c');
  new EventMesh(chart, 'mesh');
  expect(RUNTIME_VERSION).toBe(require('../../package.json').version);
  expect(spec(find(synth(chart), 'Deployment', 'event-mesh-dispatcher')).template.spec.containers[0].image)
    .toBe(`ghcr.io/event-mesh/runtime:${RUNTIME_VERSION}`);
});

describe('several channel kinds at once', () => {
  let manifests: Manifest[];
  beforeAll(() => {
    const chart = new Chart(Testing.app(), 'c');
    new EventMesh(chart, 'mesh', {
      applications: [
        { name: 'shop', namespaces: ['serverless'] },
        { name: 'erp', namespaces: ['serverless'], channel: 'kafka' },
        { name: 'sandbox', channel: 'inmemory' },
      ],
    });
    manifests = synth(chart);
  });

  test('each application\'s channel names its kind, the adapter gets that kind\'s env', () => {
    const kinds = Object.fromEntries(all(manifests, 'Channel').map((c) => [c.metadata!.name, c.metadata!.annotations![CHANNEL_KIND_ANNOTATION]]));
    expect(kinds).toEqual({ shop: 'nats', erp: 'kafka', sandbox: 'inmemory' });
    expect(spec(find(manifests, 'Channel', 'erp')).channelTemplate.kind).toBe('KafkaChannel');
    expect(containerEnv(find(manifests, 'Deployment', 'erp-adapter'))).toMatchObject({ EVENT_MESH_CHANNEL: 'kafka', KAFKA_BROKERS: expect.anything() });
    expect(containerEnv(find(manifests, 'Deployment', 'erp-adapter')).NATS_URL).toBeUndefined();
    expect(containerEnv(find(manifests, 'Deployment', 'shop-adapter'))).toMatchObject({ EVENT_MESH_CHANNEL: 'nats', NATS_URL: expect.any(String) });
  });

  test('the dispatcher can reach every enabled kind, brokers use the default one', () => {
    const env = containerEnv(find(manifests, 'Deployment', 'event-mesh-dispatcher'));
    expect(env).toMatchObject({ EVENT_MESH_CHANNEL: 'nats', NATS_URL: expect.any(String), KAFKA_BROKERS: expect.anything(), KAFKA_PASSWORD: expect.anything() });
  });

  test('a namespace shared by two applications renders its Namespace and Broker once, with a Subscription per application', () => {
    expect(all(manifests, 'Namespace').filter((n) => n.metadata!.name === 'serverless')).toHaveLength(1);
    expect(all(manifests, 'Broker')).toHaveLength(1);
    expect(all(manifests, 'Subscription').map((s) => s.metadata!.name).sort()).toEqual(['erp-serverless-default', 'shop-serverless-default']);
  });
});

test('addApplication, addTrigger and bindNamespace after construction', () => {
  const chart = new Chart(Testing.app(), 'c');
  const mesh = new EventMesh(chart, 'mesh');
  const app = mesh.addApplication({ name: 'billing' });
  app.bindNamespace('finance');
  mesh.addTrigger({ name: 'invoices', namespace: 'finance', filter: { type: 'invoice.issued' }, subscriber: Sink.knativeService('mailer') });
  const manifests = synth(chart);
  expect(find(manifests, 'Subscription', 'billing-finance-default')).toBeDefined();
  expect(spec(find(manifests, 'Trigger', 'invoices', 'finance')).subscriber.ref).toEqual({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'mailer' });
  expect(app.namespaces).toEqual(['finance']);
  expect(mesh.namespaces).toEqual(['finance']);
  expect(validateManifests(manifests)).toBe(manifests.length);
});

test('an adapter as a Knative Service', () => {
  const chart = new Chart(Testing.app(), 'c');
  // Knative's queue-proxy ends the client connection: the adapter cannot check certificates, so auth none must be explicit.
  expect(() => new EventMesh(new Chart(Testing.app(), 'c'), 'mesh', { applications: [{ name: 'shop', adapter: { workload: 'knative-service' } }] }))
    .toThrow(/is a Knative Service, whose queue-proxy ends the client's connection.*set auth: \{ mode: 'none' \} explicitly.*at c\/mesh\/Applications\/shop\/Adapter/);
  new EventMesh(chart, 'mesh', { applications: [{ name: 'shop', auth: { mode: 'none' }, adapter: { workload: 'knative-service' } }] });
  const manifests = synth(chart);
  const ksvc = find(manifests, 'Service', 'shop-adapter');
  expect(ksvc.apiVersion).toBe('serving.knative.dev/v1');
  const container = spec(ksvc).template.spec.containers[0];
  expect(container.args).toEqual(['adapter']);
  expect(container.env).toEqual(expect.arrayContaining([{ name: 'APPLICATION_NAME', value: 'shop' }]));
  // Knative probes the serving port: the probes must stay on it.
  expect(container.env).toEqual(expect.arrayContaining([{ name: 'AUTH', value: 'none' }]));
  expect(container.env.map((e: { name: string }) => e.name)).not.toContain('PROBE_PORT');
  expect(manifests.filter((m) => m.kind === 'Deployment' && m.metadata!.name === 'shop-adapter')).toHaveLength(0);
  expect(validateManifests(manifests)).toBe(manifests.length);
});

describe('least privilege', () => {
  let manifests: Manifest[];
  beforeAll(() => {
    const chart = new Chart(Testing.app(), 'c');
    new EventMesh(chart, 'mesh', { applications: [{ name: 'shop' }] });
    manifests = synth(chart);
  });

  test('the dispatcher may only read the mesh kinds cluster-wide and (configmap routing) ConfigMaps in its namespace', () => {
    const rules = (m: Manifest) => (m as any).rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    expect(manifests.filter((m) => m.kind === 'Role' && m.metadata!.name === 'event-mesh-dispatcher')).toEqual([]);
    const chart = new Chart(Testing.app(), 'cm');
    new EventMesh(chart, 'mesh', { applications: [{ name: 'shop' }], routing: 'configmap' });
    const withConfigMap = synth(chart);
    const cluster = rules(find(withConfigMap, 'ClusterRole', 'event-mesh-dispatcher'));
    expect(cluster.flatMap((r) => r.resources).sort()).toEqual(['brokers', 'channels', 'subscriptions', 'triggers']);
    const role = find(withConfigMap, 'Role', 'event-mesh-dispatcher', 'event-mesh-system');
    expect(rules(role).flatMap((r) => r.resources)).toEqual(['configmaps']);
    for (const rule of [...cluster, ...rules(role)]) {
      expect(rule.verbs.sort()).toEqual(['get', 'list', 'watch']);
      expect(rule.resources).not.toContain('*');
      expect(rule.apiGroups).not.toContain('*');
    }
    for (const binding of [...all(withConfigMap, 'ClusterRoleBinding'), ...all(withConfigMap, 'RoleBinding')].filter((b) => b.metadata!.name === 'event-mesh-dispatcher')) {
      expect((binding as any).roleRef.name).toBe('event-mesh-dispatcher');
    }
  });

  test('every mesh pod runs as non-root with a read-only root filesystem and no capabilities', () => {
    for (const workload of [...all(manifests, 'Deployment'), ...all(manifests, 'StatefulSet')]) {
      const pod = spec(workload).template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      // Only the controller and the dispatcher (cluster routing) call the API server: no other pod carries a token.
      const callsApi = ['event-mesh-controller', 'event-mesh-dispatcher'].includes(workload.metadata!.name!);
      expect([workload.metadata!.name, pod.automountServiceAccountToken]).toEqual([workload.metadata!.name, callsApi]);
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(c.resources.requests).toBeDefined();
        expect(c.resources.limits.memory).toBeDefined();
      }
      expect(pod.containers[0].env?.some((e: { name: string }) => e.name === 'KAFKA_PASSWORD' && !('valueFrom' in e))).toBeFalsy();
    }
  });

  test('network policies: NATS admits only mesh pods of the mesh namespaces, the dispatcher mesh pods, the adapters anyone', () => {
    const policy = (name: string, ns: string) => spec(find(manifests, 'NetworkPolicy', name, ns));
    const meshPods = { podSelector: { matchLabels: { [PART_OF_LABEL]: PART_OF } } };
    // NATS has no client authentication: copying the label in another namespace must not be enough.
    expect(policy('event-mesh-nats', 'event-mesh-system').ingress).toEqual([{
      from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['event-mesh-system', 'kyma-integration'] }] }, ...meshPods }],
      ports: [4222, 6222, 8222].map((port) => ({ port, protocol: 'TCP' })),
    }]);
    expect(policy('event-mesh-dispatcher', 'event-mesh-system').ingress.map((r: any) => r.from)).toEqual([[{ namespaceSelector: {}, ...meshPods }]]);
    // No `from`: every source, pods or not (a peer would leave out node IPs and external clients).
    // The probe/metrics port (plain HTTP) only from pods.
    expect(policy('shop-adapter', 'kyma-integration').ingress).toEqual([
      { ports: [{ port: 8080, protocol: 'TCP' }] },
      { from: [{ namespaceSelector: {} }], ports: [{ port: 9090, protocol: 'TCP' }] },
    ]);
    for (const np of all(manifests, 'NetworkPolicy')) expect(spec(np).policyTypes).toEqual(['Ingress']);
    // Each policy selects exactly the pods of its workload.
    expect(policy('event-mesh-nats', 'event-mesh-system').podSelector.matchLabels).toEqual(spec(find(manifests, 'StatefulSet', 'event-mesh-nats')).selector.matchLabels);
    expect(policy('shop-adapter', 'kyma-integration').podSelector.matchLabels).toEqual(spec(find(manifests, 'Deployment', 'shop-adapter')).selector.matchLabels);
    // Every mesh pod carries the label the policies trust.
    for (const workload of [...all(manifests, 'Deployment'), ...all(manifests, 'StatefulSet')]) {
      expect(spec(workload).template.metadata.labels[PART_OF_LABEL]).toBe(PART_OF);
    }
  });

  test('network policies can be turned off', () => {
    const chart = new Chart(Testing.app(), 'c');
    new EventMesh(chart, 'mesh', { nats: { networkPolicy: false }, dataPlane: { networkPolicy: false }, adapters: { networkPolicy: false }, controller: { networkPolicy: false }, applications: [{ name: 'shop' }] });
    expect(all(synth(chart), 'NetworkPolicy')).toHaveLength(0);
  });
});

test('NATS admits the mesh namespaces as configured (and each once)', () => {
  const render = (addressing: EventMeshProps['addressing']) => {
    const chart = new Chart(Testing.app(), 'c');
    new EventMesh(chart, 'mesh', { addressing });
    return spec(find(synth(chart), 'NetworkPolicy', 'event-mesh-nats')).ingress[0].from[0].namespaceSelector.matchExpressions[0].values;
  };
  expect(render({ systemNamespace: 'mesh', integrationNamespace: 'apps' })).toEqual(['mesh', 'apps']);
  expect(render({ systemNamespace: 'mesh', integrationNamespace: 'mesh' })).toEqual(['mesh']);
});

test('object names longer than a label value allows still give valid, distinct labels', () => {
  const chart = new Chart(Testing.app(), 'c');
  const app = 'commerce-backend-system-integration';
  new EventMesh(chart, 'mesh', { applications: [{ name: app, namespaces: ['customer-onboarding-production-eu', 'customer-onboarding-production-us'] }] });
  const manifests = synth(chart);
  // The API server's metadata rules are part of validateManifests.
  expect(validateManifests(manifests)).toBe(manifests.length);
  const subscriptions = all(manifests, 'Subscription');
  for (const s of subscriptions) expect(s.metadata!.name!.length).toBeGreaterThan(63);
  expect(subscriptions).toHaveLength(2);
  const values = subscriptions.map((s) => s.metadata!.labels!['app.kubernetes.io/name']);
  for (const v of values) expect(v.length).toBeLessThanOrEqual(63);
  expect(new Set(values).size).toBe(2);
  expect(values[0]).toMatch(/^commerce-backend-system-integration-customer-onboardin-[0-9a-f]{8}$/);
});

test('createNamespaces: false leaves the system namespaces to someone else', () => {
  const chart = new Chart(Testing.app(), 'c');
  new EventMesh(chart, 'mesh', { createNamespaces: false, namespaces: ['serverless'] });
  expect(all(synth(chart), 'Namespace').map((n) => n.metadata!.name)).toEqual(['serverless']);
});

test('an in-memory mesh deploys no NATS (for `event-mesh dev`)', () => {
  const chart = new Chart(Testing.app(), 'c');
  const mesh = new EventMesh(chart, 'mesh', { defaultChannel: 'inmemory', applications: [{ name: 'shop' }] });
  const manifests = synth(chart);
  expect(mesh.nats).toBeUndefined();
  expect(all(manifests, 'StatefulSet')).toHaveLength(0);
  expect(containerEnv(find(manifests, 'Deployment', 'event-mesh-dispatcher'))).toMatchObject({ EVENT_MESH_CHANNEL: 'inmemory', STREAM_MAX_AGE: '24h' });
});
