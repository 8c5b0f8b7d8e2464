/**
 * What `npm run synth` writes for the seed scenario (examples/commerce): read back from the
 * YAML file, as a user or `event-mesh dev dist` would.
 */
import { Testing } from 'cdk8s';
import {
  ADAPTER_PORT, ADAPTER_PROBE_PORT, BROKER_CLASS, BROKER_CLASS_ANNOTATION, BROKER_INGRESS_SERVICE, CHANNEL_KIND_ANNOTATION, INJECTION_LABELS,
  NATS_SERVICE, ROUTING_MOUNT_PATH, adapterName,
} from '../../constructs';
import { buildCommerceChart } from '../../examples/commerce/main';
import { all, containerEnv, find, synthToDisk } from '../support/synth';
import { validateManifests, type Manifest } from '../support/validate-manifests';

let dist: Manifest[];
beforeAll(() => {
  const app = Testing.app();
  buildCommerceChart(app);
  dist = synthToDisk(app, ['commerce.k8s.yaml']);
});

const spec = (m: Manifest) => m.spec as any;

test('every object read back from the file passes the published schemas, our CRDs and the API server\'s metadata rules', () => {
  expect(dist.length).toBeGreaterThan(30);
  expect(validateManifests(dist)).toBe(dist.length);
});

test('has the CRDs', () => {
  expect(all(dist, 'CustomResourceDefinition').map((c) => c.metadata!.name).sort()).toEqual([
    'applicationmappings.applicationconnector.kyma-project.io',
    'applications.applicationconnector.kyma-project.io',
    'brokers.eventing.knative.dev',
    'channels.messaging.knative.dev',
    'httpsources.sources.kyma-project.io',
    'subscriptions.messaging.knative.dev',
    'triggers.eventing.knative.dev',
  ]);
});

