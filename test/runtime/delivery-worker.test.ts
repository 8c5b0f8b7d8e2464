/**
 * The delivery worker on its own: what it does with each message it is handed (ack, nak
 * and with which delay, or drop), what it counts and logs for each outcome, how it starts
 * its consumer, reuses a resolved target, keeps long deliveries alive and stops. Real HTTP
 * subscribers and sinks, the in-memory channel, prom-client registries read back; the
 * messages handed to `handle()` record how they were settled (the channel's side of the
 * contract), so each settlement and its delay is read exactly.
 */
import { brokerIngressUrl } from '../../constructs/api';
import type { Destination } from '../../constructs/api';
import { ChannelFullError } from '../../runtime/channel/channel';
import type { ChannelConsumer, ChannelMessage, ConsumerOptions, MessageHandler } from '../../runtime/channel/channel';
import { toChannelBytes } from '../../runtime/cloudevents';
import type { CloudEventJson } from '../../runtime/cloudevents';
import { sleep } from '../../runtime/dispatcher/delivery/attempts';
import { DeliveryAborted, HttpSender } from '../../runtime/dispatcher/delivery/http-sender';
import type { DeliveryPolicy } from '../../runtime/dispatcher/delivery/policy';
import { resolveTarget } from '../../runtime/dispatcher/delivery/targets';
import type { Target } from '../../runtime/dispatcher/delivery/targets';
import { deliveryLimit } from '../../runtime/dispatcher/delivery/undeliverable';
import { DeliveryWorker, laneQueueLimit } from '../../runtime/dispatcher/delivery/worker';
import type { WorkerDeps, WorkerRoute } from '../../runtime/dispatcher/delivery/worker';
import { BrokerStore } from '../../runtime/dispatcher/ingress/broker-store';
import { FanOutShare } from '../../runtime/dispatcher/fanout/shares';
import { SharedSettlement } from '../../runtime/dispatcher/fanout/settlement';
import { createDispatcherMetrics } from '../../runtime/dispatcher/metrics';
import { buildRoutingTable } from '../../runtime/dispatcher/routing/table';
import type { RoutingTable } from '../../runtime/dispatcher/routing/table';
import { createMetricsRegistry } from '../../runtime/observability';
import { always, delayed, failFirst, replyWith, startSubscriber } from '../support/http-subscriber';
import type { Behavior, Subscriber } from '../support/http-subscriber';
import { captureLogs, FailingInMemoryChannel, metricTotal } from '../support/observed';
import type { LogLine } from '../support/observed';
import { sleep as pause, waitFor } from '../support/wait';
import { CloudEvent } from 'cloudevents';

const NS = 'shop';
const ADDRESSING = { systemNamespace: 'kyma-system', integrationNamespace: 'kyma-integration', clusterDomain: 'cluster.local' };
const sender = new HttpSender();
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
afterAll(() => sender.close());

async function sub(behavior?: Behavior): Promise<Subscriber> {
  const s = await startSubscriber({ behavior });
  cleanups.push(() => s.close());
  return s;
}

/** A message as a channel hands it over, recording how the worker settled it. */
class RecordedMessage implements ChannelMessage {
  acks = 0;
  readonly naks: (number | undefined)[] = [];
  beats = 0;
  constructor(
    readonly data: Uint8Array,
    readonly deliveryCount = 1,
    readonly sequence?: number,
  ) {}
  async ack(): Promise<void> {
    this.acks++;
  }
  nak(delayMs?: number): void {
    this.naks.push(delayMs);
  }
  working(): void {
    this.beats++;
  }
  get settlements(): string[] {
    return [...Array(this.acks).fill('ack'), ...this.naks.map((d) => `nak ${d}`)];
  }
}

/** The in-memory channel, recording consume() calls (and failing publishes on request). */
class RecordingChannel extends FailingInMemoryChannel {
  readonly consumed: { topic: string; consumer: string; options: ConsumerOptions }[] = [];
  /** nak() delays of the messages this channel handed to consumers. */
  readonly naks: (number | undefined)[] = [];
  override async consume(topic: string, consumer: string, handler: MessageHandler, options: ConsumerOptions): Promise<ChannelConsumer> {
    this.consumed.push({ topic, consumer, options });
    const naks = this.naks;
    return super.consume(topic, consumer, (m) => handler({
      get data() { return m.data; },
      get deliveryCount() { return m.deliveryCount; },
      get sequence() { return m.sequence; },
      ack: () => m.ack(),
      nak: (delayMs) => {
        naks.push(delayMs);
        m.nak(delayMs);
      },
      working: () => m.working(),
    }), options);
  }
}

const event = (id = `e-${Math.random().toString(36).slice(2)}`, extra: Partial<CloudEventJson> = {}): CloudEventJson => ({
  specversion: '1.0',
  id,
  source: '/orders',
  type: 'order.created',
  datacontenttype: 'application/json',
  data: { n: 1 },
  ...extra,
});
const policy = (p: Partial<DeliveryPolicy> = {}): DeliveryPolicy => ({ retry: 0, backoffPolicy: 'linear', backoffDelayMs: 1, timeoutMs: 2000, ...p });
const uri = (url: string): Destination => ({ uri: url });

function routeFor(subscriber: Destination, p: Partial<WorkerRoute> = {}): WorkerRoute {
  return {
    kind: 'subscription',
    key: `${NS}/orders`,
    namespace: NS,
    name: 'orders',
    topic: 'topic-orders',
    consumer: 'consumer-orders',
    order: 'unordered',
    maxInFlight: 8,
    matches: () => true,
    subscriber,
    delivery: policy(),
    ...p,
  };
}

