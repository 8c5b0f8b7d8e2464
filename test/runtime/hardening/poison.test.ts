/**
 * No event is retried forever (real nats-server, real HTTP subscribers): an event that
 * cannot be encoded and a stored message that is not an event go to the dead-letter sink
 * at once, or are dropped and counted without one; a message the sink keeps refusing is
 * dropped and counted after exactly its delivery limit; and on an ordered Trigger the
 * events behind a poison event are delivered, in order.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { stringify } from 'yaml';
import { brokerTopic, EXT_ERROR_DATA, EXT_ERROR_DEST } from '../../../constructs/api';
import { durableNameFor, JetStreamChannel, streamNameFor } from '../../../runtime/channel/jetstream';
import { startDispatcher } from '../../../runtime/dispatcher';
import type { Dispatcher } from '../../../runtime/dispatcher';
import { CHANNEL_MAX_DELIVERIES, deliveryLimit } from '../../../runtime/dispatcher/delivery/undeliverable';
import { startNatsServer } from '../../support/nats-server';
import type { NatsServerHandle } from '../../support/nats-server';
import { accept, always, startSubscriber } from '../../support/http-subscriber';
import type { Behavior, Subscriber } from '../../support/http-subscriber';

const ORDERED = { 'event-mesh.dev/delivery.order': 'ordered' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let nats: NatsServerHandle;
let producer: JetStreamChannel;
let ns = 0;
let NS = '';
let dir: string;
let d: Dispatcher | undefined;
const subs: Subscriber[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  producer = new JetStreamChannel({ servers: nats.url });
  await producer.connect();
});
afterAll(async () => {
  await producer?.close();
  await nats?.stop();
});
beforeEach(() => {
  NS = `poison-${++ns}`;
  dir = mkdtempSync(path.join(tmpdir(), 'poison-'));
});
afterEach(async () => {
  await d?.close(200);
  d = undefined;
  await Promise.all(subs.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function sub(behavior: Behavior = accept): Promise<Subscriber> {
  const s = await startSubscriber({ behavior });
  subs.push(s);
  return s;
}

async function start(delivery: Record<string, unknown>, subscriberUrl: string): Promise<Dispatcher> {
  const objects = [
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: NS }, spec: {} },
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'ordered', namespace: NS, annotations: ORDERED }, spec: { broker: 'default', subscriber: { uri: subscriberUrl }, delivery } },
  ];
  writeFileSync(path.join(dir, 'routing.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  d = await startDispatcher({ port: 0, host: '127.0.0.1', routingDir: dir, ackWaitMs: 5000, shutdownGraceMs: 500, routingPollMs: 60_000 }, { channel: new JetStreamChannel({ servers: nats.url }), ownsChannel: true });
  return d;
}

const good = (id: string) => ({ specversion: '1.0', id, source: '/test', type: 'order.created', data: { id } });
function ingress(disp: Dispatcher, id: string) {
  return fetch(`${disp.url}/${NS}/default`, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(good(id)) });
}
/** A structured event whose data nests `depth` levels: valid JSON no serializer can write back. */
function deepEventBytes(id: string, depth: number): Buffer {
  return Buffer.from(`{"specversion":"1.0","id":"${id}","source":"/legacy-producer","type":"order.created","datacontenttype":"application/json","data":${'['.repeat(depth)}${']'.repeat(depth)}}`);
}
async function metrics(disp: Dispatcher): Promise<string> {
  return disp.registry.metrics();
}
async function waitForText(disp: Dispatcher, line: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await metrics(disp)).includes(line)) {
    if (Date.now() > deadline) expect(await metrics(disp)).toContain(line);
    await sleep(50);
  }
}
const fast = (dls?: string) => ({ retry: 2, backoffPolicy: 'linear', backoffDelay: 'PT0.01S', timeout: 'PT2S', ...(dls ? { deadLetterSink: { uri: dls } } : {}) });

