/**
 * Starting many Triggers: the dispatcher starts their consumers several at once (at most
 * WORKER_START_CONCURRENCY), creates each topic once however many workers share it, and
 * every Trigger is live afterwards. One at a time, 1,000 Triggers took 4.5-5.9 s to start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { brokerTopic } from '../../constructs/api';
import type { ConsumerOptions, MessageHandler, TopicOptions } from '../../runtime/channel/channel';
import { InMemoryChannel } from '../../runtime/channel/in-memory';
import { startDispatcher } from '../../runtime/dispatcher';
import type { Dispatcher } from '../../runtime/dispatcher';
import { WORKER_START_CONCURRENCY } from '../../runtime/dispatcher/dispatcher';
import { startSubscriber } from '../support/http-subscriber';
import type { Subscriber } from '../support/http-subscriber';

/** Each consume() and ensureTopic() takes a few ms, as a round trip to a server would. */
class SlowToStart extends InMemoryChannel {
  consuming = 0;
  mostConsuming = 0;
  readonly ensured = new Map<string, number>();
  override async ensureTopic(topic: string, options?: TopicOptions): Promise<void> {
    this.ensured.set(topic, (this.ensured.get(topic) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, 5));
    return super.ensureTopic(topic, options);
  }
  override async consume(topic: string, consumer: string, handler: MessageHandler, options: ConsumerOptions) {
    this.mostConsuming = Math.max(this.mostConsuming, ++this.consuming);
    try {
      await new Promise((r) => setTimeout(r, 5));
      return await super.consume(topic, consumer, handler, options);
    } finally {
      this.consuming--;
    }
  }
}

const TRIGGERS = 60;
let dir: string;
let d: Dispatcher | undefined;
let sub: Subscriber | undefined;
afterEach(async () => {
  await d?.close(100);
  await sub?.close();
  rmSync(dir, { recursive: true, force: true });
});

test(`${TRIGGERS} Triggers: consumers start at most ${WORKER_START_CONCURRENCY} at once, each topic is created once, and every Trigger delivers`, async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'event-mesh-startup-'));
  sub = await startSubscriber();
  const triggers = Array.from({ length: TRIGGERS }, (_, i) => ({
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: `t${i}`, namespace: 'shop' },
    spec: { broker: 'default', filter: { attributes: { type: `type.${i}` } }, subscriber: { uri: sub!.url } },
  }));
  writeFileSync(path.join(dir, 'routing.yaml'), [
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} },
    ...triggers,
  ].map((o) => stringify(o)).join('---\n'));
  const channel = new SlowToStart();
  await channel.connect();
  d = await startDispatcher({ port: 0, host: '127.0.0.1', routingDir: dir, ackWaitMs: 5000, fanOut: true }, { channel });

  expect(channel.mostConsuming).toBeGreaterThan(1);
  expect(channel.mostConsuming).toBeLessThanOrEqual(WORKER_START_CONCURRENCY);
  // Every Trigger's consumer of parked events shares the broker's retry topic: created once.
  expect([...channel.ensured.values()].every((n) => n === 1)).toBe(true);
  expect(channel.ensured.size).toBeGreaterThanOrEqual(2);

  for (let i = 0; i < TRIGGERS; i++) {
    await channel.publish(brokerTopic('shop', 'default'), Buffer.from(JSON.stringify({ specversion: '1.0', id: `e${i}`, source: 'test', type: `type.${i}` })));
  }
  await sub.waitFor((s) => s.acceptedIds().size === TRIGGERS, 15_000);
  expect([...sub.acceptedIds()].sort()).toEqual(Array.from({ length: TRIGGERS }, (_, i) => `e${i}`).sort());
});