interface Harness {
  worker: DeliveryWorker;
  channel: RecordingChannel;
  lines: LogLine[];
  resolved: Destination[];
  setTable(t: RoutingTable): void;
  count(name: string, labels?: Record<string, string>): Promise<number>;
  logged(msg: string): LogLine[];
}

const BROKER = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: NS }, spec: {} };

async function harness(route: WorkerRoute, extra: Partial<WorkerDeps> = {}): Promise<Harness> {
  const channel = new RecordingChannel();
  await channel.connect();
  cleanups.push(() => channel.close());
  const registry = createMetricsRegistry({ defaults: false });
  const metrics = createDispatcherMetrics(registry);
  const { logger, lines, logged } = captureLogs('worker-test');
  let table = buildRoutingTable([BROKER]).table;
  const resolved: Destination[] = [];
  const deps: WorkerDeps = {
    channel,
    sender,
    store: new BrokerStore(channel, () => table, metrics, logger),
    metrics,
    logger,
    resolve: (dest, namespace): Target => {
      resolved.push(dest);
      return resolveTarget(dest, namespace, table, { addressing: ADDRESSING });
    },
    table: () => table,
    ackWaitMs: 30_000,
    ...extra,
  };
  const worker = new DeliveryWorker(route, deps);
  cleanups.push(() => worker.stop(0));
  return {
    worker,
    channel,
    lines,
    resolved,
    setTable: (t) => void (table = t),
    count: (name, labels) => metricTotal(registry, name, labels),
    logged,
  };
}

const ROUTE_LABELS = { kind: 'subscription', namespace: NS, name: 'orders' };
const DURATION = 'event_mesh_dispatcher_delivery_duration_seconds';

/** Observations of the delivery-duration histogram for one outcome: [count, sum in seconds]. */
async function durations(h: Harness, outcome: string): Promise<[number, number]> {
  return [await h.count(`${DURATION}_count`, { outcome }), await h.count(`${DURATION}_sum`, { outcome })];
}

describe('laneQueueLimit', () => {
  it('is four times maxInFlight, at least 64 and at most 1024', () => {
    expect([1, 16, 17, 100, 256, 257, 1000].map(laneQueueLimit)).toEqual([64, 64, 68, 400, 1024, 1024, 1024]);
  });
});

