import { byName, installMocks, isRpcSecret, registered, resetRecords, settle, valueOf, type Registration } from './harness';

installMocks();

import * as pulumi from '@pulumi/pulumi';
import { readProgramConfig, type ConfigSource } from '../../stacks/program/config';
import { deployEventMeshEnvironment, type ProgramResult } from '../../stacks/program/program';
import { synthesizeEventMesh } from '../../stacks/event-mesh';
import { objectKey, phaseOf, type KubeObject } from '../../stacks/kubernetes-objects';
import { KAFKA_SECRET_KEYS, KAFKA_SECRET_NAME } from '../../constructs/api';

const MESH = 'event-mesh:index:EventMesh';
const HUBS = 'event-mesh:azure:EventHubsKafka';

function source(values: Record<string, unknown>): ConfigSource {
  const raw = new Map(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  return { name: 'event-mesh', get: (key) => raw.get(key) };
}

const BASE = {
  applications: [
    { name: 'commerce', namespaces: ['prod', 'stage'] },
    { name: 'marketing', namespaces: ['prod'] },
  ],
  triggers: [
    {
      name: 'order-created',
      namespace: 'prod',
      filter: { type: 'order.created' },
      subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'orders' } },
    },
  ],
};

async function run(values: Record<string, unknown>): Promise<ProgramResult> {
  const result = deployEventMeshEnvironment(readProgramConfig(source(values)));
  const resources: pulumi.Resource[] = [result.mesh, ...result.mesh.deployed.map((d) => d.resource)];
  if (result.eventHubs) {
    const h = result.eventHubs;
    resources.push(h, h.namespace, h.authorizationRule, ...h.secrets, ...h.eventHubs);
  }
  await settle(resources);
  return result;
}

const component = (type: string) => registered().find((r) => r.type === type);
const childrenOf = (parent: Registration | undefined) => registered().filter((r) => parent && r.parent === parent.urn);
const asObject = (r: Registration) => r.inputs as unknown as KubeObject;

