/**
 * The dispatcher's documented promises that break without another test noticing:
 * eventtypeversion is compared by value, an event neither the subscriber nor the
 * dead-letter sink took is kept (a restarted dispatcher still delivers it), a reply that
 * cannot be stored sends the original back for redelivery, stored bytes that are not a
 * CloudEvent are dropped once (no redelivery loop), drops are counted by reason, and broker
 * ingress answers 507 when the stream is full and 503 while NATS is down. Real HTTP
 * subscribers, real nats-server (and the in-memory channel where the channel does not matter).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudEvent, HTTP } from 'cloudevents';
import { stringify } from 'yaml';
import type { Channel, TopicOptions } from '../../runtime/channel/channel';
import { InMemoryChannel } from '../../runtime/channel/in-memory';
import { JetStreamChannel, streamNameFor } from '../../runtime/channel/jetstream';
import { startDispatcher } from '../../runtime/dispatcher';
import type { Dispatcher } from '../../runtime/dispatcher';
import { always, replyWith, startSubscriber } from '../support/http-subscriber';
import type { Subscriber } from '../support/http-subscriber';
import { startNatsServer } from '../support/nats-server';
import type { NatsServerHandle } from '../support/nats-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fast = { retry: 1, backoffPolicy: 'linear', backoffDelay: 'PT0.02S', timeout: 'PT2S' };
let nsCounter = 0;

const broker = (ns: string, delivery?: Record<string, unknown>) => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  metadata: { name: 'default', namespace: ns },
  spec: delivery ? { delivery } : {},
});
const trigger = (ns: string, name: string, url: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name, namespace: ns },
  spec: { broker: 'default', subscriber: { uri: url }, ...spec },
});

function post(d: Dispatcher, ns: string, ev: CloudEvent<unknown>) {
  const msg = HTTP.binary(ev);
  return fetch(`${d.url}/${ns}/default`, { method: 'POST', headers: msg.headers as Record<string, string>, body: msg.body as string });
}
async function metricValue(d: Dispatcher, prefix: string): Promise<number> {
  const line = (await d.registry.metrics()).split('\n').find((l) => l.startsWith(prefix + ' '));
  return line ? Number(line.slice(prefix.length + 1)) : 0;
}
async function waitForMetric(d: Dispatcher, prefix: string, value: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await metricValue(d, prefix)) !== value) {
    if (Date.now() > deadline) expect(`${prefix} ${await metricValue(d, prefix)}`).toBe(`${prefix} ${value}`);
    await sleep(20);
  }
}

/** Per test: a routing directory, subscribers and dispatchers, all stopped afterwards. */
function harness(channelFor: () => Channel, topicOptions?: TopicOptions) {
  const subs: Subscriber[] = [];
  const dispatchers: Dispatcher[] = [];
  let dir = '';
  const self = {
    ns: '',
    async sub(...args: Parameters<typeof startSubscriber>) {
      const s = await startSubscriber(...args);
      subs.push(s);
      return s;
    },
    /** A dispatcher on a new channel (or on `channel`, which it then owns). */
    async start(objects: object[], channel: Channel = channelFor()) {
      writeFileSync(path.join(dir, 'routing.yaml'), objects.map((o) => stringify(o)).join('---\n'));
      const d = await startDispatcher(
        { port: 0, host: '127.0.0.1', routingDir: dir, ackWaitMs: 2000, shutdownGraceMs: 1000, routingPollMs: 200, routingDebounceMs: 20, topicOptions },
        { channel, ownsChannel: true },
      );
      dispatchers.push(d);
      return d;
    },
    async stop(d: Dispatcher) {
      dispatchers.splice(dispatchers.indexOf(d), 1);
      await d.close(200);
    },
  };
  beforeEach(() => {
    self.ns = `g-${++nsCounter}`;
    dir = mkdtempSync(path.join(tmpdir(), 'guarantees-'));
  });
  afterEach(async () => {
    for (const d of dispatchers.splice(0)) await d.close(200);
    await Promise.all(subs.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  return self;
}

describe.each(['inmemory', 'nats'] as const)('filters and drops (%s channel)', (kind) => {
  let nats: NatsServerHandle | undefined;
  beforeAll(async () => {
    if (kind === 'nats') nats = await startNatsServer();
  });
  afterAll(() => nats?.stop());
  const h = harness(() => (kind === 'nats' ? new JetStreamChannel({ servers: nats!.url }) : new InMemoryChannel()));

  it('eventtypeversion is matched by value: a v2 event never reaches a v1 Trigger (both filter dialects)', async () => {
    const v1 = await h.sub();
    const v1exact = await h.sub();
    const v2 = await h.sub();
    const all = await h.sub();
    const d = await h.start([
      broker(h.ns),
      trigger(h.ns, 'v1', v1.url, { filter: { attributes: { type: 'order.created', eventtypeversion: 'v1' } } }),
      trigger(h.ns, 'v1-exact', v1exact.url, { filters: [{ exact: { type: 'order.created', eventtypeversion: 'v1' } }] }),
      trigger(h.ns, 'v2', v2.url, { filter: { attributes: { type: 'order.created', eventtypeversion: 'v2' } } }),
      trigger(h.ns, 'all', all.url),
    ]);
    // The v2 and unversioned events go first, so a wrong match would arrive before the last one.
    for (const [id, version] of [['e-v2', 'v2'], ['e-none', undefined], ['e-v10', 'v10'], ['e-V1', 'V1'], ['e-v1', 'v1']] as const) {
      expect((await post(d, h.ns, new CloudEvent({ id, type: 'order.created', source: '/shop', data: {}, ...(version ? { eventtypeversion: version } : {}) }))).status).toBe(202);
    }
    await all.waitFor((s) => s.accepted.length === 5);
    await v1.waitFor((s) => s.accepted.length >= 1);
    await v1exact.waitFor((s) => s.accepted.length >= 1);
    await v2.waitFor((s) => s.accepted.length >= 1);
    await sleep(500);
    expect(v1.requests.map((r) => r.event?.id)).toEqual(['e-v1']);
    expect(v1exact.requests.map((r) => r.event?.id)).toEqual(['e-v1']);
    expect(v2.requests.map((r) => r.event?.id)).toEqual(['e-v2']);
  });

  it('retries used up without a dead-letter sink: dropped, counted as retries_exhausted, not redelivered', async () => {
    const failing = await h.sub({ behavior: always(503, 'busy') });
    const d = await h.start([broker(h.ns), trigger(h.ns, 'exhausted', failing.url, { delivery: { ...fast, retry: 2 } })]);
    expect((await post(d, h.ns, new CloudEvent({ id: 'ex-1', type: 'x', source: '/s', data: {} }))).status).toBe(202);
    await waitForMetric(d, `event_mesh_dispatcher_dropped_total{kind="trigger",namespace="${h.ns}",name="exhausted",reason="retries_exhausted"}`, 1);
    expect(await metricValue(d, `event_mesh_dispatcher_dropped_total{kind="trigger",namespace="${h.ns}",name="exhausted",reason="not_retryable"}`)).toBe(0);
    expect(failing.requests.map((r) => r.attempt)).toEqual([1, 2, 3]);
    // Acked: nothing comes back after ackWait (2 s).
    await sleep(2600);
    expect(failing.requests).toHaveLength(3);
    expect(await metricValue(d, `event_mesh_dispatcher_dropped_total{kind="trigger",namespace="${h.ns}",name="exhausted",reason="retries_exhausted"}`)).toBe(1);
  });

  it('stored bytes that are not a CloudEvent are dropped once and counted, without a redelivery loop; the next event is delivered', async () => {
    const target = await h.sub();
    const channel = kind === 'nats' ? new JetStreamChannel({ servers: nats!.url }) : new InMemoryChannel();
    const d = await h.start([broker(h.ns), trigger(h.ns, 'reader', target.url)], channel);
    const topic = d.table().brokers.get(`${h.ns}/default`)!.topic;
    await channel.publish(topic, Buffer.from('this is not JSON'));
    await channel.publish(topic, Buffer.from(JSON.stringify({ specversion: '0.3', id: '1', source: 's', type: 't' })));
    const prefix = `event_mesh_dispatcher_dropped_total{kind="trigger",namespace="${h.ns}",name="reader",reason="invalid_stored_event"}`;
    await waitForMetric(d, prefix, 2);
    expect((await post(d, h.ns, new CloudEvent({ id: 'after-garbage', type: 'x', source: '/s', data: {} }))).status).toBe(202);
    await target.waitFor((s) => s.acceptedIds().has('after-garbage'));
    // Past ackWait (2 s): had they been released or left unacked, they would be counted again.
    await sleep(2600);
    expect(await metricValue(d, prefix)).toBe(2);
    expect(target.requests.map((r) => r.event?.id)).toEqual(['after-garbage']);
    if (kind === 'nats') {
      const nc = await connect({ servers: nats!.url });
      try {
        const jsm = await jetstreamManager(nc);
        const consumers = await jsm.consumers.list(streamNameFor(topic)).next();
        expect(consumers.map((c) => [c.num_ack_pending, c.num_redelivered, c.ack_floor.stream_seq])).toEqual([[0, 0, 3]]);
      } finally {
        await nc.close();
      }
    }
  });
});

/** A nats-server for the enclosing describe block, and a harness whose dispatchers use it. */
function natsSuite(): { readonly nats: NatsServerHandle; readonly h: ReturnType<typeof harness> } {
  let nats: NatsServerHandle | undefined;
  const h = harness(() => new JetStreamChannel({ servers: nats!.url }));
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(() => nats?.stop());
  return {
    get nats() {
      return nats!;
    },
    h,
  };
}

describe('kept until delivered (nats channel)', () => {
  const suite = natsSuite();
  const { h } = suite;

  it('a dead-letter sink that fails too: the event is not acked, and a restarted dispatcher still delivers it', async () => {
    const subscriber = await h.sub({ behavior: always(500, 'down') });
    const dls = await h.sub({ behavior: always(503, 'sink down too') });
    const objects = [broker(h.ns), trigger(h.ns, 'doomed', subscriber.url, { delivery: { ...fast, deadLetterSink: { uri: dls.url } } })];
    const first = await h.start(objects);
    expect((await post(first, h.ns, new CloudEvent({ id: 'keep-me', type: 'x', source: '/s', data: {} }))).status).toBe(202);
    // 1 + retry attempts at the subscriber, then 1 + retry at the sink.
    await dls.waitFor((s) => s.requests.length >= 2);
    expect(subscriber.requests.slice(0, 2).map((r) => r.status)).toEqual([500, 500]);
    expect(dls.requests[0].event?.knativeerrorcode).toBe('500');
    expect(await metricValue(first, `event_mesh_dispatcher_dead_lettered_total{kind="trigger",namespace="${h.ns}",name="doomed"}`)).toBe(0);
    await h.stop(first);

    subscriber.setBehavior(() => ({ status: 200 }));
    const before = subscriber.requests.length;
    const second = await h.start(objects);
    await subscriber.waitFor((s) => s.accepted.some((r) => r.event?.id === 'keep-me'), 20_000);
    expect(subscriber.requests.length).toBeGreaterThan(before);
    await waitForMetric(second, `event_mesh_dispatcher_delivered_total{kind="trigger",namespace="${h.ns}",name="doomed"}`, 1);
  });

  it('a reply that cannot be stored (its broker topic is full) sends the original back for redelivery; the reply is not lost', async () => {
    let bigReply = true;
    const replier = await h.sub({
      behavior: replyWith((e) => (e.type === 'ping' ? new CloudEvent({ id: `pong-${e.id}`, type: 'pong', source: '/replier', data: { pad: bigReply ? 'x'.repeat(40_000) : 'small' } }) : undefined)),
    });
    const pongs = await h.sub();
    // A 32 KiB broker topic: the 40 KB reply cannot be stored, the small one can.
    const d = await h.start(
      [broker(h.ns, fast), trigger(h.ns, 'replier', replier.url, { filter: { attributes: { type: 'ping' } } }), trigger(h.ns, 'pongs', pongs.url, { filter: { attributes: { type: 'pong' } } })],
      new JetStreamChannel({ servers: suite.nats.url, defaults: { maxBytes: 32 * 1024 } }),
    );
    expect((await post(d, h.ns, new CloudEvent({ id: 'ping-1', type: 'ping', source: '/s', data: {} }))).status).toBe(202);
    await replier.waitFor((s) => s.requests.length === 1);
    // Released, not acked: the same event comes again (after the 1 s release delay).
    await replier.waitFor((s) => s.requests.filter((r) => r.event?.id === 'ping-1').length >= 2, 15_000);
    bigReply = false;
    await pongs.waitFor((s) => s.acceptedIds().has('pong-ping-1'), 15_000);
    expect(replier.requests.every((r) => r.event?.id === 'ping-1')).toBe(true);
    expect(await metricValue(d, `event_mesh_dispatcher_delivered_total{kind="trigger",namespace="${h.ns}",name="replier"}`)).toBe(1);
  });

  it('broker ingress answers 507 channel_full once the broker topic is full, and stores nothing more', async () => {
    // 4 KiB: the first 2.5 KB event fits, the second does not. (Sizes are chosen so the
    // server's pre-check refuses the second outright: nats-server 2.9 stores a message that
    // passes its check and then trims the oldest ones to the limit.)
    const d = await h.start([broker(h.ns)], new JetStreamChannel({ servers: suite.nats.url, defaults: { maxBytes: 4096 } }));
    const fits = await post(d, h.ns, new CloudEvent({ id: 'fits', type: 'x', source: '/s', data: { pad: 'x'.repeat(2500) } }));
    expect(fits.status).toBe(202);
    const full = await post(d, h.ns, new CloudEvent({ id: 'too-much', type: 'x', source: '/s', data: { pad: 'x'.repeat(2500) } }));
    expect(full.status).toBe(507);
    const err = (await full.json()) as { error: string; message: string };
    expect(err.error).toBe('channel_full');
    expect(err.message).toMatch(/full/);
    const stream = streamNameFor(d.table().brokers.get(`${h.ns}/default`)!.topic);
    const nc = await connect({ servers: suite.nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(stream);
      expect(info.state.messages).toBe(1);
      const stored = await jsm.streams.getMessage(stream, { seq: info.state.last_seq });
      expect(JSON.parse(Buffer.from(stored!.data).toString()).id).toBe('fits');
    } finally {
      await nc.close();
    }
    expect(await metricValue(d, `event_mesh_broker_ingress_events_total{namespace="${h.ns}",broker="default",outcome="channel_full"}`)).toBe(1);
  });
});

describe('broker ingress while NATS is down', () => {
  const suite = natsSuite();
  const { h } = suite;

  it('503 channel_unavailable with Retry-After while NATS is down; 202 again once it is back', async () => {
    const target = await h.sub();
    const d = await h.start([broker(h.ns), trigger(h.ns, 't', target.url)]);
    expect((await post(d, h.ns, new CloudEvent({ id: 'before', type: 'x', source: '/s', data: {} }))).status).toBe(202);
    await suite.nats.halt();
    let res = await post(d, h.ns, new CloudEvent({ id: 'during', type: 'x', source: '/s', data: {} }));
    for (let i = 0; i < 100 && res.status === 202; i++) {
      await sleep(50);
      res = await post(d, h.ns, new CloudEvent({ id: `during-${i}`, type: 'x', source: '/s', data: {} }));
    }
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await res.json()) as { error: string }).error).toBe('channel_unavailable');
    expect((await post(d, h.ns, new CloudEvent({ id: 'during-again', type: 'x', source: '/s', data: {} }))).status).toBe(503);

    await suite.nats.start();
    let status = 0;
    for (let i = 0; i < 200 && status !== 202; i++) {
      status = (await post(d, h.ns, new CloudEvent({ id: 'after', type: 'x', source: '/s', data: {} }))).status;
      if (status !== 202) await sleep(50);
    }
    expect(status).toBe(202);
    await target.waitFor((s) => s.acceptedIds().has('after'), 20_000);
  });
});