describe('DeliveryWorker.handle: each outcome settled once, counted and logged', () => {
  it('delivered: acked once, counted with the route labels, its duration observed in seconds', async () => {
    const s = await sub(delayed(20));
    const h = await harness(routeFor(uri(s.url)));
    const m = new RecordedMessage(toChannelBytes(event('d1')));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(s.accepted.map((r) => r.event?.id)).toEqual(['d1']);
    expect(await h.count('event_mesh_dispatcher_delivered_total', ROUTE_LABELS)).toBe(1);
    const [count, sum] = await durations(h, 'delivered');
    expect(count).toBe(1);
    expect(sum).toBeGreaterThanOrEqual(0.015);
    expect(sum).toBeLessThan(1);
  });

  it('a filter that does not match: acked without a request, counted as filtered', async () => {
    const s = await sub();
    const h = await harness(routeFor(uri(s.url), { matches: (e) => e.type === 'order.paid' }));
    const m = new RecordedMessage(toChannelBytes(event()));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(s.requests).toHaveLength(0);
    expect(await h.count('event_mesh_dispatcher_filtered_total', { namespace: NS, name: 'orders' })).toBe(1);
    expect(await durations(h, 'delivered')).toEqual([0, 0]);
  });

  it('retries exhausted, no dead-letter sink: dropped (acked) as retries_exhausted; each retry counted and logged', async () => {
    const s = await sub(always(503, 'busy'));
    const h = await harness(routeFor(uri(s.url), { delivery: policy({ retry: 2 }) }));
    const m = new RecordedMessage(toChannelBytes(event('r1')));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(s.requests).toHaveLength(3);
    expect(await h.count('event_mesh_dispatcher_retried_total', ROUTE_LABELS)).toBe(2);
    expect(await h.count('event_mesh_dispatcher_dropped_total', { ...ROUTE_LABELS, reason: 'retries_exhausted' })).toBe(1);
    expect(h.logged('retrying delivery').map((l) => [l.retry, l.outcome, l.id, l.target])).toEqual([
      [1, 'HTTP 503', 'r1', s.url],
      [2, 'HTTP 503', 'r1', s.url],
    ]);
    const dropped = h.logged('event dropped: delivery failed and there is no deadLetterSink');
    expect(dropped.map((l) => [l.level, l.route, l.id, l.type, l.source, l.attempts, l.outcome])).toEqual([[40, `${NS}/orders`, 'r1', 'order.created', '/orders', 3, 'HTTP 503']]);
    expect((await durations(h, 'dropped'))[0]).toBe(1);
  });

  it('a status that is not retried: dropped at once as not_retryable', async () => {
    const s = await sub(always(400));
    const h = await harness(routeFor(uri(s.url), { delivery: policy({ retry: 5 }) }));
    const m = new RecordedMessage(toChannelBytes(event()));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(s.requests).toHaveLength(1);
    expect(await h.count('event_mesh_dispatcher_dropped_total', { reason: 'not_retryable' })).toBe(1);
    expect(await h.count('event_mesh_dispatcher_dropped_total', { reason: 'retries_exhausted' })).toBe(0);
  });

  it('dead-lettered: the sink gets the event with the failure; a sink retry counts as a retry; acked once', async () => {
    const s = await sub(always(500, 'boom'));
    const dls = await sub(failFirst(1, 503));
    const h = await harness(routeFor(uri(s.url), { delivery: policy({ retry: 1, deadLetterSink: uri(dls.url) }) }));
    const m = new RecordedMessage(toChannelBytes(event('x1')));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(dls.accepted.map((r) => [r.event?.id, r.event?.knativeerrorcode, r.event?.knativeerrordest])).toEqual([['x1', '500', s.url]]);
    expect(await h.count('event_mesh_dispatcher_dead_lettered_total', ROUTE_LABELS)).toBe(1);
    // One retry at the subscriber, one at the sink.
    expect(await h.count('event_mesh_dispatcher_retried_total', ROUTE_LABELS)).toBe(2);
    expect(h.logged('event dead-lettered').map((l) => [l.level, l.id, l.outcome, l.deadLetterSink, l.target])).toEqual([[30, 'x1', 'HTTP 500', dls.url, s.url]]);
    expect((await durations(h, 'dead_lettered'))[0]).toBe(1);
  });

  it('a timed-out subscriber: the sink gets "timed out" as the error data, and the log says so', async () => {
    const s = await sub(() => ({ hang: true }));
    const dls = await sub();
    const h = await harness(routeFor(uri(s.url), { delivery: policy({ timeoutMs: 100, deadLetterSink: uri(dls.url) }) }));
    await h.worker.handle(new RecordedMessage(toChannelBytes(event('t1'))));
    expect(dls.accepted.map((r) => [r.event?.id, Buffer.from(String(r.event?.knativeerrordata), 'base64').toString()])).toEqual([['t1', 'timed out']]);
    expect(h.logged('event dead-lettered').map((l) => l.outcome)).toEqual(['timed out']);
  });

  it('the sink refuses too: released with the policy backoff (at least 1 s, not acked), logged as an error', async () => {
    const s = await sub(always(500));
    const dls = await sub(always(503));
    const h = await harness(routeFor(uri(s.url), { delivery: policy({ backoffDelayMs: 10, deadLetterSink: uri(dls.url) }) }));
    const m = new RecordedMessage(toChannelBytes(event('k1')));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['nak 1000']);
    const long = await harness(routeFor(uri(s.url), { delivery: policy({ backoffDelayMs: 4000, deadLetterSink: uri(dls.url) }) }));
    const m2 = new RecordedMessage(toChannelBytes(event('k2')));
    await long.worker.handle(m2);
    expect(m2.settlements).toEqual(['nak 4000']);
    expect(h.logged('the dead-letter sink did not accept the event; it will be redelivered').map((l) => [l.level, l.id, l.outcome, l.deadLetterSink])).toEqual([[50, 'k1', 'HTTP 503', dls.url]]);
    expect(await h.count('event_mesh_dispatcher_dead_lettered_total')).toBe(0);
    expect((await durations(h, 'released'))[0]).toBe(1);
  });

  it('the sink refuses on the last allowed delivery: dropped as delivery_limit_reached, never handed back again', async () => {
    const s = await sub(always(500));
    const dls = await sub(always(503));
    const route = routeFor(uri(s.url), { delivery: policy({ deadLetterSink: uri(dls.url) }) });
    const limit = deliveryLimit(route.delivery);
    const h = await harness(route);
    const before = new RecordedMessage(toChannelBytes(event('l1')), limit - 1);
    await h.worker.handle(before);
    expect(before.settlements).toEqual(['nak 1000']);
    const last = new RecordedMessage(toChannelBytes(event('l2')), limit);
    await h.worker.handle(last);
    expect(last.settlements).toEqual(['ack']);
    expect(await h.count('event_mesh_dispatcher_dropped_total', { ...ROUTE_LABELS, reason: 'delivery_limit_reached' })).toBe(1);
    const lines = h.logged('event dropped: delivered the most times its delivery spec allows and still not delivered or dead-lettered');
    expect(lines.map((l) => [l.level, l.id, l.deliveries, l.limit])).toEqual([[50, 'l2', limit, limit]]);
  });

  it('a served broker that cannot store the event: kept (nak) with a backoff of at least 1 s that grows with its deliveries; counted as broker ingress', async () => {
    const h = await harness(routeFor({ uri: brokerIngressUrl(NS, 'default', ADDRESSING) }, { delivery: policy({ retry: 0, backoffDelayMs: 10 }) }));
    h.channel.failPublish = new ChannelFullError('topic full');
    const first = new RecordedMessage(toChannelBytes(event('b1')), 1);
    await h.worker.handle(first);
    const third = new RecordedMessage(toChannelBytes(event('b3')), 3);
    await h.worker.handle(third);
    expect([first.settlements, third.settlements]).toEqual([['nak 1000'], ['nak 3000']]);
    expect(h.logged('the broker could not store the event; it will be redelivered').map((l) => [l.id, l.outcome, l.retryInMs])).toEqual([
      ['b1', 'HTTP 507', 1000],
      ['b3', 'HTTP 507', 3000],
    ]);
    expect(await h.count('event_mesh_dispatcher_dropped_total')).toBe(0);
    expect((await durations(h, 'released'))[0]).toBe(2);
    expect(await h.count('event_count', { namespace_name: NS, broker_name: 'default', response_code: '507' })).toBe(2);
  });

  it('a served broker that stores it: acked, counted as broker ingress with 202', async () => {
    const h = await harness(routeFor({ uri: brokerIngressUrl(NS, 'default', ADDRESSING) }));
    const m = new RecordedMessage(toChannelBytes(event('s1')));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(await h.count('event_count', { namespace_name: NS, broker_name: 'default', response_code: '202', container_name: 'ingress' })).toBe(1);
  });

  it('a failure the worker did not expect: logged as an error and released after 1 s', async () => {
    const h = await harness(routeFor(uri('http://127.0.0.1:1/')), {
      resolve: () => {
        throw new Error('resolver broke');
      },
    });
    const m = new RecordedMessage(toChannelBytes(event('u1')));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['nak 1000']);
    expect(h.logged('delivery failed unexpectedly; the event will be redelivered').map((l) => [l.level, l.id, (l.err as { message: string }).message])).toEqual([[50, 'u1', 'resolver broke']]);
    expect((await durations(h, 'released'))[0]).toBe(1);
  });
});