test('ordered Trigger: an unencodable event and a corrupt message go to the dead-letter sink at once; the events behind them are delivered in order', async () => {
  const subscriber = await sub();
  const dls = await sub();
  const disp = await start(fast(dls.url), subscriber.url);
  const topic = brokerTopic(NS, 'default');
  expect((await ingress(disp, 'ok-1')).status).toBe(202);
  // Stored by a producer that bypassed ingress (which refuses both): 20,000 levels deep, and not JSON.
  await producer.publish(topic, deepEventBytes('poison-deep', 20_000));
  await producer.publish(topic, Buffer.from('{"specversion":"1.0", this is not JSON'));
  expect((await ingress(disp, 'ok-2')).status).toBe(202);
  expect((await ingress(disp, 'ok-3')).status).toBe(202);

  await subscriber.waitFor((s) => s.accepted.length === 3, 30_000);
  expect(subscriber.accepted.map((r) => r.event?.id)).toEqual(['ok-1', 'ok-2', 'ok-3']);
  // The subscriber never got a request for the poison events: nothing to retry.
  expect(subscriber.requests.map((r) => r.event?.id)).toEqual(['ok-1', 'ok-2', 'ok-3']);

  await dls.waitFor((s) => s.accepted.length === 2, 30_000);
  const [deep, corrupt] = dls.accepted;
  // Each dead letter was sent once: no redelivery loop.
  expect(dls.requests).toHaveLength(2);
  expect(deep.event?.id).toBe('poison-deep');
  expect(deep.event?.type).toBe('order.created');
  expect(deep.headers['content-type']).toBe('application/octet-stream');
  expect(Buffer.from(String(deep.headers[`ce-${EXT_ERROR_DATA}`]), 'base64').toString()).toMatch(/could not be encoded for delivery: Maximum call stack size exceeded/);
  expect(deep.headers[`ce-${EXT_ERROR_DEST}`]).toBe(subscriber.url);
  // The stored bytes travel as the dead letter's payload, byte for byte.
  expect(deep.body.equals(deepEventBytes('poison-deep', 20_000))).toBe(true);
  expect(corrupt.event?.type).toBe('dev.event-mesh.undeliverable');
  expect(corrupt.event?.source).toBe(`/event-mesh/dispatcher/trigger/${NS}/ordered`);
  expect(Buffer.from(String(corrupt.headers[`ce-${EXT_ERROR_DATA}`]), 'base64').toString()).toMatch(/not a valid CloudEvent/);
  expect(corrupt.body.toString()).toBe('{"specversion":"1.0", this is not JSON');
  await waitForText(disp, `event_mesh_dispatcher_dead_lettered_total{kind="trigger",namespace="${NS}",name="ordered"} 2`);
});

test('without a dead-letter sink, undeliverable events are dropped and counted, and the ordered Trigger keeps flowing', async () => {
  const subscriber = await sub();
  const disp = await start(fast(), subscriber.url);
  const topic = brokerTopic(NS, 'default');
  await producer.publish(topic, deepEventBytes('poison-deep', 20_000));
  await producer.publish(topic, Buffer.from([0xff, 0xfe, 0x00]));
  expect((await ingress(disp, 'after-1')).status).toBe(202);
  await subscriber.waitFor((s) => s.accepted.length === 1, 30_000);
  expect(subscriber.requests.map((r) => r.event?.id)).toEqual(['after-1']);
  await waitForText(disp, `event_mesh_dispatcher_dropped_total{kind="trigger",namespace="${NS}",name="ordered",reason="unencodable"} 1`);
  await waitForText(disp, `event_mesh_dispatcher_dropped_total{kind="trigger",namespace="${NS}",name="ordered",reason="invalid_stored_event"} 1`);
});

test('a dead-letter sink that never accepts: the event is dropped and counted after exactly its delivery limit, then the ordered Trigger moves on', async () => {
  const subscriber = await sub((r) => (r.event?.id === 'stuck' ? { status: 503 } : { status: 200 }));
  const dls = await sub(always(503));
  const delivery = { retry: 0, backoffPolicy: 'linear', backoffDelay: 'PT0.01S', timeout: 'PT2S', deadLetterSink: { uri: dls.url } };
  const disp = await start(delivery, subscriber.url);
  const limit = deliveryLimit({ retry: 0 });
  expect(limit).toBe(10);

  // The channel's backstop is set on the durable consumer.
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    const route = [...disp.table().triggers.values()][0];
    const info = await jsm.consumers.info(streamNameFor(route.topic), durableNameFor(route.consumer));
    expect(info.config.max_deliver).toBe(CHANNEL_MAX_DELIVERIES);
  } finally {
    await nc.close();
  }

  expect((await ingress(disp, 'stuck')).status).toBe(202);
  expect((await ingress(disp, 'next')).status).toBe(202);
  await subscriber.waitFor((s) => s.accepted.length === 1, 60_000);
  expect(subscriber.accepted.map((r) => r.event?.id)).toEqual(['next']);
  await waitForText(disp, `event_mesh_dispatcher_dropped_total{kind="trigger",namespace="${NS}",name="ordered",reason="delivery_limit_reached"} 1`);
  // retry 0: one attempt per delivery, `limit` deliveries, each followed by one dead-letter attempt.
  expect(subscriber.requests.filter((r) => r.event?.id === 'stuck')).toHaveLength(limit);
  expect(dls.requests).toHaveLength(limit);
  await sleep(1500);
  expect(subscriber.requests.filter((r) => r.event?.id === 'stuck')).toHaveLength(limit);
}, 90_000);
