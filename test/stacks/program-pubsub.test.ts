/** The Pulumi program with `channel: pubsub` (mocks): config keys, GcpPubSub wired into the mesh's props, ordering. */
import { installMocks, registered, resetRecords, settle, valueOf, type Registration } from './harness';

installMocks();

import { ConfigValidationError, readProgramConfig, type ConfigSource } from '../../stacks/program/config';
import { deployEventMeshEnvironment } from '../../stacks/program/program';
import { gcpServiceAccountEmail } from '../../stacks/gcp-account';
import { GKE_WORKLOAD_IDENTITY_ANNOTATION, PUBSUB_ADAPTER_SERVICE_ACCOUNT, pubsubTopicId } from '../../constructs/api';

function source(values: Record<string, unknown>): ConfigSource {
  const raw = new Map(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  return { name: 'event-mesh', get: (key) => raw.get(key) };
}

const BASE = {
  channel: 'pubsub',
  gcp: { project: 'my-project' },
  applications: [{ name: 'commerce', namespaces: ['prod'] }],
};

const meta = (r: Registration) => r.inputs.metadata as { name: string; namespace?: string; annotations?: Record<string, string> };

describe('the program with channel pubsub', () => {
  beforeEach(() => resetRecords());

  test('creates GcpPubSub and a mesh whose ServiceAccounts carry its Google service account; workloads wait for the IAM bindings', async () => {
    const result = deployEventMeshEnvironment(readProgramConfig(source(BASE)));
    const g = result.gcpPubSub!;
    await settle([result.mesh, ...result.mesh.deployed.map((d) => d.resource), g, g.serviceAccount, ...g.workloadIdentityBindings, ...g.projectMembers, ...g.topics]);
    const email = await valueOf(g.serviceAccountEmail);
    expect(email).toBe('event-mesh@my-project.iam.gserviceaccount.com');
    expect(await valueOf(result.outputs.gcpServiceAccount)).toBe(email);

    const serviceAccounts = registered().filter((r) => r.type === 'kubernetes:core/v1:ServiceAccount');
    for (const [namespace, name] of [['event-mesh-system', 'event-mesh-dispatcher'], ['kyma-integration', PUBSUB_ADAPTER_SERVICE_ACCOUNT]]) {
      const sa = serviceAccounts.find((r) => meta(r).name === name && meta(r).namespace === namespace)!;
      expect(meta(sa).annotations).toEqual({ [GKE_WORKLOAD_IDENTITY_ANNOTATION]: email });
    }
    const bindingUrns = await Promise.all(g.workloadIdentityBindings.map((b) => valueOf(b.urn)));
    const deployments = registered().filter((r) => r.type === 'kubernetes:apps/v1:Deployment');
    expect(deployments.length).toBeGreaterThan(1);
    for (const d of deployments) expect(d.dependencies).toEqual(expect.arrayContaining(bindingUrns));
    const env = (name: string) => {
      const d = deployments.find((r) => meta(r).name === name)!;
      return Object.fromEntries(((d.inputs.spec as any).template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    };
    expect(env('commerce-adapter')).toMatchObject({ EVENT_MESH_CHANNEL: 'pubsub', PUBSUB_PROJECT: 'my-project' });

    // Topics for the application channel and the broker (the default channel is Pub/Sub).
    expect(await valueOf(result.outputs.pubsubTopicIds)).toEqual([
      pubsubTopicId('channel.kyma-integration.commerce'), pubsubTopicId('broker.prod.default'),
    ]);
    expect(registered().some((r) => r.type.startsWith('azure-native:'))).toBe(false);
  });

  test('gcp.topics false and createResources false: no topics, no custom role', async () => {
    const result = deployEventMeshEnvironment(readProgramConfig(source({ ...BASE, gcp: { project: 'my-project', topics: false, createResources: 'false' } })));
    await settle([result.gcpPubSub!, ...result.gcpPubSub!.projectMembers]);
    expect(registered().filter((r) => r.type.startsWith('gcp:pubsub'))).toHaveLength(0);
    expect(registered().filter((r) => r.type === 'gcp:projects/iAMCustomRole:IAMCustomRole')).toHaveLength(0);
  });

  test('channel nats creates nothing on GCP', async () => {
    const result = deployEventMeshEnvironment(readProgramConfig(source({ ...BASE, channel: 'nats' })));
    await settle([result.mesh]);
    expect(result.gcpPubSub).toBeUndefined();
    expect(registered().some((r) => r.type.startsWith('gcp:'))).toBe(false);
  });

  test('config problems: gcp missing, gcp.project missing, a bad flag', () => {
    const problems = (values: Record<string, unknown>) => {
      try {
        readProgramConfig(source(values));
      } catch (err) {
        return (err as ConfigValidationError).problems.map((p) => `${p.key}: ${p.message}`);
      }
      return [];
    };
    expect(problems({ channel: 'pubsub' })).toEqual([expect.stringMatching(/^event-mesh:gcp: is required when a channel is Pub\/Sub \(channel is "pubsub"\)/)]);
    expect(problems({ channel: 'nats', applications: [{ name: 'a', channel: 'pubsub' }], gcp: { topics: 'yes' } })).toEqual([
      'event-mesh:gcp.project: is required',
      'event-mesh:gcp.topics: must be true or false, got "yes"',
    ]);
  });

  test('the email the mesh is wired with is the one Google derives', () => {
    expect(gcpServiceAccountEmail('my-project', 'mesh-sa')).toBe('mesh-sa@my-project.iam.gserviceaccount.com');
    expect(gcpServiceAccountEmail('example.com:proj')).toBe('event-mesh@proj.example.com.iam.gserviceaccount.com');
  });
});