/** An event nested deeper than JSON.stringify can serialize (it overflows the stack). */
function unserializable(id: string): CloudEventJson {
  let data: Record<string, unknown> = {};
  for (let i = 0; i < 200_000; i++) data = { d: data };
  return event(id, { data });
}

describe('DeliveryWorker.handle: events no retry can deliver', () => {
  it('an event that cannot be encoded for HTTP: dropped at once as unencodable, with why', async () => {
    const s = await sub();
    const h = await harness(routeFor(uri(s.url), { delivery: policy({ retry: 5 }) }));
    const m = new RecordedMessage(Buffer.from('{}'));
    await h.worker.handle(m, { event: unserializable('deep1') });
    expect(m.settlements).toEqual(['ack']);
    expect(s.requests).toHaveLength(0);
    expect(await h.count('event_mesh_dispatcher_dropped_total', { reason: 'unencodable' })).toBe(1);
    const [line] = h.logged('event dropped: it cannot be delivered and there is no deadLetterSink');
    expect([line.id, line.reason]).toEqual(['deep1', 'unencodable']);
    expect(String(line.err)).toMatch(/^the event could not be encoded for delivery: .+/);
    expect((await durations(h, 'dropped'))[0]).toBe(1);
  });

  it('an event that cannot be encoded, with a sink: dead-lettered at once (its attributes, the stored bytes), acked', async () => {
    const s = await sub();
    const dls = await sub();
    const h = await harness(routeFor(uri(s.url), { delivery: policy({ retry: 5, deadLetterSink: uri(dls.url) }) }));
    const m = new RecordedMessage(Buffer.from('{"stored":true}'));
    await h.worker.handle(m, { event: unserializable('deep3') });
    expect(m.settlements).toEqual(['ack']);
    expect(s.requests).toHaveLength(0);
    expect(dls.accepted.map((r) => [r.event?.id, r.body.toString()])).toEqual([['deep3', '{"stored":true}']]);
    expect((await durations(h, 'dead_lettered'))[0]).toBe(1);
  });

  it('an event that cannot be encoded, shutdown while its sink is tried: released at once, counted as released', async () => {
    const dls = await sub(() => ({ hang: true }));
    const h = await harness(routeFor(uri('http://127.0.0.1:1/'), { delivery: policy({ deadLetterSink: uri(dls.url) }) }));
    const m = new RecordedMessage(Buffer.from('{}'));
    const handled = h.worker.handle(m, { event: unserializable('deep4') });
    await dls.waitFor((x) => x.requests.length === 1);
    await h.worker.stop(0);
    await handled;
    expect(m.settlements).toEqual(['nak undefined']);
    expect((await durations(h, 'released'))[0]).toBe(1);
  });

  it('an event that cannot be encoded for a served broker: dropped at once as unencodable, with why', async () => {
    const h = await harness(routeFor({ uri: brokerIngressUrl(NS, 'default', ADDRESSING) }, { delivery: policy({ retry: 5 }) }));
    const m = new RecordedMessage(Buffer.from('{}'));
    await h.worker.handle(m, { event: unserializable('deep2') });
    expect(m.settlements).toEqual(['ack']);
    const [line] = h.logged('event dropped: it cannot be delivered and there is no deadLetterSink');
    expect(String(line.err)).toMatch(/^the event could not be encoded for the broker: .+/);
  });

  it('a broker target that is gone from the routing table: a connection failure, kept for redelivery with the reason logged', async () => {
    const h = await harness(routeFor(uri('http://unused.invalid/')), {
      resolve: () => ({ kind: 'broker', namespace: NS, broker: 'missing', label: 'broker shop/missing' }),
    });
    const m = new RecordedMessage(toChannelBytes(event('gone1')));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['nak 1000']);
    const [line] = h.logged('the broker could not store the event; it will be redelivered');
    expect(String(line.outcome)).toMatch(/^connection failed: there is no Broker "missing" in namespace "shop"/);
  });
});

describe('sleep (backoff waits)', () => {
  it('rejects at once when any of its signals is already aborted, and when one aborts during the wait', async () => {
    const aborted = AbortSignal.abort();
    const live = new AbortController();
    const started = Date.now();
    await expect(sleep(5000, [live.signal, aborted, undefined])).rejects.toBeInstanceOf(DeliveryAborted);
    await expect(sleep(5000, [aborted, live.signal])).rejects.toBeInstanceOf(DeliveryAborted);
    const waiting = sleep(5000, [undefined, live.signal]);
    live.abort();
    await expect(waiting).rejects.toBeInstanceOf(DeliveryAborted);
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(sleep(20, [new AbortController().signal, undefined])).resolves.toBeUndefined();
  });
});

