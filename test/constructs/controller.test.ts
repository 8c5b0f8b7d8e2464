/**
 * The constructs that deploy `event-mesh controller`: the hardened Deployment, its
 * PodDisruptionBudget, ServiceAccount and mesh-settings ConfigMap; RBAC that grants exactly
 * the CONTROLLER_ACCESS table the code is bound by; the `routing` prop; the ApplicationMapping CRD.
 */
import { Chart, Testing } from 'cdk8s';
import { CONTROLLER_ACCESS, controllerGrants, EventMesh, type EventMeshProps } from '../../constructs';
import { CONTROLLER_KUBE_VERBS } from '../../runtime/kube';
import { all, containerEnv, find, synth } from '../support/synth';
import { validateManifests, type Manifest } from '../support/validate-manifests';

const render = (props: EventMeshProps = {}) => {
  const chart = new Chart(Testing.app(), 'test');
  new EventMesh(chart, 'mesh', props);
  return synth(chart);
};
const spec = (m: Manifest) => m.spec as any;
const SYSTEM = 'event-mesh-system';

describe('the controller Deployment', () => {
  const manifests = render({ applications: [{ name: 'commerce', namespaces: ['serverless'] }] });
  const deployment = find(manifests, 'Deployment', 'event-mesh-controller', SYSTEM);
  const pod = spec(deployment).template.spec;
  const container = pod.containers[0];

  test('every object validates against the published schemas and our CRDs', () => {
    expect(validateManifests(manifests)).toBe(manifests.length);
  });

  test('2 replicas of `event-mesh controller`, with its token (it is the one process that calls the API server)', () => {
    expect(spec(deployment).replicas).toBe(2);
    expect(container.args).toEqual(['controller']);
    expect(pod.serviceAccountName).toBe('event-mesh-controller');
    expect(pod.automountServiceAccountToken).toBe(true);
  });

  test('probes, limits, non-root, read-only root filesystem, no capabilities', () => {
    expect(container.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 8080 });
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 8080 });
    expect(container.resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } });
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
  });

  test('leader election identity, namespaces and mesh settings come from env', () => {
    const env = containerEnv(deployment);
    expect(env).toMatchObject({
      SYSTEM_NAMESPACE: SYSTEM, INTEGRATION_NAMESPACE: 'kyma-integration', CLUSTER_DOMAIN: 'cluster.local',
      MESH_CONFIG: '/etc/event-mesh/controller/mesh.json', POD_NAME: { fieldRef: { fieldPath: 'metadata.name' } },
    });
    const config = find(manifests, 'ConfigMap', 'event-mesh-controller', SYSTEM);
    expect(JSON.parse((config as unknown as { data: Record<string, string> }).data['mesh.json'])).toEqual({ channels: ['nats'] });
    expect(container.volumeMounts).toEqual(expect.arrayContaining([expect.objectContaining({ mountPath: '/etc/event-mesh/controller', readOnly: true })]));
  });

  test('a PodDisruptionBudget and a NetworkPolicy', () => {
    expect(spec(find(manifests, 'PodDisruptionBudget', 'event-mesh-controller', SYSTEM))).toEqual({ maxUnavailable: 1, selector: { matchLabels: spec(deployment).selector.matchLabels } });
    expect(spec(find(manifests, 'NetworkPolicy', 'event-mesh-controller', SYSTEM)).policyTypes).toEqual(['Ingress']);
  });

  test('no secret in the mesh settings: a literal Kafka Secret stays out', () => {
    const withKafka = render({
      channels: ['nats', 'kafka'],
      kafka: { provider: 'local', insecureLiteralSecret: { brokersHostname: 'kafka', brokersPort: 9092, namespace: 'ns', username: 'u', password: 'hunter2-password' } },
    });
    const text = (find(withKafka, 'ConfigMap', 'event-mesh-controller', SYSTEM) as unknown as { data: Record<string, string> }).data['mesh.json'];
    expect(text).not.toContain('hunter2-password');
    expect(JSON.parse(text)).toEqual({ channels: ['nats', 'kafka'], kafka: { provider: 'local' } });
  });

  test('controller.enabled false renders no controller', () => {
    expect(render({ controller: { enabled: false } }).filter((m) => m.metadata?.name === 'event-mesh-controller')).toEqual([]);
  });
});