describe('the program', () => {
  beforeEach(() => resetRecords());

  test('channel nats: the mesh alone, exactly the construct objects, URLs exported', async () => {
    const result = await run({ ...BASE, channel: 'nats' });
    expect(result.eventHubs).toBeUndefined();
    expect(registered().some((r) => r.type.startsWith('azure-native:'))).toBe(false);
    const mesh = component(MESH)!;
    expect(mesh.parent).toBe(''); // top level of the stack
    const expected = synthesizeEventMesh(readProgramConfig(source({ ...BASE, channel: 'nats' })).mesh).objects;
    const children = childrenOf(mesh);
    expect(children).toHaveLength(expected.length);
    expect(registered()).toHaveLength(expected.length + 1);
    const byKey = new Map(children.map((r) => [objectKey(asObject(r)), asObject(r)]));
    for (const o of expected) expect(byKey.get(objectKey(o))).toEqual(o);
    expect(children.some((r) => asObject(r).kind === 'StatefulSet' && asObject(r).metadata.name === 'event-mesh-nats')).toBe(true);

    expect(result.outputs.channel).toBe('nats');
    expect(await valueOf(result.outputs.adapterUrls)).toEqual({
      commerce: 'https://commerce-adapter.kyma-integration.svc.cluster.local/events',
      marketing: 'https://marketing-adapter.kyma-integration.svc.cluster.local/events',
    });
    expect(Object.keys(await valueOf(result.outputs.brokerIngressUrls))).toEqual(['prod/default', 'stage/default']);
    expect(result.outputs.eventHubsNamespace).toBeUndefined();
  });

  test('kubeContext selects an explicit provider used by every Kubernetes resource', async () => {
    await run({ ...BASE, kubeContext: 'kind-dev' });
    const provider = registered().find((r) => r.type === 'pulumi:providers:kubernetes')!;
    expect(provider.inputs.context).toBe('kind-dev');
    const children = childrenOf(component(MESH));
    expect(children.length).toBeGreaterThan(20);
    for (const r of children) expect(r.provider.startsWith(provider.urn)).toBe(true);
  });

  describe('channel kafka', () => {
    const KAFKA = { ...BASE, channel: 'kafka', azure: { location: 'westeurope', sku: 'Standard', tags: { env: 'test' } } };

    test('Event Hubs, the Secrets and a mesh on the Kafka channel', async () => {
      const result = await run(KAFKA);
      const hubs = component(HUBS)!;
      const mesh = component(MESH)!;
      expect(hubs.parent).toBe('');
      expect(mesh.parent).toBe('');
      const hubChildren = childrenOf(hubs);
      const count = (type: string) => hubChildren.filter((r) => r.type === type).length;
      expect(count('azure-native:resources:ResourceGroup')).toBe(1);
      expect(count('azure-native:eventhub:Namespace')).toBe(1);
      expect(count('azure-native:eventhub:NamespaceAuthorizationRule')).toBe(1);
      expect(count('kubernetes:core/v1:Secret')).toBe(2);
      // One Event Hub per Kafka application channel and per broker (Kafka is the default channel).
      expect(hubChildren.filter((r) => r.type === 'azure-native:eventhub:EventHub').map((r) => r.inputs.eventHubName).sort()).toEqual([
        'broker.prod.default', 'broker.stage.default', 'channel.kyma-integration.commerce', 'channel.kyma-integration.marketing',
      ]);
      // Topic settings follow the mesh's Kafka channel (numPartitions 10, retention = stream maxAge 24h).
      for (const hub of hubChildren.filter((r) => r.type === 'azure-native:eventhub:EventHub')) {
        expect(hub.inputs).toMatchObject({ partitionCount: 10, retentionDescription: { retentionTimeInHours: 24 } });
      }

      // The mesh is on the Kafka channel and reads the Secret the Event Hubs part created.
      const meshObjects = childrenOf(mesh).map(asObject);
      const channels = meshObjects.filter((o) => o.kind === 'Channel');
      expect(channels).toHaveLength(2);
      for (const c of channels) expect((c.spec as { channelTemplate: { kind: string } }).channelTemplate.kind).toBe('KafkaChannel');
      const dispatcher = meshObjects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'event-mesh-dispatcher')!;
      const env = (dispatcher as unknown as { spec: { template: { spec: { containers: { env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] }[] } } } })
        .spec.template.spec.containers[0].env;
      expect(env.find((e) => e.name === 'KAFKA_PASSWORD')?.valueFrom?.secretKeyRef).toMatchObject({ name: KAFKA_SECRET_NAME, key: KAFKA_SECRET_KEYS.password });
      expect(env.find((e) => e.name === 'EVENT_MESH_CHANNEL')?.value).toBe('kafka');
      expect(meshObjects.some((o) => o.kind === 'StatefulSet')).toBe(false); // no NATS
      // Not one credential in the manifests: the Secret is referenced, never rendered.
      expect(meshObjects.some((o) => o.kind === 'Secret')).toBe(false);
      expect(JSON.stringify(meshObjects)).not.toContain('SharedAccessKey');

      // The same objects the construct synthesizes for the program's props.
      const expected = synthesizeEventMesh(readProgramConfig(source(KAFKA)).mesh).objects;
      const byKey = new Map(meshObjects.map((o) => [objectKey(o), o]));
      expect(byKey.size).toBe(expected.length);
      for (const o of expected) expect(byKey.get(objectKey(o))).toEqual(o);

      expect(result.outputs.channel).toBe('kafka');
      expect(await valueOf(result.outputs.eventHubsNamespace!)).toBe('event-hubs-ns5678');
      expect(await valueOf(result.outputs.kafkaBrokers!)).toBe('event-hubs-ns5678.servicebus.windows.net:9093');
    });

    test('order: mesh Namespaces → Secrets → the mesh objects that need them; no cycle', async () => {
      await run(KAFKA);
      const mesh = component(MESH)!;
      const meshChildren = childrenOf(mesh);
      const nsUrn = (name: string) => meshChildren.find((r) => asObject(r).kind === 'Namespace' && asObject(r).metadata.name === name)!.urn;
      const secrets = childrenOf(component(HUBS)).filter((r) => r.type === 'kubernetes:core/v1:Secret');
      expect(secrets.map((s) => asObject(s).metadata.namespace).sort()).toEqual(['event-mesh-system', 'kyma-integration']);
      for (const s of secrets) {
        expect(s.dependencies).toEqual(expect.arrayContaining([nsUrn('event-mesh-system'), nsUrn('kyma-integration')]));
        expect(s.name).toBe(`event-hubs-${KAFKA_SECRET_NAME}-${asObject(s).metadata.namespace}`);
      }
      const secretUrns = secrets.map((s) => s.urn);
      for (const r of meshChildren) {
        const waits = secretUrns.every((u) => r.dependencies.includes(u));
        expect([r.name, waits]).toEqual([r.name, phaseOf(asObject(r)) === 'object']);
      }
      // The Deployments (adapters, dispatcher, controller) in particular.
      const deployments = meshChildren.filter((r) => r.type === 'kubernetes:apps/v1:Deployment');
      expect(deployments.length).toBe(4);
      for (const d of deployments) expect(d.dependencies).toEqual(expect.arrayContaining(secretUrns));
    });

    test('credentials stay secret from Azure to the cluster', async () => {
      const result = await run(KAFKA);
      expect(await pulumi.isSecret(result.eventHubs!.connectionString)).toBe(true);
      for (const s of registered().filter((r) => r.type === 'kubernetes:core/v1:Secret')) {
        expect(isRpcSecret(s.rawInputs.stringData)).toBe(true);
        expect((s.inputs.stringData as Record<string, string>)[KAFKA_SECRET_KEYS.password]).toMatch(/^Endpoint=sb:\/\//);
      }
      // Nothing the program exports carries a credential.
      for (const [key, value] of Object.entries(result.outputs)) {
        const v: unknown = pulumi.Output.isInstance(value) ? await valueOf(value as pulumi.Output<unknown>) : value;
        expect([key, JSON.stringify(v ?? null).includes('SharedAccessKey')]).toEqual([key, false]);
      }
    });

    test('azure.eventHubs false leaves topics to the runtime; an existing resource group is used as is', async () => {
      await run({ ...BASE, channel: 'kafka', azure: { existingResourceGroup: 'platform', eventHubs: false, sku: 'Premium' } });
      expect(registered().some((r) => r.type === 'azure-native:eventhub:EventHub')).toBe(false);
      expect(registered().some((r) => r.type === 'azure-native:resources:ResourceGroup')).toBe(false);
      expect(byName('event-hubs-ns').inputs).toMatchObject({ resourceGroupName: 'platform', sku: { name: 'Premium' } });
    });
  });
});
