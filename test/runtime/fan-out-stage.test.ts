/**
 * The broker fan-out stage's own decisions, without a channel server: which Triggers get a
 * share, when the broker event is acked or given back, what it counts, how it starts and
 * stops. The channel is a stand-in that records what the stage asks of it, and each Trigger
 * a stand-in worker that records its shares; the routing table, broker store and metrics are
 * the real ones. The stage over a real nats-server is in fan-out.test.ts.
 */
import { Registry } from 'prom-client';
import type { Channel, ChannelConsumer, ChannelMessage, MessageHandler } from '../../runtime/channel/channel';
import type { DeliveryWorker } from '../../runtime/dispatcher/delivery/worker';
import { BrokerFanOut, fanOutSourcesKey } from '../../runtime/dispatcher/fanout';
import type { BrokerFanOutTarget, FanOutShare } from '../../runtime/dispatcher/fanout';
import { BrokerStore } from '../../runtime/dispatcher/ingress/broker-store';
import { createDispatcherMetrics } from '../../runtime/dispatcher/metrics';
import { buildRoutingTable } from '../../runtime/dispatcher/routing/table';
import { silentLogger } from '../../runtime/observability';
import { sleep, waitFor } from '../support/wait';

const broker = (name: string) => ({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name, namespace: 'shop' } });
const trigger = (name: string, brokerName: string, type?: string) => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name, namespace: 'shop' },
  spec: { broker: brokerName, ...(type ? { filter: { attributes: { type } } } : {}), subscriber: { uri: `http://sink.shop/${name}` } },
});

/** The stand-in channel: records each consume() and hands back its handler. */
class StandInChannel {
  readonly consumed: { topic: string; consumer: string; options: Record<string, unknown>; handler: MessageHandler; stopped?: number }[] = [];
  failOn?: string;
  consume(topic: string, consumer: string, handler: MessageHandler, options: Record<string, unknown>): Promise<ChannelConsumer> {
    if (consumer === this.failOn) return Promise.reject(new Error(`no stream for ${topic}`));
    const entry: (typeof this.consumed)[number] = { topic, consumer, options, handler };
    this.consumed.push(entry);
    return Promise.resolve({
      stop: async (graceMs = 0) => {
        entry.stopped = graceMs;
      },
    });
  }
}

/** A stored event as the channel hands it over, recording how it was settled. */
function message(data: string | object, sequence?: number): ChannelMessage & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    data: Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)),
    deliveryCount: 1,
    sequence,
    ack: async () => void log.push('ack'),
    nak: (delayMs?: number) => void log.push(`nak ${delayMs}`),
    working: () => void log.push('working'),
  };
}

const event = (type: string, extra: Record<string, unknown> = {}) => ({ specversion: '1.0', id: `id-${type}`, source: '/orders', type, ...extra });

/** A stand-in Trigger worker: keeps the shares it is offered. */
class StandInWorker {
  readonly shares: { share: FanOutShare; parsed?: { event: { type: string; [k: string]: unknown } }; othersWaiting: () => boolean }[] = [];
  fanOut = true;
  saturated = false;
  startAfter?: number;
  readonly park = async () => {};
  takes(sequence: number | undefined): boolean {
    return sequence === undefined || this.startAfter === undefined || sequence > this.startAfter;
  }
  offer(share: FanOutShare, parsed: StandInWorker['shares'][number]['parsed'], othersWaiting: () => boolean): void {
    this.shares.push({ share, parsed, othersWaiting });
  }
}

function stage(options: { channels?: BrokerFanOutTarget['channels']; ackWaitMs?: number; objects?: object[] } = {}) {
  const { table, problems } = buildRoutingTable(
    (options.objects ?? [broker('orders'), broker('other'), trigger('created', 'orders', 'order.created'), trigger('any', 'orders'), trigger('paid', 'orders', 'order.paid'), trigger('elsewhere', 'other')]) as never,
  );
  expect(problems).toEqual([]);
  const workers = new Map<string, StandInWorker>();
  for (const key of table.triggers.keys()) workers.set(key, new StandInWorker());
  const registry = new Registry();
  const metrics = createDispatcherMetrics(registry);
  const logger = silentLogger();
  const channel = new StandInChannel();
  const store = new BrokerStore(channel as unknown as Channel, () => table, metrics, logger);
  const target: BrokerFanOutTarget = { brokerKey: 'shop/orders', topic: 'broker-topic', consumer: 'fan-out', channels: options.channels ?? [] };
  const fanOut = new BrokerFanOut(target, {
    channel: channel as unknown as Channel,
    logger,
    table: () => table,
    worker: (key) => workers.get(key) as unknown as DeliveryWorker | undefined,
    ackWaitMs: options.ackWaitMs ?? 30_000,
    store,
    metrics,
  });
  const metric = async (name: string, labels: Record<string, string>) => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
    return v?.value ?? 0;
  };
  const names = (keys: string[]) => keys.map((k) => workers.get(`shop/${k}`)!.shares.length);
  return { fanOut, channel, workers, metric, names, registry };
}

