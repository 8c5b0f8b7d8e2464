/**
 * One hop less: a Subscription whose subscriber is a Broker this dispatcher serves stores
 * the event on the broker's topic in process (no HTTP call to its own ingress), acks the
 * channel message only once the broker stored it, stamps knativearrivaltime as ingress
 * does, and retries while the broker's storage is down instead of dropping the event.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { brokerTopic, channelTopic } from '../../constructs/api';
import type { Channel, ChannelMessage, ConsumerOptions, MessageHandler } from '../../runtime/channel/channel';
import { ChannelUnavailableError } from '../../runtime/channel/channel';
import { InMemoryChannel } from '../../runtime/channel/in-memory';
import { startDispatcher } from '../../runtime/dispatcher';
import type { Dispatcher } from '../../runtime/dispatcher';
import { accept, startSubscriber } from '../support/http-subscriber';
import type { Subscriber } from '../support/http-subscriber';

/** An in-memory channel whose broker topic can be "down", recording stores and acks in order. */
class Recording extends InMemoryChannel {
  brokerDown = 0;
  readonly log: string[] = [];
  constructor(private readonly brokerTopicName: string, private readonly appTopic: string) {
    super();
  }
  override async publish(topic: string, data: Uint8Array): Promise<void> {
    if (topic === this.brokerTopicName) {
      if (this.brokerDown > 0) {
        this.brokerDown--;
        this.log.push('store-failed');
        throw new ChannelUnavailableError('broker storage down (test)');
      }
      await super.publish(topic, data);
      this.log.push('stored');
      return;
    }
    return super.publish(topic, data);
  }
  override consume(topic: string, consumer: string, handler: MessageHandler, options: ConsumerOptions) {
    if (topic !== this.appTopic) return super.consume(topic, consumer, handler, options);
    return super.consume(topic, consumer, (m: ChannelMessage) => handler({
      data: m.data,
      deliveryCount: m.deliveryCount,
      ack: () => {
        this.log.push('app-acked');
        return m.ack();
      },
      nak: (d?: number) => {
        this.log.push('app-nacked');
        m.nak(d);
      },
      working: () => m.working(),
    }), options);
  }
}

let dir: string;
let d: Dispatcher | undefined;
let sub: Subscriber | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'event-mesh-hop-'));
});
afterEach(async () => {
  await d?.close(100);
  await sub?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(channel: Channel, subscriberUrl: string, delivery?: Record<string, unknown>, fanOut = false): Promise<Dispatcher> {
  writeFileSync(path.join(dir, 'routing.yaml'), [
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} },
    { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: 'app', namespace: 'kyma-integration' } },
    {
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'Subscription',
      metadata: { name: 'app-shop', namespace: 'kyma-integration' },
      spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'app' }, subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: 'shop' } }, ...(delivery ? { delivery } : {}) },
    },
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't', namespace: 'shop' }, spec: { broker: 'default', filter: { attributes: { type: 'order.created' } }, subscriber: { uri: subscriberUrl } } },
  ].map((o) => stringify(o)).join('---\n'));
  return startDispatcher({ port: 0, host: '127.0.0.1', routingDir: dir, ackWaitMs: 5000, fanOut }, { channel });
}

const event = { specversion: '1.0', id: 'e1', source: 'app', type: 'order.created', datacontenttype: 'application/json', data: { n: 1 } };

// The copy hop: without a fan-out stage (Kafka, Pub/Sub, a Broker with an ordered Trigger)
// the Subscription's worker stores the event on the broker topic in process.
test('the event reaches the Trigger through the broker in process, stamped, and the channel message is acked only after the store', async () => {
  const channel = new Recording(brokerTopic('shop', 'default'), channelTopic('kyma-integration', 'app'));
  await channel.connect();
  sub = await startSubscriber({ behavior: accept });
  d = await start(channel, sub.url);
  await channel.publish(channelTopic('kyma-integration', 'app'), Buffer.from(JSON.stringify(event)));
  await sub.waitFor((s) => s.acceptedIds().has('e1'), 10_000);
  const got = sub.accepted[0];
  expect(got.headers['ce-knativearrivaltime']).toMatch(/^\d{4}-\d\d-\d\dT/);
  await new Promise((r) => setTimeout(r, 100));
  expect(channel.log).toEqual(['stored', 'app-acked']);
});

