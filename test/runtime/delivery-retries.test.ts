/**
 * Delivery's retry loop and the worker's outcomes in the details users rely on: the exact
 * waits between attempts (linear, exponential, Retry-After, the caps), which outcomes are
 * retried and which are final, shutdown cutting a wait short, broker targets answering
 * 503/507 when their channel is down or full, and, through a running dispatcher, what the
 * dead-letter sink receives for timeouts and refused connections, the replies of a
 * Subscription, and the metrics each outcome is counted in. Real HTTP subscribers and a
 * real nats-server; `deliverWithRetries` is called with a recording `sleep` (its public
 * hook) so the waits are read exactly instead of timed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudEvent, HTTP } from 'cloudevents';
import { stringify } from 'yaml';
import { channelTopic } from '../../constructs/api';
import { JetStreamChannel } from '../../runtime/channel/jetstream';
import { toChannelBytes } from '../../runtime/cloudevents';
import type { CloudEventJson } from '../../runtime/cloudevents';
import { startDispatcher } from '../../runtime/dispatcher';
import type { Dispatcher } from '../../runtime/dispatcher';
import { deliverWithRetries } from '../../runtime/dispatcher/delivery/attempts';
import type { AttemptDeps } from '../../runtime/dispatcher/delivery/attempts';
import { DeliveryAborted, HttpSender } from '../../runtime/dispatcher/delivery/http-sender';
import type { AttemptResult } from '../../runtime/dispatcher/delivery/http-sender';
import type { DeliveryPolicy } from '../../runtime/dispatcher/delivery/policy';
import type { Target } from '../../runtime/dispatcher/delivery/targets';
import { BrokerStore } from '../../runtime/dispatcher/ingress/broker-store';
import { createDispatcherMetrics } from '../../runtime/dispatcher/metrics';
import { buildRoutingTable } from '../../runtime/dispatcher/routing/table';
import type { ManifestObject } from '../../runtime/dispatcher/routing';
import { createMetricsRegistry, silentLogger } from '../../runtime/observability';
import { always, failFirst, replyWith, startSubscriber } from '../support/http-subscriber';
import type { Subscriber } from '../support/http-subscriber';
import { freePort, startNatsServer } from '../support/nats-server';
import type { NatsServerHandle } from '../support/nats-server';
import { sleep, waitFor } from '../support/wait';

let nats: NatsServerHandle;
const subs: Subscriber[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
const sender = new HttpSender();

beforeAll(async () => {
  nats = await startNatsServer();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await Promise.all(subs.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await sender.close();
  await nats?.stop();
});

async function sub(...args: Parameters<typeof startSubscriber>): Promise<Subscriber> {
  const s = await startSubscriber(...args);
  subs.push(s);
  return s;
}

const event = (id = `e-${Math.random()}`): CloudEventJson => ({ specversion: '1.0', id, source: '/test', type: 'order.created', data: { n: 1 } });
const http = (url: string): Target => ({ kind: 'http', url, label: url });
const policy = (p: Partial<DeliveryPolicy> = {}): DeliveryPolicy => ({ retry: 3, backoffPolicy: 'linear', backoffDelayMs: 10, timeoutMs: 2000, ...p });

/** Deps whose sleep records each wait and returns at once (unless `realSleep`). */
function deps(extra: Partial<AttemptDeps> = {}) {
  const waits: number[] = [];
  const stop = new AbortController();
  const stopWaiting = new AbortController();
  const d: AttemptDeps = {
    sender,
    store: undefined as unknown as BrokerStore,
    signal: stop.signal,
    stopWaiting: stopWaiting.signal,
    sleep: async (ms) => void waits.push(ms),
    ...extra,
  };
  return { d, waits, stop, stopWaiting };
}

