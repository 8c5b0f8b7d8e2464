/**
 * The broker fan-out stage: one durable consumer per broker reads each event once and
 * hands it to the matching Triggers, each in its own lane; a saturated or retrying Trigger
 * parks its events on the broker's retry topic instead of holding the others back; an
 * upgrade from per-Trigger consumers loses and repeats nothing. Pure parts (lane,
 * settlement, parked format) are tested directly, the rest against a real nats-server.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { brokerFanOutConsumer, brokerRetryTopic, brokerTopic, channelTopic, triggerConsumer, triggerRetryConsumer } from '../../constructs/api';
import { JetStreamChannel, streamNameFor } from '../../runtime/channel/jetstream';
import { startDispatcher } from '../../runtime/dispatcher';
import type { Dispatcher } from '../../runtime/dispatcher';
import { decodeParked, encodeParked, Lane, SharedSettlement } from '../../runtime/dispatcher/fanout';
import type { LaneTask } from '../../runtime/dispatcher/fanout';
import { accept, startSubscriber } from '../support/http-subscriber';
import type { Subscriber } from '../support/http-subscriber';
import { startNatsServer } from '../support/nats-server';
import type { NatsServerHandle } from '../support/nats-server';
import { sleep, waitFor } from '../support/wait';

describe('fan-out lane (pure)', () => {
  function task(log: string[], name: string, opts: { spillable?: boolean; hold?: Promise<void>; declines?: boolean } = {}): LaneTask {
    return {
      spillable: opts.spillable ?? true,
      run: async () => {
        log.push(`run ${name}`);
        await opts.hold;
      },
      spill: () => {
        log.push(opts.declines ? `declined ${name}` : `spill ${name}`);
        return !opts.declines;
      },
      abandon: () => log.push(`abandon ${name}`),
    };
  }

  it('runs at most maxInFlight at once, in order, and spills only past the queue limit', async () => {
    const log: string[] = [];
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const lane = new Lane(2, 2);
    for (const n of ['a', 'b', 'c', 'd', 'e']) lane.submit(task(log, n, { hold }));
    lane.submit(task(log, 'f', { spillable: false, hold }));
    expect(log).toEqual(['run a', 'run b', 'spill e']);
    expect(lane.inFlight).toBe(2);
    expect(lane.queued).toBe(3);
    release();
    await lane.idle();
    expect(log).toEqual(['run a', 'run b', 'spill e', 'run c', 'run d', 'run f']);
  });

  it('a spill the caller declines waits its turn after all, past the queue limit', async () => {
    const log: string[] = [];
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const lane = new Lane(1, 1);
    expect(lane.saturated).toBe(false);
    for (const n of ['a', 'b']) lane.submit(task(log, n, { hold }));
    expect(lane.saturated).toBe(true);
    lane.submit(task(log, 'c', { hold, declines: true }));
    lane.submit(task(log, 'd', { hold }));
    expect(log).toEqual(['run a', 'declined c', 'spill d']);
    expect(lane.queued).toBe(2);
    release();
    await lane.idle();
    expect(log).toEqual(['run a', 'declined c', 'spill d', 'run b', 'run c']);
    expect(lane.saturated).toBe(false);
  });

  it('close() abandons what waits; idle() waits for what runs', async () => {
    const log: string[] = [];
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const lane = new Lane(1, 10);
    lane.submit(task(log, 'a', { hold }));
    lane.submit(task(log, 'b'));
    lane.close();
    lane.submit(task(log, 'c'));
    expect(log).toEqual(['run a', 'abandon b', 'abandon c']);
    let idle = false;
    const waiting = lane.idle().then(() => (idle = true));
    await sleep(10);
    expect(idle).toBe(false);
    release();
    await waiting;
    expect(log).toEqual(['run a', 'abandon b', 'abandon c']);
  });
});

describe('shared settlement (pure)', () => {
  it('finishes once, after every share, ok only when all were', () => {
    const results: boolean[] = [];
    const s = new SharedSettlement(3, (ok) => results.push(ok));
    s.settle(true);
    s.settle(false);
    expect(results).toEqual([]);
    s.settle(true);
    s.settle(true);
    expect(results).toEqual([false]);
    const all = new SharedSettlement(2, (ok) => results.push(ok));
    all.settle(true);
    all.settle(true);
    expect(results).toEqual([false, true]);
    new SharedSettlement(0, (ok) => results.push(ok));
    expect(results).toEqual([false, true, true]);
  });
});

describe('parked events (pure)', () => {
  it('round-trips the header and keeps the event bytes as stored', () => {
    const event = Buffer.from('{"specversion":"1.0","id":"1","source":"s","type":"t","data":"\\n"}');
    const parked = decodeParked(encodeParked({ trigger: 'ns/t', deliveries: 3, notBefore: 1234 }, event));
    expect(parked).toMatchObject({ trigger: 'ns/t', deliveries: 3, notBefore: 1234 });
    expect(Buffer.from(parked!.event).equals(event)).toBe(true);
  });

  it.each([
    ['no header line', '{"specversion":"1.0"}'],
    ['a header that is not JSON', 'nope\n{}'],
    ['a negative delivery count', '{"trigger":"a/b","deliveries":-1,"notBefore":0}\n{}'],
    ['no trigger', '{"deliveries":1,"notBefore":0}\n{}'],
  ])('rejects %s', (_, text) => {
    expect(decodeParked(Buffer.from(text))).toBeUndefined();
  });
});

describe('fan-out stage over JetStream', () => {
  let nats: NatsServerHandle;
  let dir: string;
  const dispatchers: Dispatcher[] = [];
  const subs: Subscriber[] = [];
  let nsCounter = 0;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats.stop();
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'event-mesh-fan-'));
  });
  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.close(200)));
    await Promise.all(subs.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const broker = (ns: string) => ({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: ns }, spec: {} });
  const trigger = (ns: string, name: string, url: string, type: string, annotations: Record<string, string> = {}) => ({
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name, namespace: ns, annotations },
    spec: { broker: 'default', filter: { attributes: { type } }, subscriber: { uri: url } },
  });
  async function sub(behavior = accept): Promise<Subscriber> {
    const s = await startSubscriber({ behavior });
    subs.push(s);
    return s;
  }
  async function start(objects: object[], fanOut?: boolean): Promise<Dispatcher> {
    writeFileSync(path.join(dir, 'routing.yaml'), objects.map((o) => stringify(o)).join('---\n'));
    const d = await startDispatcher(
      { port: 0, host: '127.0.0.1', routingDir: dir, ackWaitMs: 5000, shutdownGraceMs: 1000, routingPollMs: 200, routingDebounceMs: 20, ...(fanOut === undefined ? {} : { fanOut }) },
      { channel: new JetStreamChannel({ servers: nats.url }), ownsChannel: true },
    );
    dispatchers.push(d);
    return d;
  }
  async function stop(d: Dispatcher): Promise<void> {
    dispatchers.splice(dispatchers.indexOf(d), 1);
    await d.close(1000);
  }
  function post(d: Dispatcher, ns: string, type: string, id: string): Promise<Response> {
    return fetch(`${d.url}/${ns}/default`, { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': 'fan', 'ce-type': type } });
  }
  async function consumers(topic: string): Promise<string[]> {
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const names: string[] = [];
      for await (const c of jsm.consumers.list(streamNameFor(topic))) names.push(c.name);
      return names.sort();
    } catch {
      return [];
    } finally {
      await nc.close();
    }
  }
  async function metric(d: Dispatcher, prefix: string): Promise<number> {
    return (await d.registry.metrics())
      .split('\n')
      .filter((l) => l.startsWith(prefix))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  }

  it('reads each broker event once for all Triggers: one consumer on the broker, each Trigger gets only its matches', async () => {
    const ns = `fan${++nsCounter}`;
    const [a, b, c] = [await sub(), await sub(), await sub()];
    const d = await start([broker(ns), trigger(ns, 'a', a.url, 'type.a'), trigger(ns, 'b', b.url, 'type.b'), trigger(ns, 'b2', c.url, 'type.b')]);
    for (let i = 0; i < 30; i++) expect((await post(d, ns, i % 3 === 0 ? 'type.a' : 'type.b', `e${i}`)).status).toBe(202);
    await a.waitFor((s) => s.acceptedIds().size === 10, 10_000);
    await b.waitFor((s) => s.acceptedIds().size === 20, 10_000);
    await c.waitFor((s) => s.acceptedIds().size === 20, 10_000);
    await sleep(200);
    expect(a.requests).toHaveLength(10);
    expect(b.requests).toHaveLength(20);
    expect(a.requests.every((r) => r.headers['ce-type'] === 'type.a')).toBe(true);
    // The broker's stream has one reader, the fan-out stage; the Triggers' own consumers are
    // on the retry topic and read only what is parked for them.
    expect(await consumers(brokerTopic(ns, 'default'))).toEqual([brokerFanOutConsumer(ns, 'default').replace(/\./g, '_')]);
    expect(await consumers(brokerRetryTopic(ns, 'default'))).toEqual(['a', 'b', 'b2'].map((t) => triggerRetryConsumer(ns, t).replace(/\./g, '_')));
  }, 30_000);

  it('a slow Trigger does not hold the others back: its overflow is parked and still delivered, nothing lost', async () => {
    const ns = `fan${++nsCounter}`;
    const slow = await sub(() => ({ status: 200, delayMs: 40 }));
    const fast = await sub();
    const d = await start([
      broker(ns),
      trigger(ns, 'slow', slow.url, 'both', { 'event-mesh.dev/delivery.max-in-flight': '1' }),
      trigger(ns, 'fast', fast.url, 'both'),
    ]);
    const n = 150;
    for (let i = 0; i < n; i++) expect((await post(d, ns, 'both', `s${i}`)).status).toBe(202);
    await fast.waitFor((s) => s.acceptedIds().size === n, 10_000);
    // The fast one is done while the slow one (one at a time, 40 ms each) is far behind.
    expect(slow.acceptedIds().size).toBeLessThan(n);
    // 1 in flight + 64 waiting (the lane's limit) at most: the rest were parked.
    expect(await metric(d, 'event_mesh_dispatcher_parked_total{namespace="' + ns + '",name="slow",reason="saturated"}')).toBeGreaterThan(0);
    await slow.waitFor((s) => s.acceptedIds().size === n, 30_000);
    expect(fast.requests).toHaveLength(n);
  }, 60_000);

  it('a Trigger behind with no other Trigger on its broker to make room for waits instead of parking (no extra write per event under load)', async () => {
    const ns = `fan${++nsCounter}`;
    const slow = await sub(() => ({ status: 200, delayMs: 5 }));
    const d = await start([broker(ns), trigger(ns, 'only', slow.url, 'one', { 'event-mesh.dev/delivery.max-in-flight': '1' })]);
    const n = 150;
    // Stored faster than 1-at-a-time delivery takes them: far more than the lane's 64 wait.
    await Promise.all(Array.from({ length: n }, (_, i) => post(d, ns, 'one', `o${i}`).then((r) => expect(r.status).toBe(202))));
    await slow.waitFor((s) => s.acceptedIds().size === n, 30_000);
    expect(await metric(d, 'event_mesh_dispatcher_parked_total')).toBe(0);
    await sleep(200);
    expect(slow.requests).toHaveLength(n);
  }, 60_000);

  it('a retry parked for later survives a restart and is tried again then', async () => {
    const ns = `fan${++nsCounter}`;
    // First attempts fail, and the dead-letter sink is down too: the event is parked.
    const failing = await sub(() => ({ status: 500 }));
    const dls = await sub(() => ({ status: 503 }));
    const t = { ...trigger(ns, 'r', failing.url, 'retry.me'), spec: { broker: 'default', filter: { attributes: { type: 'retry.me' } }, subscriber: { uri: failing.url }, delivery: { retry: 1, backoffPolicy: 'linear', backoffDelay: 'PT0.02S', deadLetterSink: { uri: dls.url } } } };
    let d = await start([broker(ns), t]);
    expect((await post(d, ns, 'retry.me', 'parked-1')).status).toBe(202);
    await dls.waitFor((s) => s.requests.length >= 2, 10_000);
    await waitFor(async () => (await metric(d, `event_mesh_dispatcher_parked_total{namespace="${ns}",name="r",reason="retry"}`)) >= 1, 10_000, 'the event to be parked');
    await stop(d);
    const attemptsBefore = failing.requests.length;
    expect(attemptsBefore).toBeGreaterThanOrEqual(2);
    // A new process: the sink is back; the parked event is read from the retry topic, tried
    // again (its delivery limit not reached) and dead-lettered.
    dls.setBehavior(accept);
    d = await start([broker(ns), t]);
    await dls.waitFor((s) => s.accepted.length === 1, 20_000);
    expect(dls.accepted[0].event?.id).toBe('parked-1');
    expect(dls.accepted[0].headers['ce-knativeerrorcode']).toBe('500');
    expect(failing.requests.length).toBeGreaterThan(attemptsBefore);
    expect(failing.requests.every((r) => r.event?.id === 'parked-1')).toBe(true);
    await sleep(300);
    expect(dls.accepted).toHaveLength(1);
  }, 60_000);

  it('parked again and again: the delivery count travels with the parked event, and the delivery limit ends it (never retried forever)', async () => {
    const ns = `fan${++nsCounter}`;
    const failing = await sub(() => ({ status: 500 }));
    const dls = await sub(() => ({ status: 503 }));
    const t = { ...trigger(ns, 'r', failing.url, 'x'), spec: { broker: 'default', filter: { attributes: { type: 'x' } }, subscriber: { uri: failing.url }, delivery: { retry: 0, deadLetterSink: { uri: dls.url } } } };
    const d = await start([broker(ns), t]);
    expect((await post(d, ns, 'x', 'doomed')).status).toBe(202);
    // retry 0: the limit is the minimum of 10 deliveries, about a second apart.
    await waitFor(async () => (await metric(d, `event_mesh_dispatcher_dropped_total{kind="trigger",namespace="${ns}",name="r",reason="delivery_limit_reached"}`)) === 1, 40_000, 'the drop at the delivery limit');
    expect(failing.requests).toHaveLength(10);
    expect(await metric(d, `event_mesh_dispatcher_parked_total{namespace="${ns}",name="r",reason="retry"}`)).toBe(9);
    await sleep(1500);
    expect(failing.requests).toHaveLength(10);
  }, 60_000);

  it('upgrade from per-Trigger consumers: the fan-out stage takes over where each had settled, without loss or repeats, and removes them', async () => {
    const ns = `fan${++nsCounter}`;
    const [a, b, o] = [await sub(), await sub(), await sub()];
    // Plus an application channel feeding a second broker, whose stage reads it directly: its
    // sequences are the channel's, never compared with where the old broker consumers were.
    const app = `app-${ns}`;
    const direct = await sub();
    const objects = [
      broker(ns), trigger(ns, 'a', a.url, 'a'), trigger(ns, 'b', b.url, 'b'), trigger(ns, 'o', o.url, 'a', { 'event-mesh.dev/delivery.order': 'ordered' }),
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: `${ns}-direct` }, spec: {} },
      trigger(`${ns}-direct`, 'd', direct.url, 'a'),
      { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: app, namespace: 'kyma-integration' } },
      {
        apiVersion: 'messaging.knative.dev/v1', kind: 'Subscription', metadata: { name: `${app}-sub`, namespace: 'kyma-integration' },
        spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: app }, subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: `${ns}-direct` } } },
      },
    ];
    // An earlier version: a consumer per Trigger.
    let d = await start(objects, false);
    for (let i = 0; i < 20; i++) expect((await post(d, ns, i % 2 ? 'b' : 'a', `old${i}`)).status).toBe(202);
    for (let i = 0; i < 20; i++) expect((await post(d, `${ns}-direct`, 'a', `dold${i}`)).status).toBe(202);
    await direct.waitFor((s) => s.acceptedIds().size === 20, 10_000);
    await a.waitFor((s) => s.acceptedIds().size === 10, 10_000);
    await b.waitFor((s) => s.acceptedIds().size === 10, 10_000);
    await o.waitFor((s) => s.acceptedIds().size === 10, 10_000);
    await stop(d);
    expect(await consumers(brokerTopic(ns, 'default'))).toEqual(['a', 'b', 'o'].map((t) => triggerConsumer(ns, t).replace(/\./g, '_')));
    // Stored while no dispatcher ran: the old consumers never saw these.
    const channel = new JetStreamChannel({ servers: nats.url });
    await channel.connect();
    for (let i = 0; i < 10; i++) {
      const type = i % 2 ? 'b' : 'a';
      const event = { specversion: '1.0', id: `gap${i}`, source: 'fan', type };
      await channel.publish(brokerTopic(ns, 'default'), Buffer.from(JSON.stringify(event)), event);
    }
    await channel.close();
    // The new version.
    d = await start(objects);
    for (let i = 0; i < 10; i++) expect((await post(d, ns, i % 2 ? 'b' : 'a', `new${i}`)).status).toBe(202);
    await a.waitFor((s) => s.acceptedIds().size === 20, 10_000);
    await b.waitFor((s) => s.acceptedIds().size === 20, 10_000);
    await o.waitFor((s) => s.acceptedIds().size === 20, 10_000);
    const feeder = new JetStreamChannel({ servers: nats.url });
    await feeder.connect();
    for (let i = 0; i < 5; i++) {
      const event = { specversion: '1.0', id: `app${i}`, source: app, type: 'a' };
      await feeder.publish(channelTopic('kyma-integration', app), Buffer.from(JSON.stringify(event)), event);
    }
    await feeder.close();
    // Channel sequences 1–5, below where the old consumer of `d` had settled on its broker topic.
    await direct.waitFor((s) => s.acceptedIds().size === 25, 10_000);
    await sleep(500);
    expect(direct.requests).toHaveLength(25);
    for (const s of [a, b, o]) {
      expect(s.requests).toHaveLength(20); // nothing repeated
      expect(s.acceptedIds().size).toBe(20); // nothing lost
    }
    // The old per-Trigger consumers of fan-out Triggers are removed; the ordered Trigger keeps its own.
    await waitFor(async () => (await consumers(brokerTopic(ns, 'default'))).length === 2, 15_000, 'the old consumers to be removed');
    expect(await consumers(brokerTopic(ns, 'default'))).toEqual([brokerFanOutConsumer(ns, 'default'), triggerConsumer(ns, 'o')].map((c) => c.replace(/\./g, '_')).sort());
  }, 60_000);
});
