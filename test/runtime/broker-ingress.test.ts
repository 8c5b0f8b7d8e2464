/**
 * Broker ingress on its own: the path it serves, every answer it gives (with the JSON error
 * body and the headers a client acts on), what it counts for each, and the broker store's
 * stamping, TTL drops and "no Trigger matched" count. A real node:http server and client,
 * the in-memory channel (failing publishes on request), prom-client registries read back.
 */
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChannelFullError, ChannelUnavailableError } from '../../runtime/channel/channel';
import { toChannelBytes } from '../../runtime/cloudevents';
import type { CloudEventJson } from '../../runtime/cloudevents';
import { BrokerNotFoundError, BrokerStore } from '../../runtime/dispatcher/ingress/broker-store';
import { handleBrokerIngress, parseBrokerPath } from '../../runtime/dispatcher/ingress/http';
import { createDispatcherMetrics } from '../../runtime/dispatcher/metrics';
import { buildRoutingTable } from '../../runtime/dispatcher/routing/table';
import type { ManifestObject } from '../../runtime/dispatcher/routing';
import type { RoutingTable } from '../../runtime/dispatcher/routing/table';
import { createMetricsRegistry } from '../../runtime/observability';
import { captureLogs, FailingInMemoryChannel, metricTotal } from '../support/observed';
import type { LogLine } from '../support/observed';
import { waitFor } from '../support/wait';

const NS = 'shop';
const BROKER: ManifestObject = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: NS }, spec: {} };
const trigger = (name: string, spec: Record<string, unknown>): ManifestObject => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name, namespace: NS },
  spec: { broker: 'default', subscriber: { uri: 'http://127.0.0.1:1/' }, ...spec },
});
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

interface Ingress {
  url: string;
  channel: FailingInMemoryChannel;
  store: BrokerStore;
  lines: LogLine[];
  accepting: boolean;
  setTables(...tables: RoutingTable[]): void;
  count(name: string, labels?: Record<string, string>): Promise<number>;
  stored(topic: string, n: number): Promise<Record<string, unknown>[]>;
}

async function ingress(objects: ManifestObject[] = [BROKER], maxBodyBytes = 64 * 1024, maxJsonDepth?: number): Promise<Ingress> {
  const channel = new FailingInMemoryChannel();
  await channel.connect();
  const registry = createMetricsRegistry({ defaults: false });
  const metrics = createDispatcherMetrics(registry, { eventTypeLabel: true });
  const { logger, lines } = captureLogs('ingress-test');
  // Each table() call takes the next table of the list (and keeps the last).
  let tables = [buildRoutingTable(objects).table];
  const table = () => (tables.length > 1 ? tables.shift()! : tables[0]);
  const store = new BrokerStore(channel, table, metrics, logger);
  const self: Ingress = {
    url: '',
    channel,
    store,
    lines,
    accepting: true,
    setTables: (...t) => void (tables = t),
    count: (name, labels) => metricTotal(registry, name, labels),
    stored: async (topic, n) => {
      const out: Record<string, unknown>[] = [];
      const c = await channel.consume(topic, `read-${Math.random()}`, async (m) => {
        out.push(JSON.parse(Buffer.from(m.data).toString('utf8')));
        await m.ack();
      }, { ordered: true, maxInFlight: 1, ackWaitMs: 1000, deliverPolicy: 'all' });
      await waitFor(() => out.length >= n, 2000, `${n} stored events`);
      await c.stop(0);
      return out;
    },
  };
  const server: Server = createServer((req, res) => {
    const target = parseBrokerPath(new URL(req.url ?? '/', 'http://x').pathname)!;
    void handleBrokerIngress(req, res, target, store, { maxBodyBytes, maxJsonDepth, accepting: () => self.accepting }, metrics, logger);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)), () => channel.close());
  self.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return self;
}