describe('deliverWithRetries: waits between attempts', () => {
  test('linear: d, 2d, 3d before retries 1, 2, 3; the result is the last failure, not final', async () => {
    const s = await sub({ behavior: always(503, 'down') });
    const { d, waits } = deps();
    const retries: [number, number | undefined][] = [];
    const attempts: [string, number][] = [];
    const r = await deliverWithRetries(http(s.url), event(), policy({ backoffDelayMs: 10 }), d,
      (n, prev) => retries.push([n, prev.outcome.kind === 'response' ? prev.outcome.status : undefined]), undefined,
      (res, ms) => attempts.push([res.outcome.kind, ms]));
    expect(waits).toEqual([10, 20, 30]);
    expect(retries).toEqual([[1, 503], [2, 503], [3, 503]]);
    expect(attempts.map(([k]) => k)).toEqual(['response', 'response', 'response', 'response']);
    expect(attempts.every(([, ms]) => ms > 0 && ms < 2000)).toBe(true);
    expect({ ok: r.ok, attempts: r.attempts, final: r.final, status: (r.last.outcome as { status: number }).status, body: r.last.body?.toString() })
      .toEqual({ ok: false, attempts: 4, final: false, status: 503, body: 'down' });
    expect(s.requests).toHaveLength(4);
  });

  test('exponential: 2d, 4d, 8d; one wait is capped at an hour', async () => {
    const s = await sub({ behavior: always(500) });
    const a = deps();
    await deliverWithRetries(http(s.url), event(), policy({ backoffPolicy: 'exponential', backoffDelayMs: 10 }), a.d);
    expect(a.waits).toEqual([20, 40, 80]);
    const b = deps();
    await deliverWithRetries(http(s.url), event(), policy({ retry: 1, backoffPolicy: 'exponential', backoffDelayMs: 10 ** 9 }), b.d);
    expect(b.waits).toEqual([3_600_000]);
  });

  test('Retry-After (seconds or an HTTP date) raises the wait, up to maxRetryAfterMs (default 60 s); it never lowers it', async () => {
    const s = await sub({ behavior: failFirst(1, 429, { 'retry-after': '2' }) });
    const a = deps();
    const r = await deliverWithRetries(http(s.url), event(), policy(), a.d);
    expect([r.ok, r.attempts, a.waits]).toEqual([true, 2, [2000]]);
    const b = deps({ maxRetryAfterMs: 300 });
    await deliverWithRetries(http(s.url), event(), policy(), b.d);
    expect(b.waits).toEqual([300]);
    const c = deps();
    await deliverWithRetries(http(s.url), event(), policy({ backoffDelayMs: 5000 }), c.d);
    expect(c.waits).toEqual([5000]);

    const long = await sub({ behavior: failFirst(1, 503, { 'retry-after': '3600' }) });
    const e = deps();
    await deliverWithRetries(http(long.url), event(), policy(), e.d);
    expect(e.waits).toEqual([60_000]);

    const dated = await sub({ behavior: failFirst(1, 503, { 'retry-after': new Date(Date.now() + 4000).toUTCString() }) });
    const f = deps();
    await deliverWithRetries(http(dated.url), event(), policy(), f.d);
    expect(f.waits).toHaveLength(1);
    expect(f.waits[0]).toBeGreaterThan(1000);
    expect(f.waits[0]).toBeLessThanOrEqual(4000);

    // Blank or not whole seconds: ignored, the backoff applies.
    for (const value of ['  ', '1.5']) {
      const junk = await sub({ behavior: failFirst(1, 503, { 'retry-after': value }) });
      const g = deps();
      await deliverWithRetries(http(junk.url), event(), policy(), g.d);
      expect([value, g.waits]).toEqual([value, [10]]);
    }
  });

  test('no backoff delay: retries at once, without waiting', async () => {
    const s = await sub({ behavior: always(503) });
    const { d, waits } = deps();
    const r = await deliverWithRetries(http(s.url), event(), policy({ retry: 2, backoffDelayMs: 0 }), d);
    expect([r.attempts, waits]).toEqual([3, []]);
  });

  test('the default sleep really waits the backoff between attempts', async () => {
    const s = await sub({ behavior: failFirst(1, 503) });
    const { d } = deps({ sleep: undefined });
    const r = await deliverWithRetries(http(s.url), event(), policy({ retry: 1, backoffDelayMs: 150 }), d);
    expect(r.ok).toBe(true);
    expect(s.requests[1].at - s.requests[0].at).toBeGreaterThanOrEqual(140);
  });
});

