import { Chart, Testing, Yaml } from 'cdk8s';
import { EventMesh, KAFKA_SECRET_KEYS, KafkaChannel } from '../../constructs';
import { buildKafkaAzureChart } from '../../examples/kafka-azure/main';
import { all, containerEnv, find, synth } from '../support/synth';
import { validateManifests, type Manifest } from '../support/validate-manifests';

const SECRET_ENV = /PASSWORD|SECRET|TOKEN|CONNECTION/i;

function envEntries(manifests: Manifest[]) {
  return manifests
    .filter((m) => ['Deployment', 'StatefulSet'].includes(m.kind))
    .flatMap((w) => (w.spec as any).template.spec.containers.flatMap((c: any) => (c.env ?? []) as { name: string; value?: string; valueFrom?: any }[]));
}

describe('the kafka-azure example (secret by reference)', () => {
  let manifests: Manifest[];
  beforeAll(() => {
    manifests = synth(buildKafkaAzureChart(Testing.app()));
  });

  test('renders no Secret and no secret literal', () => {
    expect(all(manifests, 'Secret')).toHaveLength(0);
    const yaml = Yaml.stringify(...manifests);
    expect(yaml).not.toMatch(/Endpoint=sb:|SharedAccessKey|password:\s*\S/i);
    const secretEnv = envEntries(manifests).filter((e) => SECRET_ENV.test(e.name));
    // KAFKA_PASSWORD in the dispatcher and the adapter at least: the loop below is not vacuous.
    expect(secretEnv.filter((e) => e.name === 'KAFKA_PASSWORD')).toHaveLength(2);
    for (const env of secretEnv) {
      expect(env.value).toBeUndefined();
      expect(env.valueFrom.secretKeyRef).toMatchObject({ name: 'knative-kafka' });
    }
  });

  test('the runtime reads every credential through secretKeyRef', () => {
    for (const name of ['event-mesh-dispatcher', 'orders-adapter']) {
      const env = containerEnv(find(manifests, 'Deployment', name));
      expect(env).toMatchObject({
        EVENT_MESH_CHANNEL: 'kafka',
        KAFKA_BROKERS: { secretKeyRef: { name: 'knative-kafka', key: KAFKA_SECRET_KEYS.brokers, optional: false } },
        KAFKA_USERNAME: { secretKeyRef: { name: 'knative-kafka', key: KAFKA_SECRET_KEYS.username, optional: true } },
        KAFKA_PASSWORD: { secretKeyRef: { name: 'knative-kafka', key: KAFKA_SECRET_KEYS.password, optional: false } },
        KAFKA_TLS: 'true',
      });
    }
  });

  test('channels carry the KafkaChannel template, with retention from the stream max age', () => {
    expect((find(manifests, 'Channel', 'orders').spec as any).channelTemplate).toEqual({
      apiVersion: 'messaging.knative.dev/v1beta1',
      kind: 'KafkaChannel',
      spec: { numPartitions: 8, replicationFactor: 3, retentionDuration: 'PT86400S' },
    });
  });

  test('no NATS is deployed when nothing uses it', () => {
    expect(all(manifests, 'StatefulSet')).toHaveLength(0);
  });
});

test('a literal Secret only when asked explicitly, base64-encoded, in every namespace whose pods use it', () => {
  const chart = new Chart(Testing.app(), 'c');
  new EventMesh(chart, 'mesh', {
    defaultChannel: 'kafka',
    kafka: { provider: 'local', insecureLiteralSecret: { brokersHostname: 'kafka.local', brokersPort: 9092, namespace: 'dev', password: 'hunter2' } },
  });
  const manifests = synth(chart);
  const secrets = all(manifests, 'Secret');
  expect(secrets.map((s) => s.metadata!.namespace).sort()).toEqual(['event-mesh-system', 'kyma-integration']);
  const data = (secrets[0] as any).data as Record<string, string>;
  const decoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  expect(decoded).toEqual({
    brokers: 'kafka.local:9092', 'brokers.hostname': 'kafka.local', 'brokers.port': '9092', namespace: 'dev',
    username: '$ConnectionString', password: 'hunter2', provider: 'local',
  });
  expect(Yaml.stringify(...manifests)).not.toContain('hunter2');
  expect(containerEnv(find(manifests, 'Deployment', 'event-mesh-dispatcher')).KAFKA_TLS).toBe('false');
  expect(validateManifests(manifests)).toBe(manifests.length);
});

test('a provider the runtime does not know', () => {
  const chart = new Chart(Testing.app(), 'c');
  expect(() => new KafkaChannel(chart, 'kafka', { provider: 'aws' as never, namespaces: ['a'] }))
    .toThrow('kafka provider must be one of azure, confluent, local, got "aws"; set provider to "azure" for Event Hubs, "confluent" for Confluent Cloud or "local" (at c/kafka)');
});