describe('fanOutSourcesKey', () => {
  it('names the broker topic and every channel read, in any order, so a change restarts the stage', () => {
    const a = { topic: 'app-a', consumer: 'sub-a', subscription: { namespace: 'shop', name: 'a' } };
    const b = { topic: 'app-b', consumer: 'sub-b', subscription: { namespace: 'shop', name: 'b' } };
    const base = { brokerKey: 'shop/orders', topic: 'broker-topic', consumer: 'fan-out' };
    expect(fanOutSourcesKey({ ...base, channels: [] })).toBe('broker-topic');
    expect(fanOutSourcesKey({ ...base, channels: [a, b] })).toBe('broker-topic app-a|sub-a app-b|sub-b');
    expect(fanOutSourcesKey({ ...base, channels: [b, a] })).toBe(fanOutSourcesKey({ ...base, channels: [a, b] }));
    expect(fanOutSourcesKey({ ...base, channels: [{ ...a, consumer: 'sub-a2' }] })).not.toBe(fanOutSourcesKey({ ...base, channels: [a] }));
  });
});

describe('broker fan-out stage', () => {
  it('starts one consumer on the broker topic at new events (or after a given sequence) and one per application channel from its start', async () => {
    const channels = [{ topic: 'app-topic', consumer: 'sub-durable', subscription: { namespace: 'shop', name: 'app-to-orders' } }];
    const { fanOut, channel } = stage({ channels });
    await fanOut.start();
    expect(channel.consumed.map((c) => [c.topic, c.consumer, c.options.deliverPolicy])).toEqual([
      ['broker-topic', 'fan-out', 'new'],
      ['app-topic', 'sub-durable', 'all'],
    ]);
    expect(channel.consumed[0].options).not.toHaveProperty('startAfter');
    expect(channel.consumed[0].options).toMatchObject({ ordered: false, maxInFlight: 4096, ackWaitMs: 30_000 });
    const after = stage();
    await after.fanOut.start(41);
    expect(after.channel.consumed[0].options).toMatchObject({ deliverPolicy: 'new', startAfter: 41 });
    await fanOut.stop(0);
    await after.fanOut.stop(0);
  });

  it('a source that cannot be read fails start() and stops what had started', async () => {
    const channels = [{ topic: 'app-topic', consumer: 'sub-durable', subscription: { namespace: 'shop', name: 'app-to-orders' } }];
    const { fanOut, channel } = stage({ channels });
    channel.failOn = 'sub-durable';
    await expect(fanOut.start()).rejects.toThrow('no stream for app-topic');
    expect(channel.consumed.map((c) => [c.consumer, c.stopped])).toEqual([['fan-out', 0]]);
  });

  it("hands each event only to this broker's Triggers whose filters match, and acks it once every share is settled", async () => {
    const { fanOut, channel, workers, names } = stage();
    await fanOut.start();
    const m = message(event('order.created'), 5);
    const done = channel.consumed[0].handler(m);
    expect(names(['created', 'any', 'paid', 'elsewhere'])).toEqual([1, 1, 0, 0]);
    const created = workers.get('shop/created')!.shares[0];
    expect(created.parsed?.event.type).toBe('order.created');
    await created.share.ack();
    expect(m.log).toEqual([]);
    await workers.get('shop/any')!.shares[0].share.ack();
    await done;
    expect(m.log).toEqual(['ack']);
    await fanOut.stop(0);
  });

  it('gives the event back to all (not acked) when one share could not be settled', async () => {
    const { fanOut, channel, workers } = stage();
    await fanOut.start();
    const m = message(event('order.created'), 5);
    const done = channel.consumed[0].handler(m);
    await workers.get('shop/created')!.shares[0].share.ack();
    workers.get('shop/any')!.shares[0].share.fail();
    await done;
    expect(m.log).toEqual(['nak 1000']);
    await fanOut.stop(0);
  });

  it('an event no Trigger matches is acked at once', async () => {
    const { fanOut, channel, names } = stage({ objects: [broker('orders'), trigger('created', 'orders', 'order.created')] });
    await fanOut.start();
    const m = message(event('order.shipped'), 1);
    await channel.consumed[0].handler(m);
    expect(names(['created'])).toEqual([0]);
    expect(m.log).toEqual(['ack']);
    await fanOut.stop(0);
  });

  it("bytes that are not an event go to every Trigger of this broker (each dead-letters them by its own spec), no other broker's", async () => {
    const { fanOut, channel, workers, names } = stage();
    await fanOut.start();
    const m = message('not json', 9);
    void channel.consumed[0].handler(m);
    expect(names(['created', 'any', 'paid', 'elsewhere'])).toEqual([1, 1, 1, 0]);
    expect(workers.get('shop/paid')!.shares[0].parsed).toBeUndefined();
    await fanOut.stop(0);
  });

  it('skips a Trigger whose worker already had the event (an upgrade took over after it), is not a fan-out worker, or is missing', async () => {
    const { fanOut, channel, workers, names } = stage();
    await fanOut.start();
    workers.get('shop/created')!.startAfter = 10;
    workers.get('shop/any')!.fanOut = false;
    workers.delete('shop/paid');
    const old = message(event('order.created'), 10);
    await channel.consumed[0].handler(old);
    expect(names(['created', 'any'])).toEqual([0, 0]);
    expect(old.log).toEqual(['ack']);
    void channel.consumed[0].handler(message(event('order.created'), 11));
    expect(names(['created', 'any'])).toEqual([1, 0]);
    await fanOut.stop(0);
  });

  it("asks once per event whether another Trigger has room, and answers no when every Trigger's lane is full", async () => {
    const { fanOut, channel, workers } = stage();
    await fanOut.start();
    void channel.consumed[0].handler(message(event('order.created'), 1));
    const [created, any] = [workers.get('shop/created')!, workers.get('shop/any')!];
    for (const w of workers.values()) w.saturated = true;
    expect(created.shares[0].othersWaiting()).toBe(false);
    // Answered once for the event: a lane that frees up later does not change it.
    workers.get('shop/paid')!.saturated = false;
    expect(any.shares[0].othersWaiting()).toBe(false);
    void channel.consumed[0].handler(message(event('order.created'), 2));
    expect(created.shares[1].othersWaiting()).toBe(true);
    await fanOut.stop(0);
  });

  it("an application channel's event is stamped as the broker stores it, and counted for its Subscription once settled", async () => {
    const channels = [{ topic: 'app-topic', consumer: 'sub-durable', subscription: { namespace: 'shop', name: 'app-to-orders' } }];
    const { fanOut, channel, workers, metric } = stage({ channels });
    await fanOut.start();
    const m = message(event('order.paid'), 77);
    const done = channel.consumed[1].handler(m);
    const [paid, any] = [workers.get('shop/paid')!.shares, workers.get('shop/any')!.shares];
    expect(paid).toHaveLength(1);
    const stored = JSON.parse(Buffer.from(paid[0].share.data).toString());
    expect(stored.knativearrivaltime).toEqual(expect.any(String));
    expect(paid[0].parsed?.event.knativearrivaltime).toBe(stored.knativearrivaltime);
    // Its sequence is of another topic: never compared with a Trigger's take-over point.
    workers.get('shop/any')!.startAfter = 1000;
    expect(any).toHaveLength(1);
    const delivered = { kind: 'subscription', namespace: 'shop', name: 'app-to-orders' };
    expect(await metric('event_mesh_dispatcher_delivered_total', delivered)).toBe(0);
    await paid[0].share.ack();
    await any[0].share.ack();
    await done;
    expect(m.log).toEqual(['ack']);
    expect(await metric('event_mesh_dispatcher_delivered_total', delivered)).toBe(1);
    await fanOut.stop(0);
  });

  it("an application channel's event no Trigger matches is acked, counted as unmatched for the broker and delivered for the Subscription", async () => {
    const channels = [{ topic: 'app-topic', consumer: 'sub-durable', subscription: { namespace: 'shop', name: 'app-to-orders' } }];
    const { fanOut, channel, metric } = stage({ channels, objects: [broker('orders'), trigger('created', 'orders', 'order.created')] });
    await fanOut.start();
    const m = message(event('order.shipped'), 3);
    await channel.consumed[1].handler(m);
    expect(m.log).toEqual(['ack']);
    expect(await metric('event_mesh_broker_unmatched_events_total', { namespace: 'shop', broker: 'orders' })).toBe(1);
    expect(await metric('event_mesh_dispatcher_delivered_total', { kind: 'subscription', name: 'app-to-orders' })).toBe(1);
    // A broker-topic event that matches nothing is not counted here (broker ingress did at arrival).
    await channel.consumed[0].handler(message(event('order.shipped'), 4));
    expect(await metric('event_mesh_broker_unmatched_events_total', { namespace: 'shop', broker: 'orders' })).toBe(1);
    await fanOut.stop(0);
  });

  it("an application channel's event whose TTL is used up is acked and handed to nobody", async () => {
    const channels = [{ topic: 'app-topic', consumer: 'sub-durable', subscription: { namespace: 'shop', name: 'app-to-orders' } }];
    const { fanOut, channel, names, metric } = stage({ channels });
    await fanOut.start();
    const m = message(event('order.created', { knativebrokerttl: 0 }), 3);
    await channel.consumed[1].handler(m);
    expect(m.log).toEqual(['ack']);
    expect(names(['created', 'any'])).toEqual([0, 0]);
    expect(await metric('event_mesh_dispatcher_dropped_total', { reason: 'ttl_exhausted' })).toBe(1);
    await fanOut.stop(0);
  });

  it("counts the broker ingress Knative would have for an application channel's event, with a real duration", async () => {
    const channels = [{ topic: 'app-topic', consumer: 'sub-durable', subscription: { namespace: 'shop', name: 'app-to-orders' } }];
    const { fanOut, channel, registry } = stage({ channels });
    await fanOut.start();
    void channel.consumed[1].handler(message(event('order.created'), 3));
    const metrics = await registry.getMetricsAsJSON();
    const count = metrics.find((x) => x.name === 'event_count')!;
    expect(count.values).toEqual([expect.objectContaining({ value: 1, labels: expect.objectContaining({ broker_name: 'orders', container_name: 'ingress', response_code: '202' }) })]);
    const latency = metrics.find((x) => x.name === 'event_dispatch_latencies')!;
    const sum = latency.values.find((v) => (v as { metricName?: string }).metricName === 'event_dispatch_latencies_sum');
    expect(sum).toBeDefined();
    // Milliseconds spent stamping one event: far below a second (not "now + start").
    expect(sum!.value).toBeGreaterThanOrEqual(0);
    expect(sum!.value).toBeLessThan(1000);
    await fanOut.stop(0);
  });

  it('keeps a broker event it handed out alive with heartbeats while a share is open, and stops once settled', async () => {
    const { fanOut, channel, workers } = stage({ ackWaitMs: 300 });
    await fanOut.start();
    const m = message(event('order.created'), 1);
    const done = channel.consumed[0].handler(m);
    await waitFor(() => m.log.includes('working'), 5_000, 'a heartbeat on the open broker event');
    await workers.get('shop/created')!.shares[0].share.ack();
    await workers.get('shop/any')!.shares[0].share.ack();
    await done;
    const settledAt = m.log.length;
    await sleep(700);
    expect(m.log.slice(settledAt)).toEqual([]);
    expect(m.log.filter((l) => l !== 'working')).toEqual(['ack']);
    await fanOut.stop(0);
  });

  it('stops heartbeating what is still open once stopped (the channel redelivers it after its ack wait)', async () => {
    const { fanOut, channel } = stage({ ackWaitMs: 300 });
    await fanOut.start();
    const m = message(event('order.created'), 1);
    void channel.consumed[0].handler(m);
    await waitFor(() => m.log.includes('working'), 5_000, 'a heartbeat on the open broker event');
    await fanOut.stop(0);
    const stoppedAt = m.log.length;
    await sleep(700);
    expect(m.log.slice(stoppedAt)).toEqual([]);
  });

  it('stop() stops every consumer with the grace period once, and gives back what arrives after', async () => {
    const channels = [{ topic: 'app-topic', consumer: 'sub-durable', subscription: { namespace: 'shop', name: 'app-to-orders' } }];
    const { fanOut, channel, names } = stage({ channels });
    await fanOut.start();
    await fanOut.stop(2500);
    expect(channel.consumed.map((c) => c.stopped)).toEqual([2500, 2500]);
    for (const c of channel.consumed) c.stopped = undefined;
    await fanOut.stop(10);
    expect(channel.consumed.map((c) => c.stopped)).toEqual([undefined, undefined]);
    const late = message(event('order.created'), 8);
    // Settled at once, not handed out (a share nobody settles would leave this pending).
    await Promise.race([channel.consumed[0].handler(late), sleep(200)]);
    expect(late.log).toEqual(['nak undefined']);
    expect(names(['created', 'any'])).toEqual([0, 0]);
  });
});
