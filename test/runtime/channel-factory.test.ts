/** Channel configuration, naming and error mapping (no servers needed). */
import { ChannelFullError, ChannelUnavailableError } from '../../runtime/channel/channel';
import { ChannelConfigError, channelConfigFromEnv, createChannel, topicOptionsFor } from '../../runtime/channel/factory';
import { InMemoryChannel } from '../../runtime/channel/in-memory';
import { durableNameFor, escapeName, JetStreamChannel, mapNatsError, streamNameFor, subjectFor } from '../../runtime/channel/jetstream';
import { KafkaChannel, kafkaGroupFor, kafkaTopicFor, mapKafkaError } from '../../runtime/channel/kafka';
import { PubSubChannel } from '../../runtime/channel/pubsub';

describe('channelConfigFromEnv', () => {
  test('defaults', () => {
    const c = channelConfigFromEnv({});
    expect(c).toMatchObject({ kind: 'nats', natsUrl: 'nats://127.0.0.1:4222', streamMaxAgeMs: 86_400_000, maxInactivityMs: 172_800_000, replicas: 1 });
    expect(topicOptionsFor(c)).toEqual({ maxAgeMs: 86_400_000, maxInactivityMs: 172_800_000, replicas: 1 });
    expect(channelConfigFromEnv({}, 'inmemory').kind).toBe('inmemory');
  });

  test('kafka: brokers required, Event Hubs username by default, TLS on', () => {
    expect(() => channelConfigFromEnv({ EVENT_MESH_CHANNEL: 'kafka' })).toThrow(/KAFKA_BROKERS/);
    const c = channelConfigFromEnv({ EVENT_MESH_CHANNEL: 'kafka', KAFKA_BROKERS: 'ns.servicebus.windows.net:9093', KAFKA_PASSWORD: 'Endpoint=sb://secret' });
    expect(c.kafka).toEqual({ brokers: ['ns.servicebus.windows.net:9093'], username: '$ConnectionString', password: 'Endpoint=sb://secret', tls: true });
  });

  test('invalid values name the variable', () => {
    expect(() => channelConfigFromEnv({ EVENT_MESH_CHANNEL: 'redis' })).toThrow(ChannelConfigError);
    expect(() => channelConfigFromEnv({ STREAM_MAX_AGE: '1 day' })).toThrow(/STREAM_MAX_AGE/);
    expect(() => channelConfigFromEnv({ STREAM_REPLICAS: '0' })).toThrow(/STREAM_REPLICAS/);
    expect(() => channelConfigFromEnv({ EVENT_MESH_CHANNEL: 'kafka', KAFKA_BROKERS: 'x:1', KAFKA_TLS: 'maybe' })).toThrow(/KAFKA_TLS/);
  });

  test('createChannel picks the implementation', async () => {
    expect(await createChannel({ kind: 'inmemory' })).toBeInstanceOf(InMemoryChannel);
    expect(await createChannel({ kind: 'nats' })).toBeInstanceOf(JetStreamChannel);
    expect(await createChannel({ kind: 'kafka', kafka: { brokers: ['127.0.0.1:1'] } })).toBeInstanceOf(KafkaChannel);
    expect(await createChannel({ kind: 'pubsub', pubsub: { projectId: 'p', emulatorHost: '127.0.0.1:1' } })).toBeInstanceOf(PubSubChannel);
  });
});

describe('names are collision-free and valid', () => {
  test('JetStream stream, durable and subject names', () => {
    expect(streamNameFor('channel.kyma-integration.commerce')).toBe('EM_channel_kyma-integration_commerce');
    expect(durableNameFor('trigger.ns.my-trigger')).toBe('trigger_ns_my-trigger');
    expect(subjectFor('broker.ns.default')).toBe('em.broker.ns.default');
    const topics = ['a.b', 'a_b', 'a-b', 'a__b', 'a._b', 'a_.b', 'A.b', 'a.B', 'a_X41', 'a*b', 'a b'];
    const names = new Set(topics.map(streamNameFor));
    expect(names.size).toBe(topics.length);
    for (const n of names) expect(n).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(subjectFor('a b')).toMatch(/^emx\.[A-Za-z0-9_-]+$/);
    expect(escapeName('x'.repeat(500)).length).toBeLessThanOrEqual(200);
    expect(escapeName('x'.repeat(500))).not.toBe(escapeName(`${'x'.repeat(499)}y`));
  });

  test('Kafka topic and group names', () => {
    expect(kafkaTopicFor('channel.kyma-integration.commerce')).toBe('channel.kyma-integration.commerce');
    expect(kafkaTopicFor('a_b')).toBe('a_X5Fb');
    expect(kafkaGroupFor('sub.ns.x')).toBe('event-mesh.sub.ns.x');
  });
});

describe('error mapping', () => {
  test('NATS', () => {
    const timeout = new Error('timeout');
    timeout.name = 'TimeoutError';
    expect(mapNatsError(timeout, 'publishing')).toBeInstanceOf(ChannelUnavailableError);
    expect(mapNatsError(new Error('maximum bytes exceeded'), 'publishing')).toBeInstanceOf(ChannelFullError);
    expect(mapNatsError(new Error('insufficient resources'), 'publishing')).toBeInstanceOf(ChannelFullError);
  });

  test('Kafka', () => {
    const conn = Object.assign(new Error('Connection error: ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
    expect(mapKafkaError(conn, 'publishing')).toBeInstanceOf(ChannelUnavailableError);
    const storage = Object.assign(new Error('retries exceeded'), { cause: Object.assign(new Error('storage'), { type: 'KAFKA_STORAGE_ERROR' }) });
    expect(mapKafkaError(storage, 'publishing')).toBeInstanceOf(ChannelFullError);
  });

  // (connect() against dead brokers is not exercised here: kafkajs keeps its retry timers
  // for a few seconds after close(), which would hold the test process open.)
  test('a Kafka channel that is not connected fails fast with ChannelUnavailableError', async () => {
    const ch = new KafkaChannel({ brokers: ['127.0.0.1:1'], tls: false, connectTimeoutMs: 300 });
    expect(ch.isReady()).toBe(false);
    await expect(ch.publish('t', Buffer.from('x'))).rejects.toBeInstanceOf(ChannelUnavailableError);
    await ch.close();
  });
});