describe('DeliveryWorker.handle: stored bytes that are not a CloudEvent', () => {
  const garbage = () => new RecordedMessage(Buffer.from('{"specversion":"1.0","id":"g1"}'));

  it('no sink: dropped as invalid_stored_event, logged with why', async () => {
    const h = await harness(routeFor(uri('http://127.0.0.1:1/')));
    const m = garbage();
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(await h.count('event_mesh_dispatcher_dropped_total', { ...ROUTE_LABELS, reason: 'invalid_stored_event' })).toBe(1);
    const [line] = h.logged('event dropped: it cannot be delivered and there is no deadLetterSink');
    expect([line.level, line.reason, line.kind, line.route]).toEqual([50, 'invalid_stored_event', 'subscription', `${NS}/orders`]);
    expect(String(line.err)).toMatch(/^the stored message is not a valid CloudEvent: .+/);
  });

  it('a sink: dead-lettered at once (a retry at the sink counted), acked', async () => {
    const dls = await sub(failFirst(1, 503));
    const h = await harness(routeFor(uri('http://127.0.0.1:1/'), { delivery: policy({ retry: 1, deadLetterSink: uri(dls.url) }) }));
    const m = garbage();
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(dls.accepted).toHaveLength(1);
    expect(await h.count('event_mesh_dispatcher_retried_total', ROUTE_LABELS)).toBe(1);
    expect(await h.count('event_mesh_dispatcher_dead_lettered_total', ROUTE_LABELS)).toBe(1);
    expect(h.logged('undeliverable event dead-lettered').map((l) => [l.level, l.reason, l.deadLetterSink])).toEqual([[40, 'invalid_stored_event', dls.url]]);
  });

  it('a sink that refuses: released after the backoff (at least 1 s), logged with the sink\'s answer', async () => {
    const dls = await sub(always(503));
    const h = await harness(routeFor(uri('http://127.0.0.1:1/'), { delivery: policy({ deadLetterSink: uri(dls.url) }) }));
    const m = garbage();
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['nak 1000']);
    expect(h.logged('the dead-letter sink did not accept an undeliverable event; it will be redelivered').map((l) => [l.level, l.outcome, l.deadLetterSink])).toEqual([[50, 'HTTP 503', dls.url]]);
  });

  it('shutdown while the sink is being tried: released at once (no delay), not dropped', async () => {
    const dls = await sub(() => ({ hang: true }));
    const h = await harness(routeFor(uri('http://127.0.0.1:1/'), { delivery: policy({ deadLetterSink: uri(dls.url) }) }));
    const m = garbage();
    const handled = h.worker.handle(m);
    await dls.waitFor((x) => x.requests.length === 1);
    await h.worker.stop(0);
    await handled;
    expect(m.settlements).toEqual(['nak undefined']);
    expect(await h.count('event_mesh_dispatcher_dropped_total')).toBe(0);
  });
});

describe('DeliveryWorker.handle: replies', () => {
  const reply = (received: CloudEvent<unknown>) => new CloudEvent({ id: `reply-${received.id}`, source: '/shipping', type: 'order.shipped', data: { ok: true } });

  it('forwarded to the reply destination and counted; the original acked', async () => {
    const s = await sub(replyWith(reply));
    const replies = await sub();
    const h = await harness(routeFor(uri(s.url), { reply: { destination: uri(replies.url) } }));
    const m = new RecordedMessage(toChannelBytes(event('o1')));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(replies.accepted.map((r) => [r.event?.id, r.event?.knativebrokerttl])).toEqual([['reply-o1', '254']]);
    expect(await h.count('event_mesh_dispatcher_replies_total', { namespace: NS, name: 'orders', outcome: 'forwarded' })).toBe(1);
  });

  it('no reply destination: discarded and counted; the original acked', async () => {
    const s = await sub(replyWith(reply));
    const h = await harness(routeFor(uri(s.url)));
    const m = new RecordedMessage(toChannelBytes(event()));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(await h.count('event_mesh_dispatcher_replies_total', { outcome: 'discarded' })).toBe(1);
  });

  it('an invalid reply: ignored (the original counts as delivered), counted and logged', async () => {
    const s = await sub(() => ({ status: 200, headers: { 'ce-specversion': '1.0', 'ce-type': 'x' }, body: '' }));
    const replies = await sub();
    const h = await harness(routeFor(uri(s.url), { reply: { destination: uri(replies.url) } }));
    const m = new RecordedMessage(toChannelBytes(event('i1')));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(replies.requests).toHaveLength(0);
    expect(await h.count('event_mesh_dispatcher_replies_total', { outcome: 'invalid' })).toBe(1);
    expect(await h.count('event_mesh_dispatcher_delivered_total')).toBe(1);
    expect(h.logged('ignoring an invalid reply event (the original event counts as delivered)').map((l) => [l.level, l.id])).toEqual([[40, 'i1']]);
  });

  it('a reply whose broker TTL is used up: dropped and counted twice (replies, drops), logged; the original acked', async () => {
    const s = await sub(replyWith(reply));
    const replies = await sub();
    const h = await harness(routeFor(uri(s.url), { reply: { destination: uri(replies.url) } }));
    const m = new RecordedMessage(toChannelBytes(event('ttl1', { knativebrokerttl: 1 })));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(replies.requests).toHaveLength(0);
    expect(await h.count('event_mesh_dispatcher_replies_total', { outcome: 'ttl_exhausted' })).toBe(1);
    expect(await h.count('event_mesh_dispatcher_dropped_total', { ...ROUTE_LABELS, reason: 'reply_ttl_exhausted' })).toBe(1);
    expect(h.logged('reply dropped: knativebrokerttl reached 0 (an event loop?)').map((l) => [l.id, l.original, l.type])).toEqual([['reply-ttl1', 'ttl1', 'order.shipped']]);
  });

  it('a reply its destination rejects for good: counted and logged as rejected; the original acked', async () => {
    const s = await sub(replyWith(reply));
    const replies = await sub(always(400));
    const h = await harness(routeFor(uri(s.url), { reply: { destination: uri(replies.url) } }));
    const m = new RecordedMessage(toChannelBytes(event('j1')));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['ack']);
    expect(await h.count('event_mesh_dispatcher_replies_total', { outcome: 'rejected' })).toBe(1);
    expect(h.logged('reply rejected by its destination').map((l) => [l.id, l.outcome, l.target])).toEqual([['reply-j1', 'HTTP 400', replies.url]]);
  });
});