test('a broker whose storage is down is retried, the event kept on the channel until stored, never dropped', async () => {
  const channel = new Recording(brokerTopic('shop', 'default'), channelTopic('kyma-integration', 'app'));
  await channel.connect();
  // More failures than the Subscription's retries: before, the event was dropped here.
  channel.brokerDown = 5;
  sub = await startSubscriber({ behavior: accept });
  d = await start(channel, sub.url, { retry: 1, backoffPolicy: 'linear', backoffDelay: 'PT0.05S' });
  await channel.publish(channelTopic('kyma-integration', 'app'), Buffer.from(JSON.stringify(event)));
  await sub.waitFor((s) => s.acceptedIds().has('e1'), 30_000);
  await new Promise((r) => setTimeout(r, 100));
  // Not acked while the broker could not store it (released for redelivery); acked once, right after it did.
  const stored = channel.log.indexOf('stored');
  expect(channel.log.filter((x) => x !== 'app-nacked')).toEqual(['store-failed', 'store-failed', 'store-failed', 'store-failed', 'store-failed', 'stored', 'app-acked']);
  expect(channel.log.slice(0, stored)).toContain('app-nacked');
  expect(channel.log.slice(stored)).toEqual(['stored', 'app-acked']);
  expect(sub.acceptedIds().size).toBe(1);
}, 40_000);

// With a fan-out stage (JetStream, in-memory) the broker's stage reads the application
// channel itself, with the Subscription's durable consumer: no second write.
test('fan-out: the stage reads the channel straight into the broker, stamped as broker ingress would, nothing stored on the broker topic, and acks only after delivery', async () => {
  const channel = new Recording(brokerTopic('shop', 'default'), channelTopic('kyma-integration', 'app'));
  await channel.connect();
  let logWhileWorking: string[] | undefined;
  sub = await startSubscriber({
    behavior: async () => {
      await new Promise((r) => setTimeout(r, 50));
      logWhileWorking = [...channel.log];
      return { status: 202 };
    },
  });
  d = await start(channel, sub.url, undefined, true);
  await channel.publish(channelTopic('kyma-integration', 'app'), Buffer.from(JSON.stringify(event)));
  await sub.waitFor((s) => s.acceptedIds().has('e1'), 10_000);
  const got = sub.accepted[0];
  expect(got.headers['ce-knativearrivaltime']).toMatch(/^\d{4}-\d\d-\d\dT/);
  expect(got.headers['ce-knativebrokerttl']).toBe('255');
  await new Promise((r) => setTimeout(r, 100));
  expect(logWhileWorking).toEqual([]); // not acked while the subscriber was still working on it
  expect(channel.log).toEqual(['app-acked']);
});

test('fan-out: an event whose TTL is used up is dropped and counted at the broker, not delivered', async () => {
  const channel = new Recording(brokerTopic('shop', 'default'), channelTopic('kyma-integration', 'app'));
  await channel.connect();
  sub = await startSubscriber({ behavior: accept });
  d = await start(channel, sub.url, undefined, true);
  await channel.publish(channelTopic('kyma-integration', 'app'), Buffer.from(JSON.stringify({ ...event, id: 'loop', knativebrokerttl: 0 })));
  await channel.publish(channelTopic('kyma-integration', 'app'), Buffer.from(JSON.stringify(event)));
  await sub.waitFor((s) => s.acceptedIds().has('e1'), 10_000);
  await new Promise((r) => setTimeout(r, 100));
  expect(sub.acceptedIds().has('loop')).toBe(false);
  expect(await d.registry.metrics()).toMatch(/event_mesh_dispatcher_dropped_total\{kind="broker",namespace="shop",name="default",reason="ttl_exhausted"\} 1/);
  expect(channel.log).toEqual(['app-acked', 'app-acked']);
});
