/** The PubSubChannel construct backend: env, credentials by reference, manifests that validate (pure synth). */
import { Chart, Testing, Yaml } from 'cdk8s';
import { EventMesh, GKE_WORKLOAD_IDENTITY_ANNOTATION, PUBSUB_ADAPTER_SERVICE_ACCOUNT, PUBSUB_KEY_MOUNT_PATH, controllerMeshSettings } from '../../constructs';
import { renderApplication } from '../../runtime/controller/application/render';
import type { ControllerMeshSettings } from '../../runtime/controller/context';
import { all, containerEnv, find, synth } from '../support/synth';
import { validateManifests, type Manifest } from '../support/validate-manifests';

const GSA = 'event-mesh@my-project.iam.gserviceaccount.com';
const PRIVATE_KEY = /PRIVATE KEY|private_key|"type":\s*"service_account"/;

function podSpec(m: Manifest): any {
  return (m.spec as any).template.spec;
}

describe('channels: [pubsub] with GKE Workload Identity (the default when a Google service account is given)', () => {
  let manifests: Manifest[];
  beforeAll(() => {
    const chart = new Chart(Testing.app(), 'c');
    new EventMesh(chart, 'mesh', {
      channels: ['pubsub'],
      defaultChannel: 'pubsub',
      pubsub: { project: 'my-project', gcpServiceAccount: GSA },
      applications: [{ name: 'orders', namespaces: ['shop'] }],
    });
    manifests = synth(chart);
  });

  test('synthesized manifests validate', () => {
    expect(validateManifests(manifests)).toBe(manifests.length);
  });

  test('adapter and dispatcher get EVENT_MESH_CHANNEL=pubsub and PUBSUB_PROJECT, no key file', () => {
    for (const name of ['event-mesh-dispatcher', 'orders-adapter']) {
      const env = containerEnv(find(manifests, 'Deployment', name));
      expect(env).toMatchObject({ EVENT_MESH_CHANNEL: 'pubsub', PUBSUB_PROJECT: 'my-project' });
      expect(env.GOOGLE_APPLICATION_CREDENTIALS).toBeUndefined();
    }
  });

  test('their ServiceAccounts carry the Workload Identity annotation, and the pods run as them', () => {
    const dispatcherSa = find(manifests, 'ServiceAccount', 'event-mesh-dispatcher', 'event-mesh-system');
    const adapterSa = find(manifests, 'ServiceAccount', PUBSUB_ADAPTER_SERVICE_ACCOUNT, 'kyma-integration');
    for (const sa of [dispatcherSa, adapterSa]) expect(sa.metadata!.annotations).toEqual({ [GKE_WORKLOAD_IDENTITY_ANNOTATION]: GSA });
    expect(podSpec(find(manifests, 'Deployment', 'orders-adapter')).serviceAccountName).toBe(PUBSUB_ADAPTER_SERVICE_ACCOUNT);
    expect(podSpec(find(manifests, 'Deployment', 'event-mesh-dispatcher')).serviceAccountName).toBe('event-mesh-dispatcher');
  });

  test('channels carry the Pub/Sub template; no NATS, no Secret is deployed', () => {
    expect((find(manifests, 'Channel', 'orders').spec as any).channelTemplate)
      .toEqual({ apiVersion: 'messaging.cloud.google.com/v1beta1', kind: 'Channel', spec: { project: 'my-project' } });
    expect(all(manifests, 'StatefulSet')).toHaveLength(0);
    expect(all(manifests, 'Secret')).toHaveLength(0);
    expect(Yaml.stringify(...manifests)).not.toMatch(PRIVATE_KEY);
  });
});