describe('DeliveryWorker: a Trigger of a broker', () => {
  it('counts Knative dispatch and processing metrics with the broker and trigger names', async () => {
    const s = await sub();
    const h = await harness(routeFor(uri(s.url), { kind: 'trigger', name: 'on-order', reply: { broker: { namespace: NS, name: 'default' } } }));
    await h.worker.handle(new RecordedMessage(toChannelBytes(event())));
    const labels = { namespace_name: NS, broker_name: 'default', trigger_name: 'on-order' };
    expect(await h.count('event_count', { ...labels, response_code: '202', container_name: 'filter' })).toBe(1);
    const sum = await h.count('event_processing_latencies_sum', { trigger_name: 'on-order' });
    expect(await h.count('event_processing_latencies_count', { trigger_name: 'on-order' })).toBe(1);
    // Milliseconds between receiving and dispatching: small, never a clock reading.
    expect(sum).toBeGreaterThanOrEqual(0);
    expect(sum).toBeLessThan(1000);
  });
});

describe('DeliveryWorker: the subscriber target is resolved once per route and routing table', () => {
  it('resolves again after update() or a new routing table, not per event', async () => {
    const a = await sub();
    const b = await sub();
    const h = await harness(routeFor(uri(a.url)));
    for (const id of ['1', '2', '3']) await h.worker.handle(new RecordedMessage(toChannelBytes(event(id))));
    expect(h.resolved).toHaveLength(1);
    h.worker.update(routeFor(uri(b.url)));
    expect(h.worker.current.subscriber).toEqual(uri(b.url));
    await h.worker.handle(new RecordedMessage(toChannelBytes(event('4'))));
    expect([a.accepted.length, b.accepted.length, h.resolved.length]).toEqual([3, 1, 2]);
    h.setTable(buildRoutingTable([BROKER]).table);
    await h.worker.handle(new RecordedMessage(toChannelBytes(event('5'))));
    expect(h.resolved).toHaveLength(3);
    await h.worker.handle(new RecordedMessage(toChannelBytes(event('6'))));
    expect(h.resolved).toHaveLength(3);
  });

  it('update() swaps the labels a route is counted under', async () => {
    const s = await sub();
    const h = await harness(routeFor(uri(s.url)));
    h.worker.update(routeFor(uri(s.url), { name: 'renamed' }));
    await h.worker.handle(new RecordedMessage(toChannelBytes(event())));
    expect(await h.count('event_mesh_dispatcher_delivered_total', { name: 'renamed' })).toBe(1);
    expect(await h.count('event_mesh_dispatcher_delivered_total', { name: 'orders' })).toBe(0);
  });
});

describe('DeliveryWorker: heartbeats for long deliveries', () => {
  it('a delivery longer than the heartbeat period gets working() calls, and none once it settled', async () => {
    const s = await sub(delayed(400));
    // ackWait 600 ms: a heartbeat sweep every 100 ms.
    const h = await harness(routeFor(uri(s.url)), { ackWaitMs: 600 });
    await h.worker.start();
    const m = new RecordedMessage(toChannelBytes(event()));
    await h.worker.handle(m);
    expect(m.beats).toBeGreaterThanOrEqual(1);
    const after = m.beats;
    await pause(350);
    expect(m.beats).toBe(after);
  });
});