async function post(url: string, body: string, headers: Record<string, string> = {}, method = 'POST') {
  const res = await fetch(url, { method, headers, body: method === 'GET' ? undefined : body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const binary = (id: string, type = 'order.created', extra: Record<string, string> = {}) => ({
  'ce-specversion': '1.0',
  'ce-id': id,
  'ce-source': '/orders',
  'ce-type': type,
  'content-type': 'application/json',
  ...extra,
});
const event = (id: string, extra: Partial<CloudEventJson> = {}): CloudEventJson => ({ specversion: '1.0', id, source: '/orders', type: 'order.created', ...extra });

describe('parseBrokerPath', () => {
  it('reads /<namespace>/<broker>, a trailing slash allowed, DNS-1123 names only', () => {
    expect(['/shop/default', '/shop/default/', '/a/b', '/shop-1/my.broker-2', '/0/9'].map(parseBrokerPath)).toEqual([
      { namespace: 'shop', broker: 'default' },
      { namespace: 'shop', broker: 'default' },
      { namespace: 'a', broker: 'b' },
      { namespace: 'shop-1', broker: 'my.broker-2' },
      { namespace: '0', broker: '9' },
    ]);
    for (const bad of ['/Shop/default', '/shop/', '/shop', '/-shop/x', '/shop-/x', '/shop/x-', '/shop/.x', '/shop/x.', '/sh.op/x', '/shop/default/extra', 'shop/default', '//shop/default', '/shop/default//', 'x/shop/default'])
      expect([bad, parseBrokerPath(bad)]).toEqual([bad, undefined]);
  });
});

describe('broker ingress answers', () => {
  it('202 once stored: the event on the broker topic with its arrival time and TTL; counted with its type and a store time', async () => {
    const i = await ingress();
    const r = await post(`${i.url}/shop/default`, '{"n":1}', binary('a1'));
    expect([r.status, r.headers.get('content-length'), r.body]).toEqual([202, '0', undefined]);
    const topic = buildRoutingTable([BROKER]).table.brokers.get('shop/default')!.topic;
    const [stored] = await i.stored(topic, 1);
    expect([stored.id, stored.knativebrokerttl, RFC3339.test(String(stored.knativearrivaltime))]).toEqual(['a1', 255, true]);
    expect(await i.count('event_mesh_broker_ingress_events_total', { namespace: NS, broker: 'default', outcome: 'accepted' })).toBe(1);
    expect(await i.count('event_count', { broker_name: 'default', event_type: 'order.created', response_code: '202', container_name: 'ingress' })).toBe(1);
    const sum = await i.count('event_dispatch_latencies_sum', { response_code: '202' });
    expect(sum).toBeGreaterThanOrEqual(0);
    expect(sum).toBeLessThan(1000);
    expect(await i.count('event_dispatch_latencies_count', { response_code: '202' })).toBe(1);
  });

  it('a batch: one count per event, by type', async () => {
    const i = await ingress();
    const batch = JSON.stringify([event('b1', { type: 'order.created' }), event('b2', { type: 'order.paid' })]);
    const r = await post(`${i.url}/shop/default`, batch, { 'content-type': 'application/cloudevents-batch+json' });
    expect(r.status).toBe(202);
    expect([await i.count('event_count', { event_type: 'order.created' }), await i.count('event_count', { event_type: 'order.paid' })]).toEqual([1, 1]);
  });

  it('405 for anything but POST, with Allow: POST and the URL to use; counted once, without an event type', async () => {
    const i = await ingress();
    const r = await post(`${i.url}/shop/default`, '', {}, 'GET');
    expect([r.status, r.headers.get('allow'), r.body]).toEqual([405, 'POST', { error: 'method_not_allowed', message: 'broker ingress accepts POST only (got GET): POST CloudEvents to /shop/default' }]);
    expect(await i.count('event_mesh_broker_ingress_events_total', { outcome: 'method_not_allowed' })).toBe(1);
    expect(await i.count('event_count', { response_code: '405', event_type: '' })).toBe(1);
  });

  it('404 for a broker this dispatcher does not serve, naming it', async () => {
    const i = await ingress();
    const r = await post(`${i.url}/shop/nope`, '{}', binary('n1'));
    expect([r.status, r.body.error]).toEqual([404, 'broker_not_found']);
    expect(r.body.message).toBe(new BrokerNotFoundError('shop', 'nope').message);
    expect(r.body.message).toMatch(/^there is no Broker "nope" in namespace "shop" served by this dispatcher/);
    expect(await i.count('event_mesh_broker_ingress_events_total', { outcome: 'broker_not_found' })).toBe(1);
    expect(await i.count('event_count', { response_code: '404' })).toBe(1);
  });

  it('404 when the broker is removed while the request is read', async () => {
    const i = await ingress();
    i.setTables(buildRoutingTable([BROKER]).table, buildRoutingTable([]).table);
    const r = await post(`${i.url}/shop/default`, '{}', binary('gone'));
    expect([r.status, r.body.error]).toEqual([404, 'broker_not_found']);
    expect(await i.count('event_mesh_broker_ingress_events_total', { outcome: 'broker_not_found' })).toBe(1);
  });

  it('503 shutting_down with Retry-After while the dispatcher stops', async () => {
    const i = await ingress();
    i.accepting = false;
    const r = await post(`${i.url}/shop/default`, '{}', binary('s1'));
    expect([r.status, r.headers.get('retry-after'), r.body]).toEqual([503, '1', { error: 'shutting_down', message: 'the dispatcher is shutting down: retry, another replica will take the event' }]);
    expect(await i.count('event_mesh_broker_ingress_events_total', { outcome: 'shutting_down' })).toBe(1);
  });

  it('400 for an invalid event, naming the attribute; counted as invalid with the status', async () => {
    const i = await ingress();
    const headers: Record<string, string> = { ...binary('x') };
    delete headers['ce-source'];
    const r = await post(`${i.url}/shop/default`, '{}', headers);
    expect([r.status, r.body.attribute]).toEqual([400, 'source']);
    expect(typeof r.body.error).toBe('string');
    expect(await i.count('event_mesh_broker_ingress_events_total', { outcome: 'invalid' })).toBe(1);
    expect(await i.count('event_count', { response_code: '400' })).toBe(1);
  });

  it('an error that concerns no one attribute has no attribute field', async () => {
    const i = await ingress();
    const r = await post(`${i.url}/shop/default`, '{not json', { 'content-type': 'application/cloudevents+json' });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body).sort()).toEqual(['error', 'message']);
  });

  it('the configured --max-json-depth applies: data nested past it is a 400 naming data, data at it is stored', async () => {
    const i = await ingress([BROKER], 64 * 1024, 3);
    const nested = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
    const deep = await post(`${i.url}/shop/default`, nested(4), binary('deep'));
    expect([deep.status, deep.body.error, deep.body.attribute]).toEqual([400, 'json_too_deep', 'data']);
    expect(deep.body.message).toContain('more than 3 levels deep');
    expect((await post(`${i.url}/shop/default`, nested(3), binary('flat'))).status).toBe(202);
    // The default limit (64) is not what applied: depth 4 passes a broker ingress without the option.
    const defaults = await ingress();
    expect((await post(`${defaults.url}/shop/default`, nested(4), binary('deep'))).status).toBe(202);
  });

  it('413 for a body over the limit, closing the connection', async () => {
    const i = await ingress([BROKER], 100);
    const r = await post(`${i.url}/shop/default`, JSON.stringify({ pad: 'x'.repeat(500) }), binary('big'));
    expect([r.status, r.headers.get('connection'), r.body.error]).toEqual([413, 'close', 'body_too_large']);
    expect(await i.count('event_mesh_broker_ingress_events_total', { outcome: 'too_large' })).toBe(1);
  });

  it('a client that goes away mid-body: counted as aborted (status 0), nothing stored', async () => {
    const i = await ingress();
    const u = new URL(`${i.url}/shop/default`);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...binary('ab'), 'content-length': '1000' } });
    req.on('error', () => undefined);
    req.write('{"partial":');
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    await waitFor(async () => (await i.count('event_mesh_broker_ingress_events_total', { outcome: 'aborted' })) === 1, 2000, 'the aborted count');
    expect(await i.count('event_count', { response_code: '0' })).toBe(1);
    expect(await i.count('event_mesh_broker_ingress_events_total', { outcome: 'accepted' })).toBe(0);
  });

  it('507 when the channel is full, 503 with its Retry-After when it is unavailable, 500 (logged) for anything else', async () => {
    const i = await ingress();
    i.channel.failPublish = new ChannelFullError('topic t is full');
    const full = await post(`${i.url}/shop/default`, '{}', binary('f1'));
    expect([full.status, full.body]).toEqual([507, { error: 'channel_full', message: 'topic t is full: retry later' }]);
    i.channel.failPublish = new ChannelUnavailableError('no responders', 7);
    const down = await post(`${i.url}/shop/default`, '{}', binary('f2'));
    expect([down.status, down.headers.get('retry-after'), down.body]).toEqual([503, '7', { error: 'channel_unavailable', message: 'the event store is not available (no responders): retry' }]);
    i.channel.failPublish = new Error('disk on fire');
    const other = await post(`${i.url}/shop/default`, '{}', binary('f3'));
    expect([other.status, other.body]).toEqual([500, { error: 'internal_error', message: 'storing the event failed: disk on fire; retry' }]);
    expect(i.lines.filter((l) => l.msg === 'broker ingress failed').map((l) => [l.level, l.namespace, l.broker, (l.err as { message: string }).message])).toEqual([[50, NS, 'default', 'disk on fire']]);
    expect(await Promise.all(['channel_full', 'channel_unavailable', 'error'].map((outcome) => i.count('event_mesh_broker_ingress_events_total', { outcome })))).toEqual([1, 1, 1]);
    expect(await Promise.all(['507', '503', '500'].map((response_code) => i.count('event_count', { response_code })))).toEqual([1, 1, 1]);
  });
});