test('a key file Secret: mounted read-only, GOOGLE_APPLICATION_CREDENTIALS points at it, only its name rendered', () => {
  const chart = new Chart(Testing.app(), 'c');
  new EventMesh(chart, 'mesh', {
    defaultChannel: 'pubsub',
    pubsub: { project: 'my-project', keySecret: { name: 'gcp-pubsub-key', key: 'sa.json' } },
    applications: [{ name: 'orders', namespaces: ['shop'] }],
  });
  const manifests = synth(chart);
  expect(validateManifests(manifests)).toBe(manifests.length);
  for (const name of ['event-mesh-dispatcher', 'orders-adapter']) {
    const deployment = find(manifests, 'Deployment', name);
    expect(containerEnv(deployment)).toMatchObject({ PUBSUB_PROJECT: 'my-project', GOOGLE_APPLICATION_CREDENTIALS: `${PUBSUB_KEY_MOUNT_PATH}/key.json` });
    const spec = podSpec(deployment);
    const volume = spec.volumes.find((v: any) => v.secret?.secretName === 'gcp-pubsub-key');
    expect(volume.secret).toMatchObject({ secretName: 'gcp-pubsub-key', items: [{ key: 'sa.json', path: 'key.json' }] });
    expect(spec.containers[0].volumeMounts).toContainEqual(expect.objectContaining({ name: volume.name, mountPath: PUBSUB_KEY_MOUNT_PATH, readOnly: true }));
  }
  // No Workload Identity annotation when a key is used, and nothing secret in the output.
  expect(find(manifests, 'ServiceAccount', PUBSUB_ADAPTER_SERVICE_ACCOUNT).metadata!.annotations).toBeUndefined();
  expect(all(manifests, 'Secret')).toHaveLength(0);
  expect(Yaml.stringify(...manifests)).not.toMatch(PRIVATE_KEY);
});

test('per-application override: one application on pubsub next to NATS, a knative-service adapter too', () => {
  const chart = new Chart(Testing.app(), 'c');
  new EventMesh(chart, 'mesh', {
    pubsub: { project: 'my-project', gcpServiceAccount: GSA },
    applications: [
      { name: 'orders', namespaces: ['shop'] },
      { name: 'billing', channel: 'pubsub', namespaces: ['shop'] },
      { name: 'audit', channel: 'pubsub', namespaces: ['shop'], adapter: { workload: 'knative-service' }, auth: { mode: 'none' } },
    ],
  });
  const manifests = synth(chart);
  expect(validateManifests(manifests)).toBe(manifests.length);
  expect(containerEnv(find(manifests, 'Deployment', 'orders-adapter'))).toMatchObject({ EVENT_MESH_CHANNEL: 'nats' });
  expect(containerEnv(find(manifests, 'Deployment', 'orders-adapter')).PUBSUB_PROJECT).toBeUndefined();
  expect(podSpec(find(manifests, 'Deployment', 'orders-adapter')).serviceAccountName).toBeUndefined();
  expect(containerEnv(find(manifests, 'Deployment', 'billing-adapter'))).toMatchObject({ EVENT_MESH_CHANNEL: 'pubsub', PUBSUB_PROJECT: 'my-project' });
  const knative = find(manifests, 'Service', 'audit-adapter');
  expect(podSpec(knative).serviceAccountName).toBe(PUBSUB_ADAPTER_SERVICE_ACCOUNT);
  // The dispatcher consumes both kinds: NATS by default, Pub/Sub with its project and identity.
  expect(containerEnv(find(manifests, 'Deployment', 'event-mesh-dispatcher'))).toMatchObject({ EVENT_MESH_CHANNEL: 'nats', PUBSUB_PROJECT: 'my-project' });
  expect(all(manifests, 'StatefulSet')).toHaveLength(1);
});

test('the controller renders a kubectl-created Pub/Sub application with the same identity and env', () => {
  const settings = controllerMeshSettings({ defaultChannel: 'pubsub', pubsub: { project: 'my-project', gcpServiceAccount: GSA } }, ['pubsub']);
  expect(settings.pubsub).toEqual({ project: 'my-project', gcpServiceAccount: GSA });
  const rendered = renderApplication({ name: 'orders' }, settings as ControllerMeshSettings);
  const adapter = rendered.objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'orders-adapter') as unknown as Manifest;
  expect(podSpec(adapter).serviceAccountName).toBe(PUBSUB_ADAPTER_SERVICE_ACCOUNT);
  expect(containerEnv(adapter)).toMatchObject({ EVENT_MESH_CHANNEL: 'pubsub', PUBSUB_PROJECT: 'my-project' });
  // The ServiceAccount itself is the mesh's (rendered once, by the EventMesh), not the application's.
  expect(rendered.objects.some((o) => o.kind === 'ServiceAccount')).toBe(false);
});