describe('DeliveryWorker.start and stop', () => {
  const publishEvent = (h: Harness, topic: string, e = event()) => h.channel.publish(topic, toChannelBytes(e));

  it('a dedicated Trigger: its own consumer from new events on, ordered with one in flight, the channel backstop and its prefilter', async () => {
    const h = await harness(routeFor(uri('http://127.0.0.1:1/'), { kind: 'trigger', order: 'ordered', maxInFlight: 8, prefilter: { type: 'order.created' } }), { ackWaitMs: 5000 });
    await h.worker.start();
    expect(h.channel.consumed).toEqual([
      { topic: 'topic-orders', consumer: 'consumer-orders', options: { ordered: true, maxInFlight: 1, ackWaitMs: 5000, deliverPolicy: 'new', maxDeliveries: 101, prefilter: { type: 'order.created' } } },
    ]);
    expect([h.worker.fanOut, h.worker.saturated]).toEqual([false, false]);
  });

  it('a Subscription, and a fan-out Trigger: everything stored, unordered (a lane orders nothing), maxInFlight as given', async () => {
    const h = await harness(routeFor(uri('http://127.0.0.1:1/'), { maxInFlight: 4 }));
    await h.worker.start();
    const f = await harness(routeFor(uri('http://127.0.0.1:1/'), { kind: 'trigger', stage: 'fan-out', order: 'ordered', maxInFlight: 4 }));
    await f.worker.start();
    const opts = (x: Harness) => (({ ordered, maxInFlight, deliverPolicy }) => ({ ordered, maxInFlight, deliverPolicy }))(x.channel.consumed[0].options);
    expect([opts(h), opts(f)]).toEqual([
      { ordered: false, maxInFlight: 4, deliverPolicy: 'all' },
      { ordered: false, maxInFlight: 4, deliverPolicy: 'all' },
    ]);
    expect(f.worker.fanOut).toBe(true);
  });

  it('the consumers gauge counts a started worker once, and stop() (twice, or before start) takes back only what it added', async () => {
    const h = await harness(routeFor(uri('http://127.0.0.1:1/')));
    const gauge = () => h.count('event_mesh_dispatcher_consumers', { kind: 'subscription' });
    await h.worker.start();
    expect(await gauge()).toBe(1);
    await h.worker.stop(0);
    await h.worker.stop(0);
    expect(await gauge()).toBe(0);
    const never = await harness(routeFor(uri('http://127.0.0.1:1/')));
    await never.worker.stop(0);
    expect(await never.count('event_mesh_dispatcher_consumers')).toBe(0);
  });

  it('after stop(), a message handed over is released at once without a request', async () => {
    const s = await sub();
    const h = await harness(routeFor(uri(s.url)));
    await h.worker.stop(0);
    const m = new RecordedMessage(toChannelBytes(event()));
    await h.worker.handle(m);
    expect(m.settlements).toEqual(['nak undefined']);
    expect(s.requests).toHaveLength(0);
  });

  it('stop(grace): a delivery that finishes within the grace period is delivered and acked', async () => {
    const s = await sub(delayed(150));
    const h = await harness(routeFor(uri(s.url)));
    await h.worker.start();
    await publishEvent(h, 'topic-orders', event('g1'));
    await s.waitFor((x) => x.requests.length === 1);
    await h.worker.stop(2000);
    expect(s.accepted.map((r) => r.event?.id)).toEqual(['g1']);
    expect(await h.count('event_mesh_dispatcher_delivered_total')).toBe(1);
  });

  it('stop(grace): a delivery still running at the end of the grace period is aborted and released, not logged as a failure', async () => {
    const s = await sub(() => ({ hang: true }));
    const h = await harness(routeFor(uri(s.url)));
    await h.worker.start();
    await publishEvent(h, 'topic-orders', event('h1'));
    await s.waitFor((x) => x.requests.length === 1);
    const started = Date.now();
    await h.worker.stop(200);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(150);
    expect(took).toBeLessThan(2000);
    expect((await durations(h, 'released'))[0]).toBe(1);
    expect(h.logged('delivery failed unexpectedly; the event will be redelivered')).toHaveLength(0);
    expect(await h.count('event_mesh_dispatcher_dropped_total')).toBe(0);
  });

  it('a backoff wait ends at stop(): released for redelivery, no further attempt', async () => {
    const s = await sub(always(503));
    const h = await harness(routeFor(uri(s.url), { delivery: policy({ retry: 3, backoffDelayMs: 60_000 }) }));
    const m = new RecordedMessage(toChannelBytes(event()));
    const handled = h.worker.handle(m);
    await s.waitFor((x) => x.requests.length === 1);
    await h.worker.stop(5000);
    await handled;
    expect(m.settlements).toEqual(['nak undefined']);
    expect(s.requests).toHaveLength(1);
  });
});

describe('DeliveryWorker: the fan-out stage side', () => {
  it('takes() a broker event unless stopping or at or below the sequence its old consumer had settled', async () => {
    const h = await harness(routeFor(uri('http://127.0.0.1:1/'), { kind: 'trigger', stage: 'fan-out' }));
    expect([h.worker.takes(undefined), h.worker.takes(1)]).toEqual([true, true]);
    h.worker.startAfter = 5;
    expect([h.worker.takes(4), h.worker.takes(5), h.worker.takes(6), h.worker.takes(undefined)]).toEqual([false, false, true, true]);
    await h.worker.stop(0);
    expect([h.worker.takes(6), h.worker.takes(undefined)]).toEqual([false, false]);
  });

  it('the retry consumer acks what is not a parked event (and says so), and parked events of other Triggers (silently)', async () => {
    const s = await sub();
    const route = routeFor(uri(s.url), { kind: 'trigger', stage: 'fan-out', key: `${NS}/mine`, topic: 'retry-topic', consumer: 'retry-mine' });
    const h = await harness(route);
    await h.worker.start();
    const other = await harness(routeFor(uri(s.url), { kind: 'trigger', stage: 'fan-out', key: `${NS}/other`, topic: 'retry-topic' }));
    // The other Trigger parks on the same (in-memory, unfiltered) retry topic.
    await other.worker.park(toChannelBytes(event('theirs')), 1, 0, 'retry');
    await h.channel.publish('retry-topic', Buffer.from('not parked'));
    const theirs = (await parkedBytesOf(other, 'retry-topic'))!;
    await h.channel.publish('retry-topic', theirs);
    await h.channel.publish('retry-topic', theirs);
    await waitFor(() => h.logged('ignoring a message on the retry topic that is not a parked event').length === 1, 2000, 'the warning');
    await pause(100);
    expect(s.requests).toHaveLength(0);
    expect(h.logged('ignoring a message on the retry topic that is not a parked event').map((l) => [l.level, l.route, l.topic])).toEqual([[40, `${NS}/mine`, 'retry-topic']]);
  });

  it('a parked event of its own is delivered once due, after the wait it was parked with', async () => {
    const s = await sub();
    const route = routeFor(uri(s.url), { kind: 'trigger', stage: 'fan-out', key: `${NS}/mine`, topic: 'retry-topic', consumer: 'retry-mine' });
    const h = await harness(route);
    await h.worker.start();
    const parkedAt = Date.now();
    await h.worker.park(toChannelBytes(event('later')), 1, 300, 'retry');
    await s.waitFor((x) => x.accepted.length === 1, 5000);
    expect(Date.now() - parkedAt).toBeGreaterThanOrEqual(250);
    expect(s.accepted.map((r) => r.event?.id)).toEqual(['later']);
    expect(await h.count('event_mesh_dispatcher_parked_total', { namespace: NS, name: 'orders', reason: 'retry' })).toBe(1);
  });
});

