/**
 * The per-event shortcuts of the data plane, each checked against the slow path it
 * replaces: heartbeats from one sweep, the broker stamp appended to stored bytes, a JSON
 * body stored as sent, the HTTP sender without per-request streams and signals, and the
 * default window of a Subscription that feeds a local broker.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeHttpEvents, fromChannelBytes, readChannelEvent, toChannelBytes } from '../../runtime/cloudevents';
import type { CloudEventJson } from '../../runtime/cloudevents';
import type { Channel } from '../../runtime/channel/channel';
import { HeartbeatSweep, heartbeatPeriodMs } from '../../runtime/dispatcher/delivery/heartbeats';
import { DeliveryAborted, HttpSender } from '../../runtime/dispatcher/delivery/http-sender';
import { appendBrokerStamp, stampForBroker } from '../../runtime/dispatcher/events';
import { BrokerStore } from '../../runtime/dispatcher/ingress/broker-store';
import { createDispatcherMetrics } from '../../runtime/dispatcher/metrics';
import { buildRoutingTable, DEFAULT_BROKER_SUBSCRIPTION_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT } from '../../runtime/dispatcher/routing/table';
import type { ManifestObject } from '../../runtime/dispatcher/routing';
import { createMetricsRegistry, silentLogger } from '../../runtime/observability';

describe('HeartbeatSweep', () => {
  it('beats every delivery that had no heartbeat for a period, once per period', () => {
    let now = 0;
    const beats: string[] = [];
    const hb = new HeartbeatSweep<string>(100, (m) => beats.push(m), () => now);
    hb.add('a');
    now = 60;
    hb.add('b');
    now = 99;
    expect(hb.sweep()).toBe(0);
    now = 100;
    expect(hb.sweep()).toBe(1); // a is due, b (60 ms old) is not
    expect(beats).toEqual(['a']);
    now = 160;
    hb.sweep();
    expect(beats).toEqual(['a', 'b']);
    hb.delete('a');
    now = 400;
    hb.sweep();
    expect(beats).toEqual(['a', 'b', 'b']);
    expect(hb.size).toBe(1);
  });

  it('with a sweep every period, no delivery goes longer than ackWait / 3 without a heartbeat', () => {
    const ackWait = 30_000;
    const period = heartbeatPeriodMs(ackWait);
    let now = 0;
    let worst = 0;
    const last = new Map<number, number>();
    const hb = new HeartbeatSweep<number>(period, (m) => {
      worst = Math.max(worst, now - last.get(m)!);
      last.set(m, now);
    }, () => now);
    // Deliveries start at arbitrary moments between sweeps; the interval fires every period.
    for (now = 0; now <= 10 * ackWait; now++) {
      if (now % 97 === 0 && last.size < 300) {
        hb.add(now);
        last.set(now, now);
      }
      if (now > 0 && now % period === 0) hb.sweep();
    }
    for (const at of last.values()) worst = Math.max(worst, now - 1 - at);
    expect(worst).toBeLessThanOrEqual(ackWait / 3);
    expect(worst).toBeGreaterThan(period);
    expect(heartbeatPeriodMs(300)).toBe(50);
  });

  it('a throwing heartbeat does not stop the sweep', () => {
    let now = 0;
    const seen: number[] = [];
    const hb = new HeartbeatSweep<number>(10, (m) => {
      seen.push(m);
      if (m === 1) throw new Error('connection gone');
    }, () => now);
    hb.add(1);
    hb.add(2);
    now = 10;
    expect(hb.sweep()).toBe(2);
    expect(seen).toEqual([1, 2]);
  });
});

const event = (extra: Record<string, unknown> = {}): CloudEventJson => ({
  specversion: '1.0',
  id: 'e-1',
  source: '/app',
  type: 'order.created',
  datacontenttype: 'application/json',
  data: { n: 1, text: 'héllo "quoted" \u2028' },
  ...extra,
});

describe('appendBrokerStamp', () => {
  const iso = '2024-05-01T10:00:00.000Z';
  it('is byte for byte the serialized stampForBroker for canonical bytes', () => {
    const ev = event();
    const raw = Buffer.from(JSON.stringify(ev));
    const stamped = appendBrokerStamp(raw, iso)!;
    expect(Buffer.from(stamped).toString()).toBe(JSON.stringify(stampForBroker(ev, new Date(iso))));
    expect(fromChannelBytes(stamped)).toEqual(stampForBroker(ev, new Date(iso)));
  });

  it('keeps any valid JSON object (whitespace, escapes) and gives the same event', () => {
    const raw = Buffer.from(' {\n "specversion" : "1.0", "id":"e-1","source":"/app","type":"t","data":{"a":[1, 2.50]}\n}\r\n ');
    const stamped = appendBrokerStamp(raw, iso)!;
    expect(fromChannelBytes(stamped)).toEqual(stampForBroker(fromChannelBytes(raw), new Date(iso)));
  });

  it('declines what it cannot extend', () => {
    expect(appendBrokerStamp(Buffer.from('{}'), iso)).toBeUndefined();
    expect(appendBrokerStamp(Buffer.from('{ }'), iso)).toBeUndefined();
    expect(appendBrokerStamp(Buffer.from('[1]'), iso)).toBeUndefined();
    expect(appendBrokerStamp(Buffer.from(''), iso)).toBeUndefined();
  });
});

describe('channel bytes without re-serializing', () => {
  it('readChannelEvent: the bytes are kept only when they are the event verbatim', () => {
    const bytes = toChannelBytes(event());
    const read = readChannelEvent(bytes);
    expect(read.event).toEqual(fromChannelBytes(bytes));
    expect(read.raw).toBe(bytes);
    // A null attribute is normalized away: the bytes are not the event any more.
    const withNull = Buffer.from(JSON.stringify({ ...event(), subject: null }));
    expect(readChannelEvent(withNull).raw).toBeUndefined();
    expect(readChannelEvent(withNull).event.subject).toBeUndefined();
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
    expect(readChannelEvent(bom).raw).toBeUndefined();
    expect(() => readChannelEvent(Buffer.from('{"specversion":"0.3"}'))).toThrow(/specversion/);
  });

  const headers = { 'ce-specversion': '1.0', 'ce-id': 'e-1', 'ce-source': '/app', 'ce-type': 't', 'content-type': 'application/json' };

  it('a binary JSON body is stored as sent: same event, same bytes when canonical', () => {
    const body = Buffer.from(JSON.stringify({ n: 1, s: 'é' }));
    const decoded = decodeHttpEvents(headers, body, { rawData: true });
    expect(decoded.rawData).toEqual([body]);
    const ev = decoded.events[0];
    ev.source = 'app';
    const bytes = toChannelBytes(ev, decoded.rawData![0]);
    expect(Buffer.from(bytes).toString()).toBe(JSON.stringify(ev));
    expect(fromChannelBytes(bytes)).toEqual(ev);
  });

  it('any JSON body (whitespace, number forms, BOM) serializes the same afterwards as the parsed event does', () => {
    for (const text of ['  {"a" : [1.0, -0, 1e2, 1e400, 12345678901234567890], "b": "\\u00e9", "b": 2}\n', '"just a string"', '[]', '0']) {
      for (const body of [Buffer.from(text), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])]) {
        const decoded = decodeHttpEvents(headers, body, { rawData: true });
        const ev = decoded.events[0];
        const spliced = fromChannelBytes(toChannelBytes(ev, decoded.rawData?.[0]));
        // Only what JSON.stringify itself normalizes (-0, overflow to Infinity) can differ
        // in the parsed value; every way the event leaves the mesh serializes it again.
        expect(JSON.stringify(spliced)).toBe(JSON.stringify(fromChannelBytes(toChannelBytes(ev))));
        expect(JSON.stringify(spliced)).toBe(JSON.stringify(ev));
      }
    }
  });

  it('rawData only for binary JSON bodies, and only when asked', () => {
    expect(decodeHttpEvents(headers, Buffer.from('{"a":1}')).rawData).toBeUndefined();
    expect(decodeHttpEvents(headers, Buffer.from('null'), { rawData: true }).rawData).toBeUndefined();
    expect(decodeHttpEvents({ ...headers, 'content-type': 'text/plain' }, Buffer.from('hi'), { rawData: true }).rawData).toBeUndefined();
    expect(decodeHttpEvents({ 'content-type': 'application/cloudevents+json' }, Buffer.from(JSON.stringify(event())), { rawData: true }).rawData).toBeUndefined();
  });
});

describe('BrokerStore', () => {
  const objects = (filter: Record<string, string>) =>
    [
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} },
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't', namespace: 'shop' }, spec: { broker: 'default', filter: { attributes: filter }, subscriber: { uri: 'http://sub/' } } },
    ] as ManifestObject[];

  const setup = (filter: Record<string, string>) => {
    const published: Uint8Array[] = [];
    const channel = { publish: async (_topic: string, data: Uint8Array) => void published.push(data) } as unknown as Channel;
    const registry = createMetricsRegistry({ defaults: false });
    const metrics = createDispatcherMetrics(registry);
    const { table } = buildRoutingTable(objects(filter));
    return { published, registry, store: new BrokerStore(channel, () => table, metrics, silentLogger()) };
  };

  it('stores the same event from raw bytes as from the parsed event', async () => {
    const { published, store } = setup({ type: 'order.created' });
    const ev = event();
    const raw = toChannelBytes(ev);
    await store.storeOne('shop', 'default', ev, raw);
    await store.storeOne('shop', 'default', ev);
    const [fromRaw, fromEvent] = published.map((b) => fromChannelBytes(b));
    expect(fromRaw.knativebrokerttl).toBe(255);
    expect(typeof fromRaw.knativearrivaltime).toBe('string');
    expect({ ...fromRaw, knativearrivaltime: 'x' }).toEqual({ ...fromEvent, knativearrivaltime: 'x' });
    // An event that went through a broker before keeps its TTL (serialized path).
    await store.storeOne('shop', 'default', { ...ev, knativebrokerttl: 7 }, toChannelBytes({ ...ev, knativebrokerttl: 7 }));
    expect(fromChannelBytes(published[2]).knativebrokerttl).toBe(7);
  });

  it('counts unmatched events the same way, also for filters on the stamp', async () => {
    const plain = setup({ type: 'other' });
    await plain.store.storeOne('shop', 'default', event(), toChannelBytes(event()));
    expect(await plain.registry.metrics()).toMatch(/event_mesh_broker_unmatched_events_total\{namespace="shop",broker="default"\} 1/);
    const onStamp = setup({ knativebrokerttl: '255' });
    await onStamp.store.storeOne('shop', 'default', event(), toChannelBytes(event()));
    expect(await onStamp.registry.metrics()).not.toMatch(/event_mesh_broker_unmatched_events_total\{/);
  });
});

describe('HttpSender', () => {
  let server: Server;
  let url: string;
  let handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
  const sender = new HttpSender({ maxResponseBytes: 16 });
  beforeAll(async () => {
    server = createServer((req, res) => handler(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/path?q=1`;
  });
  afterAll(async () => {
    await sender.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('posts headers and body, returns status, headers and body', async () => {
    let seen: { url?: string; ua?: string; ce?: string; body?: string } = {};
    handler = (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen = { url: req.url, ua: req.headers['user-agent'], ce: req.headers['ce-id'] as string, body };
        res.writeHead(201, { 'retry-after': '3', 'x-a': 'b' });
        res.end('ok');
      });
    };
    const r = await sender.post(url, { headers: { 'ce-id': '1' }, body: '{"a":1}' }, 1000);
    expect(seen).toEqual({ url: '/path?q=1', ua: 'event-mesh-dispatcher', ce: '1', body: '{"a":1}' });
    expect(r.outcome).toEqual({ kind: 'response', status: 201, retryAfter: '3' });
    expect(r.headers?.['x-a']).toBe('b');
    expect(r.body?.toString()).toBe('ok');
    expect(r.truncated).toBe(false);
  });

  it('cuts a large response body', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.end('x'.repeat(100));
    };
    const r = await sender.post(url, { headers: {}, body: undefined }, 1000);
    expect(r.truncated).toBe(true);
    expect(r.body?.length).toBe(16);
  });

  it('times out a subscriber that never answers', async () => {
    handler = () => undefined;
    const t0 = Date.now();
    const r = await sender.post(url, { headers: {}, body: 'x' }, 150);
    expect(r.outcome.kind).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a connection error is a network outcome', async () => {
    const r = await sender.post('http://127.0.0.1:1/', { headers: {}, body: 'x' }, 1000);
    expect(r.outcome.kind).toBe('network');
  });

  it('shutdown aborts in-flight attempts with DeliveryAborted, and refuses new ones', async () => {
    handler = () => undefined;
    const stop = new AbortController();
    const pending = [sender.post(url, { headers: {}, body: 'x' }, 10_000, stop.signal), sender.post(url, { headers: {}, body: 'y' }, 10_000, stop.signal)];
    await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(DeliveryAborted);
    await expect(sender.post(url, { headers: {}, body: 'x' }, 1000, stop.signal)).rejects.toBeInstanceOf(DeliveryAborted);
  });
});

describe('Subscription window', () => {
  const sub = (subscriber: Record<string, unknown>, annotations?: Record<string, string>) => ({
    apiVersion: 'messaging.knative.dev/v1',
    kind: 'Subscription',
    metadata: { name: 's', namespace: 'kyma-integration', ...(annotations ? { annotations } : {}) },
    spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'app' }, subscriber },
  });
  const brokerRef = { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: 'shop' } };
  const build = (...objects: unknown[]) =>
    buildRoutingTable([{ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} }, ...objects] as ManifestObject[]).table.subscriptions.get('kyma-integration/s')!;

  it('feeding a broker this dispatcher serves: a wide default window; otherwise the usual default; an annotation wins', () => {
    expect(build(sub(brokerRef)).maxInFlight).toBe(DEFAULT_BROKER_SUBSCRIPTION_MAX_IN_FLIGHT);
    expect(build(sub({ uri: 'http://svc.ns.svc/' })).maxInFlight).toBe(DEFAULT_MAX_IN_FLIGHT);
    expect(build(sub({ ref: { ...brokerRef.ref, name: 'elsewhere' } })).maxInFlight).toBe(DEFAULT_MAX_IN_FLIGHT);
    expect(build(sub(brokerRef, { 'event-mesh.dev/delivery.max-in-flight': '8' })).maxInFlight).toBe(8);
    expect(build(sub(brokerRef, { 'event-mesh.dev/delivery.order': 'ordered' })).maxInFlight).toBe(1);
  });
});