test('HTTPSource CRD: spec.source required, Knative status, READY/REASON columns, source label, status subresource', () => {
  const crd = find(dist, 'CustomResourceDefinition', 'httpsources.sources.kyma-project.io');
  expect(crd.metadata!.labels).toMatchObject({ 'eventing.knative.dev/source': 'true' });
  const version = spec(crd).versions[0];
  expect(version.name).toBe('v1alpha1');
  expect(version.subresources).toEqual({ status: {} });
  const schema = version.schema.openAPIV3Schema;
  expect(schema.properties.spec.required).toEqual(['source']);
  expect(Object.keys(schema.properties.status.properties)).toEqual(expect.arrayContaining(['conditions', 'sinkUri', 'observedGeneration']));
  expect(Object.keys(schema.properties.status.properties.conditions.items.properties))
    .toEqual(expect.arrayContaining(['type', 'status', 'reason', 'message', 'lastTransitionTime']));
  expect(version.additionalPrinterColumns).toEqual(expect.arrayContaining([
    { name: 'READY', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'REASON', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
  ]));
});

test('NATS StatefulSet: 1Gi volume, 256M memory limit, non-root, config from the seed defaults', () => {
  const sts = find(dist, 'StatefulSet', NATS_SERVICE);
  expect(spec(sts).volumeClaimTemplates[0].spec.resources.requests.storage).toBe('1Gi');
  const pod = spec(sts).template.spec;
  expect(pod.containers[0].image).toBe('nats:2.10-alpine');
  expect(pod.containers[0].resources.limits.memory).toBe('256M');
  expect(pod.securityContext.runAsNonRoot).toBe(true);
  const config = find(dist, 'ConfigMap', `${NATS_SERVICE}-config`).data as Record<string, string>;
  expect(config['nats.conf']).toMatch(/jetstream \{\n\s+store_dir: \/data\/jetstream\n[\s\S]*max_file_store: 1073741824\n/);
  expect(config['stream-max-age']).toBe('24h');
  expect(config['channel-max-inactivity']).toBe('48h');
  expect(find(dist, 'Service', NATS_SERVICE)).toBeDefined();
  expect(spec(find(dist, 'Service', `${NATS_SERVICE}-headless`)).clusterIP).toBe('None');
  expect(find(dist, 'PodDisruptionBudget', NATS_SERVICE)).toBeDefined();
});

test('maxAge 24h and maxInactivity 48h reach the dispatcher and the adapter', () => {
  for (const workload of [find(dist, 'Deployment', 'event-mesh-dispatcher'), find(dist, 'Deployment', adapterName('commerce'))]) {
    expect(containerEnv(workload)).toMatchObject({ STREAM_MAX_AGE: '24h', CHANNEL_MAX_INACTIVITY: '48h', STREAM_REPLICAS: '1', EVENT_MESH_CHANNEL: 'nats' });
  }
});

test('Application and HTTPSource for commerce', () => {
  const app = find(dist, 'Application', 'commerce');
  expect(app.metadata!.namespace).toBeUndefined();
  expect(spec(app)).toMatchObject({ description: expect.any(String), events: [{ type: 'user.created', version: 'v1' }] });
  expect(spec(find(dist, 'HTTPSource', 'commerce', 'kyma-integration'))).toEqual({ source: 'commerce' });
});

test('the adapter Deployment and Service in kyma-integration, with the application env', () => {
  const deployment = find(dist, 'Deployment', 'commerce-adapter', 'kyma-integration');
  expect(spec(deployment).template.spec.containers[0].args).toEqual(['adapter']);
  expect(containerEnv(deployment)).toMatchObject({
    APPLICATION_NAME: 'commerce',
    CHANNEL_NAMESPACE: 'kyma-integration',
    CHANNEL_NAME: 'commerce',
    NATS_URL: 'nats://event-mesh-nats.event-mesh-system.svc.cluster.local:4222',
  });
  const service = find(dist, 'Service', 'commerce-adapter', 'kyma-integration');
  // mTLS by default: HTTPS on 443; probes and metrics on their own plain-HTTP port.
  expect(spec(service).ports).toEqual([{ name: 'https', port: 443, targetPort: ADAPTER_PORT }, { name: 'metrics', port: ADAPTER_PROBE_PORT, targetPort: ADAPTER_PROBE_PORT }]);
  expect(spec(service).selector).toEqual(spec(deployment).selector.matchLabels);
});

test('the channel and its Subscription to the serverless default Broker', () => {
  const channel = find(dist, 'Channel', 'commerce', 'kyma-integration');
  expect(channel.metadata!.annotations).toEqual({ [CHANNEL_KIND_ANNOTATION]: 'nats' });
  const subscription = find(dist, 'Subscription', 'commerce-serverless-default', 'kyma-integration');
  expect(spec(subscription)).toEqual({
    channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'commerce' },
    subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: 'serverless' } },
  });
});

test('the labelled namespace and its default Broker', () => {
  // Literal values, as Knative and Kyma spell them (not our constants, which could be wrong too).
  expect(find(dist, 'Namespace', 'serverless').metadata!.labels).toMatchObject({ 'knative-eventing-injection': 'enabled', 'eventing.knative.dev/injection': 'enabled' });
  expect(find(dist, 'Namespace', 'serverless').metadata!.labels).toMatchObject(INJECTION_LABELS);
  const broker = find(dist, 'Broker', 'default', 'serverless');
  expect(broker.metadata!.annotations).toEqual({ 'eventing.knative.dev/broker.class': 'EventMeshBroker' });
  expect(broker.metadata!.annotations).toEqual({ [BROKER_CLASS_ANNOTATION]: BROKER_CLASS });
});

