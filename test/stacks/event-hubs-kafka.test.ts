import { FAKE_CONNECTION_STRING, byName, installMocks, invokes, isRpcSecret, registered, resetRecords, settle, urnParts, valueOf } from './harness';

installMocks();

import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { EventHubsKafka, type EventHubsKafkaArgs, validateEventHubsKafkaArgs, kafkaHostFromEndpoint } from '../../stacks/event-hubs-kafka';
import { KAFKA_SECRET_KEYS, KAFKA_SECRET_NAME } from '../../constructs/api';

const COMPONENT = 'event-mesh:azure:EventHubsKafka';

async function build(name: string, args: EventHubsKafkaArgs): Promise<EventHubsKafka> {
  const c = new EventHubsKafka(name, args);
  await settle([c, ...c.secrets, c.namespace, c.authorizationRule, ...c.eventHubs]);
  return c;
}

/** Output properties holding credentials (names and namespaces of things are identifiers, not credentials). */
function credentialOutputs(c: EventHubsKafka): [string, pulumi.Output<unknown>][] {
  return Object.entries(c)
    .filter(([k, v]) => pulumi.Output.isInstance(v) && /password|connection|key|secret/i.test(k) && !/(Name|Namespaces?)$/.test(k))
    .map(([k, v]) => [k, v as pulumi.Output<unknown>]);
}