describe('BrokerStore', () => {
  const topic = buildRoutingTable([BROKER]).table.brokers.get('shop/default')!.topic;

  it('an unknown broker is a BrokerNotFoundError naming it and how to fix it', async () => {
    const i = await ingress();
    const err = await i.store.store(NS, 'nope', [event('u')]).catch((e) => e);
    expect(err).toBeInstanceOf(BrokerNotFoundError);
    expect([err.name, err.message]).toEqual(['BrokerNotFoundError', 'there is no Broker "nope" in namespace "shop" served by this dispatcher: check the URL (/<namespace>/<broker>) and that the Broker exists with class EventMeshBroker']);
    await expect(i.store.storeOne(NS, 'nope', event('u'))).rejects.toBeInstanceOf(BrokerNotFoundError);
  });

  it('an event whose TTL is used up is dropped, counted and logged, not stored; the rest of a batch is', async () => {
    const i = await ingress();
    expect(await i.store.store(NS, 'default', [event('t0', { knativebrokerttl: 0 }), event('t1', { knativebrokerttl: 1 }), event('t2')])).toEqual({ stored: 2, expired: 1 });
    expect(await i.store.storeOne(NS, 'default', event('t3', { knativebrokerttl: 0 }))).toEqual({ stored: 0, expired: 1 });
    expect(await i.store.storeOne(NS, 'default', event('t4', { knativebrokerttl: 1 }))).toEqual({ stored: 1, expired: 0 });
    expect((await i.stored(topic, 3)).map((e) => [e.id, e.knativebrokerttl])).toEqual([['t1', 1], ['t2', 255], ['t4', 1]]);
    expect(await i.count('event_mesh_dispatcher_dropped_total', { kind: 'broker', namespace: NS, name: 'default', reason: 'ttl_exhausted' })).toBe(2);
    const lines = i.lines.filter((l) => l.msg === 'event dropped at broker ingress: knativebrokerttl is used up (an event loop?)');
    expect(lines.map((l) => [l.level, l.namespace, l.broker, l.id, l.type, l.source])).toEqual([
      [40, NS, 'default', 't0', 'order.created', '/orders'],
      [40, NS, 'default', 't3', 'order.created', '/orders'],
    ]);
  });

  it('stamp(): the stamp is appended to the bytes as read when the event has none; an event with a TTL or arrival time is serialized again, keeping its TTL', async () => {
    const i = await ingress();
    const route = buildRoutingTable([BROKER]).table.brokers.get('shop/default')!;
    const now = new Date('2026-12-03T08:00:00.000Z');
    const plain = event('p');
    const raw = toChannelBytes(plain);
    const a = i.store.stamp(route, plain, raw, now)!;
    expect([a.appended, a.event.knativearrivaltime, a.event.knativebrokerttl]).toEqual([true, '2026-12-03T08:00:00.000Z', 255]);
    expect(Buffer.from(a.bytes).subarray(0, raw.length - 1).equals(Buffer.from(raw).subarray(0, raw.length - 1))).toBe(true);
    expect(JSON.parse(Buffer.from(a.bytes).toString())).toEqual(a.event);
    const withTtl = event('q', { knativebrokerttl: 9 });
    const b = i.store.stamp(route, withTtl, toChannelBytes(withTtl), now)!;
    expect([b.appended, b.event.knativebrokerttl, JSON.parse(Buffer.from(b.bytes).toString()).knativebrokerttl]).toEqual([false, 9, 9]);
    const arrived = event('r', { knativearrivaltime: '2026-01-01T00:00:00Z' });
    expect(i.store.stamp(route, arrived, toChannelBytes(arrived), now)!.appended).toBe(false);
    const ttlOnly = event('s', { knativebrokerttl: 255 });
    expect(i.store.stamp(route, { ...ttlOnly }, toChannelBytes(ttlOnly), now)!.appended).toBe(false);
    expect(i.store.stamp(route, plain, undefined, now)!.appended).toBe(false);
  });

  it('arrival times follow the clock (not one cached value) and are RFC 3339', async () => {
    const i = await ingress();
    await i.store.storeOne(NS, 'default', event('c1'), toChannelBytes(event('c1')));
    await new Promise((r) => setTimeout(r, 15));
    await i.store.storeOne(NS, 'default', event('c2'), toChannelBytes(event('c2')));
    const [c1, c2] = await i.stored(topic, 2);
    expect([RFC3339.test(String(c1.knativearrivaltime)), RFC3339.test(String(c2.knativearrivaltime))]).toEqual([true, true]);
    expect(Date.parse(String(c2.knativearrivaltime)) - Date.parse(String(c1.knativearrivaltime))).toBeGreaterThanOrEqual(10);
  });

  it('counts events no Trigger matched at arrival, only on brokers with Triggers; a filter on a stamp attribute sees the stamped event', async () => {
    const none = await ingress();
    await none.store.storeOne(NS, 'default', event('n1'), toChannelBytes(event('n1')));
    expect(await none.count('event_mesh_broker_unmatched_events_total')).toBe(0);

    const i = await ingress([
      BROKER,
      trigger('paid', { filter: { attributes: { type: 'order.paid' } } }),
      trigger('ttl', { filters: [{ exact: { type: 'order.stamped', knativebrokerttl: '255' } }] }),
    ]);
    await i.store.storeOne(NS, 'default', event('m1'), toChannelBytes(event('m1')));
    expect(await i.count('event_mesh_broker_unmatched_events_total', { namespace: NS, broker: 'default' })).toBe(1);
    await i.store.storeOne(NS, 'default', event('m2', { type: 'order.paid' }), toChannelBytes(event('m2', { type: 'order.paid' })));
    const stamped = event('m3', { type: 'order.stamped' });
    await i.store.storeOne(NS, 'default', stamped, toChannelBytes(stamped));
    expect(await i.count('event_mesh_broker_unmatched_events_total')).toBe(1);
  });
});