describe('controller RBAC: exactly the CONTROLLER_ACCESS table', () => {
  const manifests = render();
  const rules = (m: Manifest) => (m as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }).rules;
  const flatten = (list: { apiGroups: string[]; resources: string[]; verbs: string[] }[], scope: string) =>
    list.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${scope} ${g}|${res}|${v}`))));

  test('the ClusterRole and the two Roles grant what the table lists, in its scopes, and nothing more', () => {
    const rendered = [
      ...flatten(rules(find(manifests, 'ClusterRole', 'event-mesh-controller')), 'cluster'),
      ...flatten(rules(find(manifests, 'Role', 'event-mesh-controller', 'kyma-integration')), 'integration'),
      ...flatten(rules(find(manifests, 'Role', 'event-mesh-controller', SYSTEM)), 'system'),
    ].sort();
    const table = controllerGrants().flatMap((g) => g.verbs.map((v) => `${g.scope} ${g.group}|${g.resource}|${v}`)).sort();
    expect(rendered).toEqual(table);
    expect(rendered).not.toContainEqual(expect.stringMatching(/\|\*|secrets|pods|update\b.*(deployments|services)/));
  });

  test('the table, through the kube layer\'s own verb mapping, gives the same verbs (two derivations agree)', () => {
    const fromKube = CONTROLLER_KUBE_VERBS.flatMap((k) => k.verbs.map((v) => `${k.group}|${k.resource}|${v}`)).sort();
    const fromTable = [...new Set(controllerGrants({ knativeServing: true }).flatMap((g) => g.verbs.map((v) => `${g.group}|${g.resource}|${v}`)))].sort();
    expect(fromTable).toEqual(fromKube);
  });

  test('bound to the controller\'s ServiceAccount', () => {
    for (const binding of [...all(manifests, 'ClusterRoleBinding'), ...all(manifests, 'RoleBinding')].filter((b) => b.metadata?.name === 'event-mesh-controller')) {
      expect((binding as unknown as { subjects: unknown[] }).subjects).toEqual([{ kind: 'ServiceAccount', name: 'event-mesh-controller', namespace: SYSTEM }]);
    }
  });

  test('Knative Service adapters add exactly their Knative Services to the integration Role', () => {
    const ksvc = render({ adapters: { workload: 'knative-service' } });
    const integration = flatten(rules(find(ksvc, 'Role', 'event-mesh-controller', 'kyma-integration')), 'integration');
    expect(integration.filter((r) => r.includes('serving.knative.dev'))).toEqual([
      'integration serving.knative.dev|services|list', 'integration serving.knative.dev|services|watch',
      'integration serving.knative.dev|services|create', 'integration serving.knative.dev|services|patch',
    ]);
    expect(containerEnv(find(ksvc, 'Deployment', 'event-mesh-controller', SYSTEM)).KNATIVE_SERVING).toBe('true');
    expect(CONTROLLER_ACCESS.filter((r) => r.knativeServingOnly)).toHaveLength(1);
  });
});

describe('routing: cluster (default) or configmap', () => {
  test('cluster: no routing ConfigMap; the dispatcher watches the API server with its token', () => {
    const manifests = render();
    expect(manifests.filter((m) => m.kind === 'ConfigMap' && m.metadata?.name === 'event-mesh-routing')).toEqual([]);
    const dispatcher = find(manifests, 'Deployment', 'event-mesh-dispatcher', SYSTEM);
    expect(containerEnv(dispatcher).ROUTING_DIR).toBe('cluster');
    expect(spec(dispatcher).template.spec.automountServiceAccountToken).toBe(true);
    expect(manifests.filter((m) => m.kind === 'Role' && m.metadata?.name === 'event-mesh-dispatcher')).toEqual([]);
  });

  test('configmap: the routing ConfigMap, mounted, and no token', () => {
    const manifests = render({ routing: 'configmap' });
    find(manifests, 'ConfigMap', 'event-mesh-routing', SYSTEM);
    const dispatcher = find(manifests, 'Deployment', 'event-mesh-dispatcher', SYSTEM);
    expect(containerEnv(dispatcher).ROUTING_DIR).toBe('/etc/event-mesh/routing');
    expect(spec(dispatcher).template.spec.automountServiceAccountToken).toBe(false);
  });

  test('anything else fails at synth naming the value', () => {
    expect(() => render({ routing: 'files' as never })).toThrow(/routing must be "cluster" or "configmap", got "files"; pick one of the two \(at test\/mesh\/Dispatcher\)/);
  });
});

test('the ApplicationMapping CRD has READY and REASON columns and a status subresource', () => {
  const crd = find(render(), 'CustomResourceDefinition', 'applicationmappings.applicationconnector.kyma-project.io');
  const version = spec(crd).versions[0];
  expect(version.name).toBe('v1alpha1');
  expect(version.subresources).toEqual({ status: {} });
  expect(version.additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual(['READY', 'REASON', 'BROKER', 'AGE']);
  expect(spec(crd).scope).toBe('Namespaced');
});