describe('EventHubsKafka', () => {
  beforeEach(() => resetRecords());

  test('creates a resource group, a Standard namespace with Kafka and TLS 1.2, a Send/Listen rule and the knative-kafka Secret', async () => {
    const c = await build('kafka', { location: 'westeurope', tags: { env: 'dev' } });
    const types = registered().map((r) => r.type).sort();
    expect(types).toEqual(
      [
        COMPONENT,
        'azure-native:eventhub:Namespace',
        'azure-native:eventhub:NamespaceAuthorizationRule',
        'azure-native:resources:ResourceGroup',
        'kubernetes:core/v1:Secret',
        'kubernetes:core/v1:Secret',
      ].sort(),
    );
    const component = registered().find((r) => r.type === COMPONENT)!;
    for (const r of registered().filter((x) => x !== component)) {
      expect(r.parent).toBe(component.urn);
      expect(urnParts(r.urn).types).toEqual([COMPONENT, r.type]);
    }

    const ns = byName('kafka-ns').inputs;
    expect(ns.sku).toEqual({ name: 'Standard', tier: 'Standard', capacity: 1 });
    expect(ns.kafkaEnabled).toBe(true);
    expect(ns.minimumTlsVersion).toBe('1.2');
    expect(ns.disableLocalAuth).toBe(false);
    expect(ns.location).toBe('westeurope');
    expect(ns.tags).toEqual({ 'part-of': 'event-mesh', env: 'dev' });
    // Azure tag names may not contain < > % & \ ? /
    for (const r of registered().filter((x) => x.type.startsWith('azure-native:') && x.inputs.tags)) {
      for (const key of Object.keys(r.inputs.tags as object)) expect(key).not.toMatch(/[<>%&\\?/]/);
    }

    const rule = byName('kafka-mesh').inputs;
    expect(rule.rights).toEqual(['Send', 'Listen']);
    expect(rule.authorizationRuleName).not.toMatch(/RootManage/i);
    const keysCall = invokes().find((i) => i.token === 'azure-native:eventhub:listNamespaceKeys')!;
    expect(keysCall.inputs.authorizationRuleName).toBe('event-mesh');
    expect(keysCall.inputs.namespaceName).toBe('kafka-ns5678');

    expect(await valueOf(c.namespaceName)).toBe('kafka-ns5678');
    expect(await valueOf(c.brokersHost)).toBe('kafka-ns5678.servicebus.windows.net');
    expect(await valueOf(c.brokers)).toBe('kafka-ns5678.servicebus.windows.net:9093');
    expect(await valueOf(c.secretName)).toBe(KAFKA_SECRET_NAME);
  });

  test('the Secret carries every KAFKA_SECRET_KEYS key, in the system and the integration namespace', async () => {
    await build('kafka', { location: 'westeurope' });
    const secrets = registered().filter((r) => r.type === 'kubernetes:core/v1:Secret');
    expect(secrets.map((r) => r.inputs.metadata)).toEqual([
      expect.objectContaining({ name: KAFKA_SECRET_NAME, namespace: 'event-mesh-system' }),
      expect.objectContaining({ name: KAFKA_SECRET_NAME, namespace: 'kyma-integration' }),
    ]);
    const secret = byName(`kafka-${KAFKA_SECRET_NAME}-event-mesh-system`);
    expect(secrets[1].inputs.stringData).toEqual(secret.inputs.stringData);
    expect(secret.inputs.type).toBe('Opaque');
    expect(secret.inputs.stringData).toEqual({
      [KAFKA_SECRET_KEYS.brokers]: 'kafka-ns5678.servicebus.windows.net:9093',
      [KAFKA_SECRET_KEYS.hostname]: 'kafka-ns5678.servicebus.windows.net',
      [KAFKA_SECRET_KEYS.port]: '9093',
      [KAFKA_SECRET_KEYS.namespace]: 'kafka-ns5678',
      [KAFKA_SECRET_KEYS.username]: '$ConnectionString',
      [KAFKA_SECRET_KEYS.password]: FAKE_CONNECTION_STRING,
      [KAFKA_SECRET_KEYS.provider]: 'azure',
    });
  });

  test('every credential is a Pulumi secret: outputs, the Secret resource and what the engine receives', async () => {
    const c = await build('kafka', { location: 'westeurope' });
    const creds = credentialOutputs(c);
    expect(creds.map(([k]) => k)).toContain('connectionString');
    for (const [key, out] of creds) {
      expect([key, await pulumi.isSecret(out)]).toEqual([key, true]);
    }
    for (const s of c.secrets) expect(await pulumi.isSecret(s.stringData)).toBe(true);
    // On the wire: each Secret's stringData reaches the engine marked secret, and the engine is
    // told to keep data and stringData secret in the state (the mock engine does not apply that).
    const secrets = registered().filter((r) => r.type === 'kubernetes:core/v1:Secret');
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) {
      expect(isRpcSecret(secret.rawInputs.stringData)).toBe(true);
      expect(secret.additionalSecretOutputs).toEqual(expect.arrayContaining(['data', 'stringData']));
    }
    // No other registered resource carries the connection string in plain text.
    for (const r of registered()) {
      const plain = JSON.stringify(r.rawInputs, (_k, v) => (isRpcSecret(v) ? '[secret]' : v));
      expect([r.name, plain.includes('SharedAccessKey=')]).toEqual([r.name, false]);
    }
  });

  test('rejects the Basic tier with a clear error', () => {
    const args = { location: 'westeurope', sku: 'Basic' } as unknown as EventHubsKafkaArgs;
    expect(validateEventHubsKafkaArgs(args).join()).toMatch(/Basic.*Kafka.*Standard or Premium/);
    expect(() => new EventHubsKafka('basic', args)).toThrow(/sku "Basic" has no Kafka endpoint.*Set sku to "Standard"/);
  });

  test('checks tier limits and names before Azure does', () => {
    expect(validateEventHubsKafkaArgs({ sku: 'Standard', eventHubs: { applications: ['a'], partitionCount: 40 } }).join()).toMatch(/partitionCount must be 1-32 on Standard/);
    expect(validateEventHubsKafkaArgs({ sku: 'Premium', eventHubs: { applications: ['a'], partitionCount: 40, retentionInHours: 30 * 24 } })).toEqual([]);
    expect(validateEventHubsKafkaArgs({ eventHubs: { applications: ['a'], retentionInHours: 169 } }).join()).toMatch(/retentionInHours must be 1-168 on Standard/);
    expect(validateEventHubsKafkaArgs({ eventHubs: { applications: Array.from({ length: 11 }, (_, i) => `a${i}`) } }).join()).toMatch(/allows 10 per namespace/);
    expect(validateEventHubsKafkaArgs({ eventHubs: { applications: ['a', 'a'] } }).join()).toMatch(/listed twice/);
    expect(validateEventHubsKafkaArgs({ namespaceName: 'ab' }).join()).toMatch(/6-50 letters/);
    expect(validateEventHubsKafkaArgs({ namespaceName: 'my-mesh-sb' }).join()).toMatch(/-sb/);
    expect(validateEventHubsKafkaArgs({ capacity: 0 }).join()).toMatch(/capacity/);
    expect(validateEventHubsKafkaArgs({ tags: { 'app.kubernetes.io/part-of': 'x' } }).join()).toMatch(/not a valid Azure tag name/);
    expect(validateEventHubsKafkaArgs({ kubernetes: { namespaces: [] } }).join()).toMatch(/kubernetes.namespaces is empty/);
    expect(validateEventHubsKafkaArgs({ kubernetes: { namespaces: ['Bad_NS'] } }).join()).toMatch(/"Bad_NS" is not a valid namespace/);
  });

  test('an existing resource group is looked up, not created; Premium and one Event Hub per application channel and broker', async () => {
    const c = await build('hubs', {
      existingResourceGroupName: 'platform-rg',
      sku: 'Premium',
      namespaceName: 'commerce-mesh',
      eventHubs: { applications: ['commerce', 'marketing'], brokers: [{ namespace: 'prod', name: 'default' }], partitionCount: 4, retentionInHours: 72 },
      kubernetes: { namespaces: ['mesh-system'], secretName: 'hubs-kafka' },
    });
    expect(registered().some((r) => r.type === 'azure-native:resources:ResourceGroup')).toBe(false);
    expect(invokes().some((i) => i.token === 'azure-native:resources:getResourceGroup' && i.inputs.resourceGroupName === 'platform-rg')).toBe(true);
    const ns = byName('hubs-ns').inputs;
    expect(ns).toMatchObject({ resourceGroupName: 'platform-rg', location: 'northeurope', namespaceName: 'commerce-mesh', sku: { name: 'Premium', tier: 'Premium' } });
    const hubs = registered().filter((r) => r.type === 'azure-native:eventhub:EventHub');
    expect(hubs.map((h) => h.inputs.eventHubName).sort()).toEqual(['broker.prod.default', 'channel.kyma-integration.commerce', 'channel.kyma-integration.marketing']);
    for (const h of hubs) {
      expect(h.inputs).toMatchObject({
        namespaceName: 'commerce-mesh',
        resourceGroupName: 'platform-rg',
        partitionCount: 4,
        retentionDescription: { cleanupPolicy: 'Delete', retentionTimeInHours: 72 },
      });
    }
    expect(await valueOf(c.eventHubNames)).toEqual(['channel.kyma-integration.commerce', 'channel.kyma-integration.marketing', 'broker.prod.default']);
    expect(byName('hubs-hubs-kafka-mesh-system').inputs.metadata).toMatchObject({ name: 'hubs-kafka', namespace: 'mesh-system' });
    expect(await valueOf(c.secretName)).toBe('hubs-kafka');
  });

  test('the Secret uses the given Kubernetes provider and waits for what it is told to', async () => {
    const provider = new k8s.Provider('kube', { context: 'dev' });
    const ns = new k8s.core.v1.Namespace('system', { metadata: { name: 'event-mesh-system' } }, { provider });
    await build('kafka', { location: 'westeurope', kubernetes: { provider, dependsOn: [ns] } });
    const secret = byName(`kafka-${KAFKA_SECRET_NAME}-event-mesh-system`);
    expect(secret.provider).toContain('kubernetes::kube');
    expect(secret.dependencies).toContain(byName('system').urn);
  });

  test('kafkaHostFromEndpoint follows the namespace endpoint (sovereign clouds) and defaults to servicebus.windows.net', () => {
    expect(kafkaHostFromEndpoint('https://x.servicebus.chinacloudapi.cn:443/', 'x')).toBe('x.servicebus.chinacloudapi.cn');
    expect(kafkaHostFromEndpoint(undefined, 'x')).toBe('x.servicebus.windows.net');
  });
});