describe('deliverWithRetries: what is retried', () => {
  test('2xx is success at the first attempt', async () => {
    for (const status of [200, 201, 204]) {
      const s = await sub({ behavior: always(status) });
      const { d, waits } = deps();
      const r = await deliverWithRetries(http(s.url), event(), policy(), d);
      expect([status, r.ok, r.attempts, r.final, waits]).toEqual([status, true, 1, false, []]);
    }
  });

  test('other 4xx and 3xx are final at once; 404, 408, 409, 429 and 5xx are retried', async () => {
    for (const status of [400, 403, 410, 422, 300, 302]) {
      const s = await sub({ behavior: always(status) });
      const { d, waits } = deps();
      const r = await deliverWithRetries(http(s.url), event(), policy(), d);
      expect([status, r.ok, r.attempts, r.final, waits]).toEqual([status, false, 1, true, []]);
    }
    for (const status of [404, 408, 409, 429, 500, 503]) {
      const s = await sub({ behavior: always(status) });
      const { d } = deps();
      const r = await deliverWithRetries(http(s.url), event(), policy({ retry: 1 }), d);
      expect([status, r.ok, r.attempts, r.final]).toEqual([status, false, 2, false]);
    }
  });

  test('timeouts and refused connections are retried', async () => {
    const hanging = await sub({ behavior: () => ({ hang: true }) });
    const a = deps();
    const t = await deliverWithRetries(http(hanging.url), event(), policy({ retry: 1, timeoutMs: 100 }), a.d);
    expect([t.last.outcome.kind, t.attempts, t.final, a.waits]).toEqual(['timeout', 2, false, [10]]);
    const b = deps();
    const n = await deliverWithRetries(http(`http://127.0.0.1:${await freePort()}/`), event(), policy({ retry: 1 }), b.d);
    expect([n.last.outcome.kind, n.attempts, n.final]).toEqual(['network', 2, false]);
  });

  test('an unresolvable destination: 400 with its message, final, never retried', async () => {
    const { d, waits } = deps();
    const r = await deliverWithRetries({ kind: 'unresolvable', message: 'no Service shop/missing', label: 'Service/missing' }, event(), policy(), d);
    expect([r.ok, r.attempts, r.final, waits]).toEqual([false, 1, true, []]);
    expect(r.last.outcome).toEqual({ kind: 'response', status: 400 });
    expect(r.last.body?.toString()).toBe('no Service shop/missing');
  });
});

describe('deliverWithRetries: shutdown', () => {
  test('stopWaiting cuts a backoff wait short (DeliveryAborted); with no delay it stops before the next attempt', async () => {
    const s = await sub({ behavior: always(503) });
    const a = deps({ sleep: undefined });
    const started = Date.now();
    const pending = deliverWithRetries(http(s.url), event(), policy({ backoffDelayMs: 30_000 }), a.d);
    await waitFor(() => s.requests.length === 1, 5000, 'the first attempt');
    a.stopWaiting.abort();
    await expect(pending).rejects.toBeInstanceOf(DeliveryAborted);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(s.requests).toHaveLength(1);

    const b = deps();
    b.stopWaiting.abort();
    await expect(deliverWithRetries(http(s.url), event(), policy({ backoffDelayMs: 0 }), b.d)).rejects.toBeInstanceOf(DeliveryAborted);
    const c = deps();
    c.stop.abort();
    await expect(deliverWithRetries({ kind: 'unresolvable', message: 'x', label: 'x' }, event(), policy({ backoffDelayMs: 0 }), c.d)).resolves.toMatchObject({ ok: false, final: true });
    expect(s.requests).toHaveLength(2);
  });

  test('the hard stop signal also cuts a wait short', async () => {
    const s = await sub({ behavior: always(503) });
    const a = deps({ sleep: undefined, stopWaiting: undefined });
    const pending = deliverWithRetries(http(s.url), event(), policy({ backoffDelayMs: 30_000 }), a.d);
    await waitFor(() => s.requests.length === 1, 5000, 'the first attempt');
    a.stop.abort();
    await expect(pending).rejects.toBeInstanceOf(DeliveryAborted);
  });
});

