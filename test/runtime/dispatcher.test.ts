/**
 * The dispatcher against real HTTP subscribers, on the in-memory channel and on a real
 * nats-server (JetStream): ingress, filtering, retries, dead letters, replies, isolation,
 * ordering, reload, malformed input. Each test uses its own namespace, so topics and
 * durable consumers never carry over between tests.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudEvent, HTTP } from 'cloudevents';
import { stringify } from 'yaml';
import type { Channel } from '../../runtime/channel/channel';
import { InMemoryChannel } from '../../runtime/channel/in-memory';
import { JetStreamChannel } from '../../runtime/channel/jetstream';
import { startNatsServer } from '../support/nats-server';
import type { NatsServerHandle } from '../support/nats-server';
import { startDispatcher } from '../../runtime/dispatcher';
import { createLogger } from '../../runtime/observability';
import type { Dispatcher } from '../../runtime/dispatcher';
import { always, failFirst, replyWith, startSubscriber } from '../support/http-subscriber';
import type { Subscriber } from '../support/http-subscriber';

let NS = 'shop';
let nsCounter = 0;
const broker = (delivery?: Record<string, unknown>) => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  metadata: { name: 'default', namespace: NS },
  spec: delivery ? { delivery } : {},
});
const trigger = (name: string, url: string, spec: Record<string, unknown> = {}, annotations?: Record<string, string>) => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name, namespace: NS, ...(annotations ? { annotations } : {}) },
  spec: { broker: 'default', subscriber: { uri: url }, ...spec },
});
const fast = { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT0.02S', timeout: 'PT2S' };

function post(d: Dispatcher, ev: CloudEvent<unknown>, mode: 'binary' | 'structured' = 'binary', ns = NS, b = 'default') {
  const msg = mode === 'binary' ? HTTP.binary(ev) : HTTP.structured(ev);
  return fetch(`${d.url}/${ns}/${b}`, { method: 'POST', headers: msg.headers as Record<string, string>, body: msg.body as string });
}
const event = (type: string, extra: Record<string, unknown> = {}) => new CloudEvent({ type, source: '/test', data: { n: 1 }, ...extra });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitForMetric(d: Dispatcher, line: string, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await d.registry.metrics();
    if (text.includes(line)) return;
    if (Date.now() > deadline) expect(text).toContain(line);
    await sleep(20);
  }
}

describe.each(['inmemory', 'nats'] as const)('dispatcher (%s channel)', (kind) => {
  let nats: NatsServerHandle | undefined;
  let dir: string;
  let channel: Channel;
  beforeAll(async () => {
    if (kind === 'nats') nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.stop();
  });
  let d: Dispatcher;
  const subs: Subscriber[] = [];
  const sub = async (...args: Parameters<typeof startSubscriber>) => {
    const s = await startSubscriber(...args);
    subs.push(s);
    return s;
  };
  const writeRouting = (objects: object[]) => writeFileSync(path.join(dir, 'routing.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  const start = async (objects: object[]) => {
    writeRouting(objects);
    channel = kind === 'nats' ? new JetStreamChannel({ servers: nats!.url }) : new InMemoryChannel();
    d = await startDispatcher({ port: 0, host: '127.0.0.1', routingDir: dir, ackWaitMs: 2000, shutdownGraceMs: 1000, routingPollMs: 200, routingDebounceMs: 20 }, { channel, ownsChannel: true, ...(process.env.DEBUG_DISPATCHER ? { logger: createLogger({ level: 'debug' }) } : {}) });
  };

  beforeEach(() => {
    NS = `${kind}-${++nsCounter}`;
    dir = mkdtempSync(path.join(tmpdir(), 'dispatcher-'));
  });
  afterEach(async () => {
    await d?.close(200);
    await Promise.all(subs.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes binary, structured and batched events to exactly the matching triggers', async () => {
    const orders = await sub();
    const payments = await sub();
    const everything = await sub();
    const prefixed = await sub();
    await start([
      broker(),
      trigger('orders', orders.url, { filter: { attributes: { type: 'order.created' } } }),
      trigger('payments', payments.url, { filter: { attributes: { type: 'payment.done', source: '/test' } } }),
      trigger('everything', everything.url),
      trigger('prefixed', prefixed.url, { filters: [{ prefix: { type: 'order.' } }, { not: { exact: { subject: 'skip' } } }] }),
    ]);
    expect(d.ready()).toBe(true);
    expect((await post(d, event('order.created'))).status).toBe(202);
    expect((await post(d, event('payment.done'), 'structured')).status).toBe(202);
    expect((await post(d, event('order.updated', { subject: 'skip' }))).status).toBe(202);
    const batch = [event('order.created'), event('other')].map((e) => e.toJSON());
    const res = await fetch(`${d.url}/${NS}/default`, { method: 'POST', headers: { 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify(batch) });
    expect(res.status).toBe(202);

    await everything.waitFor((s) => s.accepted.length === 5);
    await orders.waitFor((s) => s.accepted.length === 2);
    await prefixed.waitFor((s) => s.accepted.length === 2);
    await payments.waitFor((s) => s.accepted.length === 1);
    await sleep(100);
    expect(orders.requests.map((r) => r.event?.type)).toEqual(['order.created', 'order.created']);
    expect(payments.requests.map((r) => r.event?.type)).toEqual(['payment.done']);
    expect(prefixed.requests.map((r) => r.event?.type).sort()).toEqual(['order.created', 'order.created']);
    expect(everything.requests).toHaveLength(5);
    // Delivered in binary mode with the broker's extensions.
    const first = orders.requests[0];
    expect(first.headers['ce-specversion']).toBe('1.0');
    expect(first.headers['content-type']).toMatch(/json/);
    expect(first.event?.knativebrokerttl).toBe('255');
    expect(String(first.event?.knativearrivaltime)).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(first.event?.data).toEqual({ n: 1 });
  });

  it('retries: a subscriber failing its first 3 attempts gets the event on the 4th', async () => {
    const flaky = await sub({ behavior: failFirst(3, 503) });
    await start([broker(), trigger('flaky', flaky.url, { delivery: fast })]);
    const ev = event('x');
    await post(d, ev);
    await flaky.waitFor((s) => s.accepted.length === 1);
    expect(flaky.requests.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    expect(flaky.requests.every((r) => r.event?.id === ev.id)).toBe(true);
    await waitForMetric(d, `event_mesh_dispatcher_delivered_total{kind="trigger",namespace="${NS}",name="flaky"} 1`);
    expect(await d.registry.metrics()).toContain(`event_mesh_dispatcher_retried_total{kind="trigger",namespace="${NS}",name="flaky"} 3`);
  });

  it('honours Retry-After on 429', async () => {
    const limited = await sub({ behavior: failFirst(1, 429, { 'retry-after': '1' }) });
    await start([broker(), trigger('limited', limited.url, { delivery: fast })]);
    await post(d, event('x'));
    await limited.waitFor((s) => s.accepted.length === 1, 5000);
    const gap = limited.requests[1].at - limited.requests[0].at;
    expect(gap).toBeGreaterThanOrEqual(950);
  });

  it('retries exhausted: the dead-letter sink gets the event with the error extensions', async () => {
    const failing = await sub({ behavior: always(500, 'database down') });
    const dls = await sub();
    await start([broker({ deadLetterSink: { uri: dls.url } }), trigger('failing', failing.url, { delivery: { ...fast, retry: 2 } })]);
    const ev = event('x');
    await post(d, ev);
    await dls.waitFor((s) => s.accepted.length === 1);
    expect(failing.requests).toHaveLength(3);
    const dead = dls.accepted[0].event!;
    expect(dead.id).toBe(ev.id);
    expect(dead.knativeerrordest).toBe(failing.url);
    expect(dead.knativeerrorcode).toBe('500');
    expect(Buffer.from(String(dead.knativeerrordata), 'base64').toString()).toBe('database down');
  });

  it('a non-retryable 4xx goes to the dead-letter sink at once; without a sink it is dropped and counted', async () => {
    const rejecting = await sub({ behavior: always(400, 'bad') });
    const dls = await sub();
    const alsoRejecting = await sub({ behavior: always(422) });
    await start([
      broker(),
      trigger('rejecting', rejecting.url, { delivery: { ...fast, deadLetterSink: { uri: dls.url } } }),
      trigger('nosink', alsoRejecting.url, { delivery: fast }),
    ]);
    await post(d, event('x'));
    await dls.waitFor((s) => s.accepted.length === 1);
    await alsoRejecting.waitFor((s) => s.requests.length === 1);
    await sleep(150);
    expect(rejecting.requests).toHaveLength(1);
    expect(alsoRejecting.requests).toHaveLength(1);
    await waitForMetric(d, `event_mesh_dispatcher_dropped_total{kind="trigger",namespace="${NS}",name="nosink",reason="not_retryable"} 1`);
  });

  it('replies re-enter the broker with the TTL decremented; TTL 0 is dropped', async () => {
    const replier = await sub({
      behavior: replyWith((e) => (e.type === 'ping' ? new CloudEvent({ type: 'pong', source: '/replier', data: { from: e.id } }) : undefined)),
    });
    const pongs = await sub();
    await start([broker(), trigger('replier', replier.url, { filter: { attributes: { type: 'ping' } } }), trigger('pongs', pongs.url, { filter: { attributes: { type: 'pong' } } })]);
    await post(d, event('ping'));
    await pongs.waitFor((s) => s.accepted.length === 1);
    expect(pongs.accepted[0].event?.knativebrokerttl).toBe('254');

    // A ping at TTL 1: its reply would have TTL 0, so it is dropped.
    await post(d, event('ping', { knativebrokerttl: 1 }));
    await replier.waitFor((s) => s.accepted.length === 2);
    await sleep(200);
    expect(pongs.accepted).toHaveLength(1);
    await waitForMetric(d, `event_mesh_dispatcher_replies_total{namespace="${NS}",name="replier",outcome="ttl_exhausted"} 1`);
  });

  it('a loop (a subscriber replying with the same type) ends when the TTL runs out', async () => {
    const looper = await sub({ behavior: replyWith((e) => new CloudEvent({ type: e.type, source: '/loop', data: {} })) });
    await start([broker(), trigger('looper', looper.url, { filter: { attributes: { type: 'loop' } } })]);
    await post(d, event('loop', { knativebrokerttl: 5 }));
    await looper.waitFor((s) => s.accepted.length === 5);
    await sleep(200);
    // 5, 4, 3, 2, 1 delivered; the reply to the TTL-1 event would have TTL 0: dropped.
    expect(looper.accepted.map((r) => r.event?.knativebrokerttl)).toEqual(['5', '4', '3', '2', '1']);
  });

  it('an invalid reply is counted and the original still acked', async () => {
    const bad = await sub({ behavior: () => ({ status: 200, headers: { 'ce-specversion': '1.0', 'ce-type': 'x' }, body: '{}' }) });
    await start([broker(), trigger('bad', bad.url, { delivery: fast })]);
    await post(d, event('x'));
    await bad.waitFor((s) => s.accepted.length === 1);
    await sleep(100);
    expect(bad.requests).toHaveLength(1);
    await waitForMetric(d, `replies_total{namespace="${NS}",name="bad",outcome="invalid"} 1`);
  });

  it('isolation: a stuck subscriber does not delay another trigger', async () => {
    const stuck = await sub({ behavior: () => ({ hang: true }) });
    const healthy = await sub();
    await start([
      broker(),
      trigger('stuck', stuck.url, { delivery: { retry: 0, timeout: 'PT30S' } }, { 'event-mesh.dev/delivery.max-in-flight': '2' }),
      trigger('healthy', healthy.url),
    ]);
    const started = Date.now();
    for (let i = 0; i < 50; i++) await post(d, event('x'));
    await healthy.waitFor((s) => s.accepted.length === 50, 5000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(stuck.requests.length).toBe(2);
  });

  it('ordered delivery keeps the order even with retries', async () => {
    let calls = 0;
    const ordered = await sub({ behavior: () => ({ status: ++calls % 3 === 0 ? 503 : 200 }) });
    await start([broker(), trigger('ordered', ordered.url, { delivery: fast }, { 'event-mesh.dev/delivery.order': 'ordered' })]);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const ev = event('x', { id: `e-${i}` });
      ids.push(ev.id);
      await post(d, ev);
    }
    await ordered.waitFor((s) => s.accepted.length === 30);
    expect(ordered.accepted.map((r) => r.event?.id)).toEqual(ids);
  });

  it('reloads routing without a restart: a new trigger starts, a removed one stops', async () => {
    const a = await sub();
    const b = await sub();
    await start([broker(), trigger('a', a.url)]);
    await post(d, event('x'));
    await a.waitFor((s) => s.accepted.length === 1);
    writeRouting([broker(), trigger('b', b.url)]);
    for (let i = 0; i < 250 && !d.table().triggers.has(`${NS}/b`); i++) await sleep(20);
    expect(d.table().triggers.has(`${NS}/b`)).toBe(true);
    await sleep(50);
    await post(d, event('y'));
    await b.waitFor((s) => s.accepted.length === 1);
    await sleep(100);
    expect(a.accepted).toHaveLength(1);
    expect(b.accepted.map((r) => r.event?.type)).toEqual(['y']);
  });

  it('malformed input to broker ingress gets 4xx JSON and never crashes', async () => {
    await start([broker({ retry: 0 })]);
    const url = `${d.url}/${NS}/default`;
    const cases: [RequestInit, number][] = [
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' }, 415],
      [{ method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: '{not json' }, 400],
      [{ method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: '{"specversion":"0.3","id":"1","source":"s","type":"t"}' }, 400],
      [{ method: 'POST', headers: { 'content-type': 'application/cloudevents-batch+json' }, body: '{"specversion":"1.0"}' }, 400],
      [{ method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 's' } }, 400],
      [{ method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: Buffer.from([0xff, 0xfe, 0x00]) }, 400],
      [{ method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: 'x'.repeat(70_000) }, 413],
      [{ method: 'GET' }, 405],
    ];
    for (const [init, status] of cases) {
      const res = await fetch(url, init);
      expect([res.status, init.body?.toString().slice(0, 30)]).toEqual([status, init.body?.toString().slice(0, 30)]);
      const body = (await res.json()) as { error: string; message: string };
      expect(typeof body.error).toBe('string');
      expect(typeof body.message).toBe('string');
    }
    const missing = await post(d, event('x'), 'binary', NS, 'nope');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toBe('broker_not_found');
    expect((await fetch(`${d.url}/not/a/broker/path`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${d.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${d.url}/readyz`)).status).toBe(200);
    expect((await post(d, event('ok'))).status).toBe(202);
  });
});
