/**
 * Starting many Triggers: the dispatcher starts their consumers several at once (at most
 * WORKER_START_CONCURRENCY), creates each topic once however many workers share it, and
 * every Trigger is live afterwards. One at a time, 1,000 Triggers took 4.5-5.9 s to start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { brokerRetryTopic, brokerTopic } from '../../constructs/api';
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
  /** Topics whose first ensureTopic fails, as a server that is not there yet would. */
  readonly failFirst = new Set<string>();
  override async ensureTopic(topic: string, options?: TopicOptions): Promise<void> {
    this.ensured.set(topic, (this.ensured.get(topic) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, 5));
    if (this.failFirst.delete(topic)) throw new Error(`topic ${topic} cannot be created yet (test)`);
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

function writeRouting(triggers: number, subscriberUrl: string): void {
  writeFileSync(path.join(dir, 'routing.yaml'), [
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} },
    ...Array.from({ length: triggers }, (_, i) => ({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: `t${i}`, namespace: 'shop' },
      spec: { broker: 'default', filter: { attributes: { type: `type.${i}` } }, subscriber: { uri: subscriberUrl } },
    })),
  ].map((o) => stringify(o)).join('---\n'));
}

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
  writeRouting(TRIGGERS, sub.url);
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

test('a topic that could not be created is not taken as created: the next reconcile creates it and the Trigger starts', async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'event-mesh-startup-'));
  sub = await startSubscriber();
  writeRouting(1, sub.url);
  const channel = new SlowToStart();
  channel.failFirst.add(brokerRetryTopic('shop', 'default'));
  await channel.connect();
  d = await startDispatcher({ port: 0, host: '127.0.0.1', routingDir: dir, ackWaitMs: 5000, fanOut: true }, { channel });
  const until = Date.now() + 10_000;
  while (channel.ensured.get(brokerRetryTopic('shop', 'default'))! < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  expect(channel.ensured.get(brokerRetryTopic('shop', 'default'))).toBe(2);
  // A new Trigger gets what reaches its broker once it is live: publish until one arrives.
  for (let n = 0; sub.acceptedIds().size === 0 && Date.now() < until; n++) {
    await channel.publish(brokerTopic('shop', 'default'), Buffer.from(JSON.stringify({ specversion: '1.0', id: `late${n}`, source: 'test', type: 'type.0' })));
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(sub.acceptedIds().size).toBeGreaterThan(0);
}, 20_000);