describe('deliverWithRetries to a broker this dispatcher serves', () => {
  const objects = [{ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'store' }, spec: {} }] as ManifestObject[];
  const storeOn = (channel: JetStreamChannel) => {
    const { table } = buildRoutingTable(objects);
    return new BrokerStore(channel, () => table, createDispatcherMetrics(createMetricsRegistry({ defaults: false })), silentLogger());
  };
  const target: Target = { kind: 'broker', namespace: 'store', broker: 'default', label: 'broker store/default' };

  test('stored: 202; channel down: 503 with Retry-After 1 s (retried after at least that); channel full: 507, retried', async () => {
    const channel = new JetStreamChannel({ servers: nats.url });
    cleanups.push(() => channel.close());
    await channel.connect();
    await channel.ensureTopic('broker.store.default', { maxBytes: 4096, maxAgeMs: 3_600_000 });
    const ok = deps({ store: storeOn(channel) });
    const stored = await deliverWithRetries(target, event('fits'), policy(), ok.d);
    expect([stored.ok, stored.attempts, stored.last.outcome]).toEqual([true, 1, { kind: 'response', status: 202 }]);

    const big = { ...event('too-big'), data: { pad: 'x'.repeat(5000) } };
    const full = deps({ store: storeOn(channel) });
    const f = await deliverWithRetries(target, big, policy({ retry: 1 }), full.d);
    expect([f.ok, f.attempts, f.final, (f.last.outcome as { status: number }).status, full.waits]).toEqual([false, 2, false, 507, [10]]);
    expect(f.last.body?.length).toBeGreaterThan(0);

    const down = new JetStreamChannel({ servers: `nats://127.0.0.1:${await freePort()}`, connectTimeoutMs: 200 });
    cleanups.push(() => down.close());
    const u = deps({ store: storeOn(down) });
    const r = await deliverWithRetries(target, event('down'), policy({ retry: 1 }), u.d);
    expect([r.ok, r.attempts, r.final, r.last.outcome]).toEqual([false, 2, false, { kind: 'response', status: 503, retryAfter: '1' }]);
    expect(u.waits).toEqual([1000]);
    expect(r.last.body?.toString()).toMatch(/not connected/);
  });
});