test('the Trigger filters on type, eventtypeversion and source and delivers to test-function', () => {
  const trigger = find(dist, 'Trigger', 'test-trigger', 'serverless');
  expect(spec(trigger)).toEqual({
    broker: 'default',
    filter: { attributes: { type: 'user.created', eventtypeversion: 'v1', source: 'commerce' } },
    subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'test-function' } },
    delivery: {
      retry: 3,
      backoffPolicy: 'exponential',
      backoffDelay: 'PT0.5S',
      deadLetterSink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'dead-letters' } },
    },
  });
  expect(find(dist, 'Service', 'test-function', 'serverless')).toBeDefined();
  expect(find(dist, 'Service', 'dead-letters', 'serverless')).toBeDefined();
});

test('the dispatcher: broker ingress 80 → 8080, routing from the cluster, probes, limits, hardening', () => {
  const deployment = find(dist, 'Deployment', 'event-mesh-dispatcher', 'event-mesh-system');
  const pod = spec(deployment).template.spec;
  const container = pod.containers[0];
  expect(container.args).toEqual(['dispatcher']);
  expect(container.livenessProbe.httpGet.path).toBe('/healthz');
  expect(container.readinessProbe.httpGet.path).toBe('/readyz');
  expect(container.resources.requests).toBeDefined();
  expect(container.resources.limits).toBeDefined();
  expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  expect(container.volumeMounts).toEqual([{ mountPath: '/tmp', name: 'tmp' }]);
  expect(containerEnv(deployment)).toMatchObject({ ROUTING_DIR: 'cluster', SYSTEM_NAMESPACE: 'event-mesh-system', CLUSTER_DOMAIN: 'cluster.local' });
  expect(containerEnv(deployment).ROUTING_DIR).not.toBe(ROUTING_MOUNT_PATH);
  expect(spec(find(dist, 'Service', BROKER_INGRESS_SERVICE, 'event-mesh-system')).ports).toEqual([{ name: 'http', port: 80, targetPort: 8080 }]);
  expect(find(dist, 'PodDisruptionBudget', 'event-mesh-dispatcher')).toBeDefined();
});

test('both runtime workloads: /healthz and /readyz probes, requests and limits, read-only root with an emptyDir /tmp, a PDB', () => {
  // The adapter's probes are on its plain-HTTP probe port (its event port is HTTPS).
  for (const [name, ns, probePort] of [['event-mesh-dispatcher', 'event-mesh-system', 8080], ['commerce-adapter', 'kyma-integration', ADAPTER_PROBE_PORT]] as const) {
    const pod = spec(find(dist, 'Deployment', name, ns)).template.spec;
    const container = pod.containers[0];
    expect(container.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: probePort });
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: probePort });
    expect(container.startupProbe.httpGet).toMatchObject({ path: '/healthz', port: probePort });
    expect(Object.keys(container.resources.requests).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(container.resources.limits).sort()).toEqual(['cpu', 'memory']);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    expect(container.volumeMounts).toEqual(expect.arrayContaining([{ mountPath: '/tmp', name: 'tmp' }]));
    expect(pod.volumes).toEqual(expect.arrayContaining([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]));
    // Cluster routing: the dispatcher watches the API server; the adapter never calls it.
    expect(pod.automountServiceAccountToken).toBe(name === 'event-mesh-dispatcher');
    expect(spec(find(dist, 'PodDisruptionBudget', name, ns)).selector.matchLabels).toEqual(spec(find(dist, 'Deployment', name, ns)).selector.matchLabels);
  }
});

test('no routing ConfigMap (cluster routing): the Broker, Channel, Subscription and the user-added Trigger the dispatcher watches are objects of their own', () => {
  expect(dist.filter((m) => m.kind === 'ConfigMap' && m.metadata!.name === 'event-mesh-routing')).toEqual([]);
  const routed = dist.filter((m) => ['Broker', 'Channel', 'Subscription', 'Trigger'].includes(m.kind));
  expect(routed.map((d) => `${d.kind} ${d.metadata!.namespace}/${d.metadata!.name}`).sort()).toEqual([
    'Broker serverless/default',
    'Channel kyma-integration/commerce',
    'Subscription kyma-integration/commerce-serverless-default',
    'Trigger serverless/test-trigger',
  ]);
});
