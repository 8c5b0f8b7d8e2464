/**
 * Pub/Sub specifics: the CloudEvents binary-mode binding round-trips stored events exactly
 * (pure), settings are clamped to Pub/Sub's limits (pure), and against the real emulator
 * behind a TCP proxy: while Pub/Sub is unreachable the channel is not ready and publish
 * fails fast with ChannelUnavailableError; it recovers without a new channel.
 */
import { ChannelUnavailableError } from '../../runtime/channel/channel';
import { fromPubSubMessage, PubSubChannel, pubsubSubscriptionId, pubsubTopicId, subscriptionSettings, topicSettings, toPubSubMessage } from '../../runtime/channel/pubsub';
import { toChannelBytes } from '../../runtime/cloudevents';
import { startPubSubEmulator, PubSubEmulatorHandle } from '../support/pubsub-emulator';
import { startTcpProxy, TcpProxyHandle } from '../support/tcp-proxy';

const roundTrip = (bytes: Buffer) => fromPubSubMessage(toPubSubMessage(bytes).data, toPubSubMessage(bytes).attributes);

describe('binding', () => {
  const base = { specversion: '1.0', id: 'a-1', source: '/commerce', type: 'order.created', time: '2026-01-01T12:00:00Z' };
  test.each([
    ['JSON data with extensions of every type', { ...base, datacontenttype: 'application/json', data: { n: 1, s: 'x' }, myint: 42, flag: true, tag: 'v' }],
    ['no datacontenttype', { ...base, data: [1, 2, 3] }],
    ['text data', { ...base, datacontenttype: 'text/plain', data: 'hello' }],
    ['a JSON string as data', { ...base, datacontenttype: 'application/json', data: 'quoted' }],
    ['base64 data', { ...base, datacontenttype: 'application/octet-stream', data_base64: 'AAECAw==' }],
    ['no data', { ...base, subject: 's', dataschema: 'https://example.com/s.json' }],
  ])('%s: binary mode with ce- attributes, and back to the same event', (_name, ev) => {
    const bytes = Buffer.from(toChannelBytes(ev as never));
    const msg = toPubSubMessage(bytes);
    expect(msg.attributes['ce-id']).toBe('a-1');
    expect(msg.attributes['ce-specversion']).toBe('1.0');
    if ('datacontenttype' in ev) expect(msg.attributes['Content-Type']).toBe(ev.datacontenttype);
    expect(JSON.parse(roundTrip(bytes).toString())).toEqual(ev);
  });

  test('JSON data travels byte for byte (big integers keep their digits)', () => {
    const bytes = Buffer.from('{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"big":12345678901234567890123}}');
    expect(toPubSubMessage(bytes).data.toString()).toBe('{"big":12345678901234567890123}');
    expect(roundTrip(bytes).toString()).toContain('"data":{"big":12345678901234567890123}');
  });

  test('what binary mode cannot carry goes structured, unchanged; non-events travel as they are', () => {
    const long = Buffer.from(JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 't', ext: 'x'.repeat(2000) }));
    expect(toPubSubMessage(long).attributes['Content-Type']).toMatch(/^application\/cloudevents\+json/);
    expect(roundTrip(long).equals(long)).toBe(true);
    const opaque = Buffer.from('not json');
    expect(toPubSubMessage(opaque).attributes).toEqual({});
    expect(roundTrip(opaque).equals(opaque)).toBe(true);
  });
});

describe('config and names', () => {
  test('retention and expiration clamped to Pub/Sub limits', () => {
    expect(topicSettings({ maxAgeMs: 1000 }).messageRetentionDuration.seconds).toBe(600);
    expect(topicSettings({}).messageRetentionDuration.seconds).toBe(86_400);
    const s = subscriptionSettings({ maxAgeMs: 3_600_000, maxInactivityMs: 60_000 }, { maxInFlight: 1, ordered: true, ackWaitMs: 30_000 });
    expect(s).toEqual({ ackDeadlineSeconds: 30, messageRetentionDuration: { seconds: 3600 }, expirationPolicy: { ttl: { seconds: 86_400 } }, enableMessageOrdering: true });
    expect(subscriptionSettings({}, { maxInFlight: 1, ordered: false, ackWaitMs: 1 }).expirationPolicy).toEqual({});
  });

  test('IDs are valid and collision-free', () => {
    expect(pubsubTopicId('channel.kyma-integration.commerce')).toBe('em.channel.kyma-integration.commerce');
    const ids = new Set(['a.b', 'a%2Eb', 'a b', 'a~b', 'A.b'].map(pubsubTopicId));
    expect(ids.size).toBe(5);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/);
    expect(pubsubSubscriptionId('t', 'c')).not.toBe(pubsubSubscriptionId('t', 'c', true));
    expect(pubsubTopicId('x'.repeat(400)).length).toBeLessThanOrEqual(255);
  });
});

describe('against the emulator', () => {
  let emulator: PubSubEmulatorHandle;
  let proxy: TcpProxyHandle;
  beforeAll(async () => {
    emulator = await startPubSubEmulator();
    proxy = await startTcpProxy(emulator.port);
  }, 90_000);
  afterAll(async () => {
    await proxy?.stop();
    await emulator?.stop();
  });

  test('unreachable: not ready, publish fails fast with ChannelUnavailableError; recovers without a new channel', async () => {
    const ch = new PubSubChannel({ emulatorHost: proxy.host, projectId: emulator.projectId });
    try {
      await ch.connect();
      await ch.ensureTopic('channel.ns.outage');
      await ch.publish('channel.ns.outage', Buffer.from('before'));
      await proxy.cut();
      const deadline = Date.now() + 10_000;
      while (ch.isReady() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(ch.isReady()).toBe(false);
      const t0 = Date.now();
      const err = await ch.publish('channel.ns.outage', Buffer.from('during')).catch((e) => e);
      expect(err).toBeInstanceOf(ChannelUnavailableError);
      expect((err as ChannelUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
      expect(Date.now() - t0).toBeLessThan(1000);
      await proxy.restore();
      let ok = false;
      for (let i = 0; i < 200 && !ok; i++) {
        ok = await ch.publish('channel.ns.outage', Buffer.from('after')).then(() => true, () => false);
        if (!ok) await new Promise((r) => setTimeout(r, 50));
      }
      expect(ok).toBe(true);
      expect(ch.isReady()).toBe(true);
    } finally {
      await ch.close();
    }
  });
});