// Through a running dispatcher (JetStream): what sinks, reply destinations and metrics see.
describe('the delivery worker', () => {
  let nsCounter = 0;
  let ns = '';
  let dir = '';
  let d: Dispatcher | undefined;
  beforeEach(() => {
    ns = `dr-${++nsCounter}`;
    dir = mkdtempSync(path.join(tmpdir(), 'delivery-retries-'));
  });
  afterEach(async () => {
    await d?.close(200);
    d = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  const broker = (delivery?: Record<string, unknown>) => ({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: ns }, spec: delivery ? { delivery } : {} });
  const trigger = (name: string, uri: string, spec: Record<string, unknown> = {}) => ({
    apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name, namespace: ns }, spec: { broker: 'default', subscriber: { uri }, ...spec },
  });
  const start = async (objects: object[], fanOut?: boolean) => {
    writeFileSync(path.join(dir, 'routing.yaml'), objects.map((o) => stringify(o)).join('---\n'));
    d = await startDispatcher(
      { port: 0, host: '127.0.0.1', routingDir: dir, ackWaitMs: 2000, shutdownGraceMs: 1000, routingPollMs: 200, routingDebounceMs: 20, ...(fanOut === undefined ? {} : { fanOut }) },
      { channel: new JetStreamChannel({ servers: nats.url }), ownsChannel: true },
    );
    return d;
  };
  const post = (ev: CloudEvent<unknown>) => {
    const msg = HTTP.binary(ev);
    return fetch(`${d!.url}/${ns}/default`, { method: 'POST', headers: msg.headers as Record<string, string>, body: msg.body as string });
  };
  const metric = async (series: string) => {
    const line = (await d!.registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  };
  const waitMetric = (series: string, value: number) => waitFor(async () => (await metric(series)) === value, 10_000, `${series} = ${value}`);
  const ev = (type = 'x') => new CloudEvent({ type, source: '/test', data: { n: 1 } });
  const route = (name: string) => `kind="trigger",namespace="${ns}",name="${name}"`;

  test('dead letters say why: a timeout as knativeerrordata "timed out" without an error code, a refused connection as its error', async () => {
    const hanging = await sub({ behavior: () => ({ hang: true }) });
    const dls = await sub();
    const closed = `http://127.0.0.1:${await freePort()}/`;
    const delivery = { retry: 0, timeout: 'PT0.2S', deadLetterSink: { uri: dls.url } };
    await start([broker(), trigger('slow', hanging.url, { delivery, filter: { attributes: { type: 'slow' } } }), trigger('gone', closed, { delivery, filter: { attributes: { type: 'gone' } } })]);
    const slow = ev('slow');
    const gone = ev('gone');
    expect((await post(slow)).status).toBe(202);
    expect((await post(gone)).status).toBe(202);
    await dls.waitFor((s) => s.accepted.length === 2, 10_000);
    const byId = new Map(dls.accepted.map((r) => [r.event!.id, r.event!]));
    const deadSlow = byId.get(slow.id)!;
    expect(deadSlow.knativeerrordest).toBe(hanging.url);
    expect(deadSlow.knativeerrorcode).toBeUndefined();
    expect(Buffer.from(String(deadSlow.knativeerrordata), 'base64').toString()).toBe('timed out');
    const deadGone = byId.get(gone.id)!;
    expect(deadGone.knativeerrordest).toBe(closed);
    expect(deadGone.knativeerrorcode).toBeUndefined();
    expect(Buffer.from(String(deadGone.knativeerrordata), 'base64').toString()).toMatch(/ECONNREFUSED|connect/i);
    await waitMetric(`event_mesh_dispatcher_dead_lettered_total{${route('slow')}}`, 1);
    await waitMetric(`event_mesh_dispatcher_dead_lettered_total{${route('gone')}}`, 1);
    expect(await metric(`event_mesh_dispatcher_delivery_duration_seconds_count{${route('slow')},outcome="dead_lettered"}`)).toBe(1);
  });

  test('each outcome is counted once by route: delivered (with its retries), dropped as retries_exhausted, filtered', async () => {
    const flaky = await sub({ behavior: failFirst(2, 503) });
    const failing = await sub({ behavior: always(500) });
    const fast = { retry: 2, backoffPolicy: 'linear', backoffDelay: 'PT0.01S', timeout: 'PT2S' };
    await start([
      broker(),
      // Prefix filters: not expressible as a channel prefilter, so the worker sees and filters the other's event.
      trigger('flaky', flaky.url, { delivery: fast, filters: [{ prefix: { type: 'a' } }] }),
      trigger('failing', failing.url, { delivery: fast, filters: [{ prefix: { type: 'b' } }] }),
      // A consumer per Trigger: each sees the other's event and counts it as filtered (a
      // fan-out stage never offers a Trigger an event its filter rejects).
    ], false);
    await post(ev('a'));
    await post(ev('b'));
    await waitMetric(`event_mesh_dispatcher_delivered_total{${route('flaky')}}`, 1);
    await waitMetric(`event_mesh_dispatcher_dropped_total{${route('failing')},reason="retries_exhausted"}`, 1);
    expect(await metric(`event_mesh_dispatcher_retried_total{${route('flaky')}}`)).toBe(2);
    expect(await metric(`event_mesh_dispatcher_retried_total{${route('failing')}}`)).toBe(2);
    expect(await metric(`event_mesh_dispatcher_delivery_duration_seconds_count{${route('flaky')},outcome="delivered"}`)).toBe(1);
    expect(await metric(`event_mesh_dispatcher_delivery_duration_seconds_count{${route('failing')},outcome="dropped"}`)).toBe(1);
    // Each Trigger saw the other's event and filtered it out.
    await waitMetric(`event_mesh_dispatcher_filtered_total{namespace="${ns}",name="flaky"}`, 1);
    await waitMetric(`event_mesh_dispatcher_filtered_total{namespace="${ns}",name="failing"}`, 1);
    // Knative's names: one event_count per attempt, by response code; one processing latency per matched event.
    const k = `namespace_name="${ns}",broker_name="default",trigger_name="flaky",event_type="",`;
    expect(await metric(`event_count{${k}response_code="503",response_code_class="5xx",container_name="filter"}`)).toBe(2);
    expect(await metric(`event_count{${k}response_code="200",response_code_class="2xx",container_name="filter"}`)).toBe(1);
    expect(await metric(`event_processing_latencies_count{namespace_name="${ns}",broker_name="default",trigger_name="flaky",event_type="",container_name="filter"}`)).toBe(1);
    await sleep(200);
    expect(flaky.requests).toHaveLength(3);
    expect(failing.requests).toHaveLength(3);
  });

  test("a Subscription's replies: forwarded to spec.reply; without spec.reply discarded; refused by the reply destination counted as rejected, the original not redelivered", async () => {
    const app = `app-${nsCounter}`;
    const replier = () => sub({ behavior: replyWith((e) => new CloudEvent({ type: 'reply', source: '/replier', data: { to: e.id } })) });
    const withReply = await replier();
    const noReply = await replier();
    const refusing = await replier();
    const replies = await sub();
    const rejects = await sub({ behavior: always(400) });
    const channelObj = { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: app, namespace: 'kyma-integration' } };
    const subscription = (name: string, uri: string, reply?: string) => ({
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'Subscription',
      metadata: { name, namespace: 'kyma-integration' },
      spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: app }, subscriber: { uri }, ...(reply ? { reply: { uri: reply } } : {}), delivery: { retry: 1, backoffDelay: 'PT0.01S' } },
    });
    // Stored before the dispatcher wires the channel: a new Subscription gets it too.
    const publisher = new JetStreamChannel({ servers: nats.url });
    cleanups.push(() => publisher.close());
    await publisher.connect();
    const topic = channelTopic('kyma-integration', app);
    await publisher.ensureTopic(topic, { maxAgeMs: 3_600_000 });
    const original = { specversion: '1.0', id: `orig-${app}`, source: app, type: 'order.created', data: {} } as CloudEventJson;
    await publisher.publish(topic, toChannelBytes(original));

    await start([channelObj, subscription(`${app}-r`, withReply.url, replies.url), subscription(`${app}-n`, noReply.url), subscription(`${app}-x`, refusing.url, rejects.url)]);
    await replies.waitFor((s) => s.accepted.length === 1, 10_000);
    expect(replies.accepted[0].event).toMatchObject({ type: 'reply', data: { to: original.id } });
    const rl = (name: string, outcome: string) => `event_mesh_dispatcher_replies_total{namespace="kyma-integration",name="${name}",outcome="${outcome}"}`;
    await waitMetric(rl(`${app}-r`, 'forwarded'), 1);
    await waitMetric(rl(`${app}-n`, 'discarded'), 1);
    await waitMetric(rl(`${app}-x`, 'rejected'), 1);
    await waitMetric(`event_mesh_dispatcher_delivered_total{kind="subscription",namespace="kyma-integration",name="${app}-x"}`, 1);
    expect(await metric(`event_mesh_dispatcher_consumers{kind="subscription"}`)).toBe(3);
    await sleep(300);
    expect([withReply.requests.length, noReply.requests.length, refusing.requests.length]).toEqual([1, 1, 1]);
    // 400 is final: the reply destination was asked once.
    expect(rejects.requests).toHaveLength(1);
  });

  test('a new Trigger sees only events stored after it started', async () => {
    const early = await sub();
    await start([broker(), trigger('early', early.url)]);
    await post(ev('before'));
    await early.waitFor((s) => s.accepted.length === 1);
    const late = await sub();
    writeFileSync(path.join(dir, 'routing.yaml'), [broker(), trigger('early', early.url), trigger('late', late.url)].map((o) => stringify(o)).join('---\n'));
    await waitFor(() => d!.table().triggers.has(`${ns}/late`), 10_000, 'the new trigger');
    // Until the new Trigger's consumer runs, events posted now may not reach it: post until one does.
    await waitFor(async () => {
      await post(ev('after'));
      return late.accepted.length > 0;
    }, 10_000, 'the new trigger to get an event');
    await sleep(200);
    expect(late.accepted.length).toBeGreaterThan(0);
    expect(late.accepted.every((r) => r.event?.type === 'after')).toBe(true);
  });

  test('stored bytes that are not a CloudEvent go to the dead-letter sink once, as dev.event-mesh.undeliverable carrying the bytes', async () => {
    const dls = await sub();
    const next = await sub();
    await start([broker(), trigger('poisoned', next.url, { delivery: { retry: 0, deadLetterSink: { uri: dls.url } } })]);
    const raw = new JetStreamChannel({ servers: nats.url });
    cleanups.push(() => raw.close());
    await raw.connect();
    await raw.publish(`broker.${ns}.default`, Buffer.from('not a cloudevent {'));
    await dls.waitFor((s) => s.accepted.length === 1, 10_000);
    const dead = dls.accepted[0];
    expect(dead.event).toMatchObject({ type: 'dev.event-mesh.undeliverable', source: `/event-mesh/dispatcher/trigger/${ns}/poisoned` });
    // Binary mode percent-encodes the space in the header.
    expect(decodeURIComponent(String(dead.event?.knativeerrordest))).toBe(`trigger ${ns}/poisoned`);
    expect(Buffer.from(dead.body).toString()).toBe('not a cloudevent {');
    await waitMetric(`event_mesh_dispatcher_dead_lettered_total{${route('poisoned')}}`, 1);
    // The next event is delivered; the bad one is not tried again.
    await post(ev('fine'));
    await next.waitFor((s) => s.accepted.length === 1);
    await sleep(300);
    expect(dls.requests).toHaveLength(1);
    expect(next.requests).toHaveLength(1);
  });

  test('a dead-letter sink that refuses an undeliverable event: the message is kept and tried again, neither dead-lettered nor dropped', async () => {
    const dls = await sub({ behavior: always(500) });
    const next = await sub();
    await start([broker(), trigger('stuck', next.url, { delivery: { retry: 0, deadLetterSink: { uri: dls.url } } })]);
    const raw = new JetStreamChannel({ servers: nats.url });
    cleanups.push(() => raw.close());
    await raw.connect();
    await raw.publish(`broker.${ns}.default`, Buffer.from('garbage'));
    await dls.waitFor((s) => s.requests.length >= 2, 10_000);
    // Redelivered after about a second (the minimum wait), not at once.
    expect(dls.requests[1].at - dls.requests[0].at).toBeGreaterThanOrEqual(900);
    expect(await metric(`event_mesh_dispatcher_dead_lettered_total{${route('stuck')}}`)).toBe(0);
    expect((await d!.registry.metrics())).not.toContain(`event_mesh_dispatcher_dropped_total{${route('stuck')}`);
  });

  test('a Subscription feeding a served Broker stores in process: counted as Knative broker ingress (202), delivered by its Trigger', async () => {
    const app = `hop-${nsCounter}`;
    const out = await sub();
    const topic = channelTopic('kyma-integration', app);
    await start([
      broker(),
      trigger('after-hop', out.url),
      { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: app, namespace: 'kyma-integration' } },
      {
        apiVersion: 'messaging.knative.dev/v1', kind: 'Subscription', metadata: { name: `${app}-sub`, namespace: 'kyma-integration' },
        spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: app }, subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: ns } } },
      },
    ]);
    const publisher = new JetStreamChannel({ servers: nats.url });
    cleanups.push(() => publisher.close());
    await publisher.connect();
    await publisher.publish(topic, toChannelBytes({ specversion: '1.0', id: `hop-ev-${app}`, source: app, type: 'order.created', data: {} }));
    await out.waitFor((s) => s.accepted.length === 1, 10_000);
    expect(out.accepted[0].event?.id).toBe(`hop-ev-${app}`);
    expect(out.accepted[0].event?.knativebrokerttl).toBe('255');
    await waitMetric(`event_count{namespace_name="${ns}",broker_name="default",trigger_name="",event_type="",response_code="202",response_code_class="2xx",container_name="ingress"}`, 1);
    await waitMetric(`event_mesh_dispatcher_delivered_total{kind="subscription",namespace="kyma-integration",name="${app}-sub"}`, 1);
  });
});