describe('DeliveryWorker: a fan-out Trigger\'s lane', () => {
  const fanOutRoute = (url: string, maxInFlight: number) =>
    routeFor(uri(url), { kind: 'trigger', stage: 'fan-out', key: `${NS}/lane`, topic: 'retry-lane', consumer: 'retry-lane-consumer', maxInFlight });
  /** A broker event's share for this Trigger alone; `settled` records how its broker event ended. */
  const shareOf = (h: Harness, e: CloudEventJson, settled: boolean[]) =>
    new FanOutShare(new RecordedMessage(toChannelBytes(e)), new SharedSettlement(1, (ok) => void settled.push(ok)), h.worker.park);

  it('past the queue limit, a share is parked when another Trigger could use the window, and then not run by the lane too', async () => {
    const s = await sub(delayed(100));
    const h = await harness(fanOutRoute(s.url, 16));
    await h.worker.start();
    const settled: boolean[] = [];
    // 16 run, 64 wait: the lane is saturated and the next share is offered for parking.
    for (let i = 0; i < 80; i++) h.worker.offer(shareOf(h, event(`q${i}`), settled), undefined, () => true);
    expect(h.worker.saturated).toBe(true);
    h.worker.offer(shareOf(h, event('spilled'), settled), undefined, () => true);
    await s.waitFor((x) => x.acceptedIds().size === 81, 10_000);
    await pause(300);
    expect(await h.count('event_mesh_dispatcher_parked_total', { reason: 'saturated' })).toBe(1);
    // Delivered once, from the retry topic: not a second time by the lane.
    expect(s.requests.filter((r) => r.event?.id === 'spilled')).toHaveLength(1);
    expect(s.requests).toHaveLength(81);
    expect(settled).toEqual(Array(81).fill(true));
  });

  it('stop() (a restart): shares still waiting are parked for the next worker; stop(…, removed): they are acked', async () => {
    for (const removed of [false, true]) {
      const s = await sub(() => ({ hang: true }));
      const h = await harness(fanOutRoute(s.url, 1));
      await h.worker.start();
      const running: boolean[] = [];
      const waiting: boolean[] = [];
      h.worker.offer(shareOf(h, event(`run-${removed}`), running));
      h.worker.offer(shareOf(h, event(`wait-${removed}`), waiting));
      await s.waitFor((x) => x.requests.length === 1);
      // A restart calls stop(grace) alone; deleting the Trigger passes removed.
      await (removed ? h.worker.stop(50, true) : h.worker.stop(50));
      await waitFor(() => waiting.length === 1 && running.length === 1, 2000, 'both shares settled');
      expect({ removed, waiting, running }).toEqual({ removed, waiting: [true], running: [true] });
      expect({ removed, saturated: await h.count('event_mesh_dispatcher_parked_total', { reason: 'saturated' }) }).toEqual({ removed, saturated: removed ? 0 : 1 });
    }
  });

  it('stop(): parked events waiting in the lane go back to the retry topic after 1 s, not at once', async () => {
    const s = await sub(() => ({ hang: true }));
    const h = await harness(fanOutRoute(s.url, 1));
    await h.worker.start();
    // A share holds the lane's one slot; the parked event waits behind it.
    h.worker.offer(shareOf(h, event('running'), []));
    await s.waitFor((x) => x.requests.length === 1);
    await h.worker.park(toChannelBytes(event('p1')), 1, 0, 'retry');
    await pause(100);
    await h.worker.stop(50);
    await waitFor(() => h.channel.naks.includes(1000), 2000, 'the waiting parked event released');
    expect(h.channel.naks).toEqual([1000]);
  });

  it('a dedicated worker has no lane: a share offered to it goes back with its broker event', async () => {
    const h = await harness(routeFor(uri('http://127.0.0.1:1/')));
    await h.worker.start();
    const settled: boolean[] = [];
    h.worker.offer(shareOf(h, event(), settled));
    expect(settled).toEqual([false]);
  });
});

/** The bytes `h` parked on `topic` (read back from its in-memory channel). */
async function parkedBytesOf(h: Harness, topic: string): Promise<Uint8Array | undefined> {
  let bytes: Uint8Array | undefined;
  const c = await h.channel.consume(topic, `peek-${Math.random()}`, async (m) => {
    bytes = m.data;
    await m.ack();
  }, { ordered: false, maxInFlight: 1, ackWaitMs: 1000, deliverPolicy: 'all' });
  await waitFor(() => bytes !== undefined, 2000, 'the parked event');
  await c.stop(0);
  return bytes;
}
