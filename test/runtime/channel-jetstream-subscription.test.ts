/**
 * JetStreamSubscription on its own (runtime/channel/jetstream/subscription.ts): a real durable
 * pull consumer on a real nats-server, with stand-in SubscriptionDeps that record what the
 * subscription asks its channel for (settle ops, flushes, consumer()/recreate() calls) and
 * pass the settles on to a real Outbox, so acks and naks reach the server.
 * The channel-level behaviour (config, recreate after delete, crash) is in channel-jetstream.
 */
import { AckPolicy, Consumer, jetstream, JetStreamClient, jetstreamManager, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChannelLogger, ChannelMessage, ConsumerOptions } from '../../runtime/channel/channel';
import { NatsConnection, OP_ACK, OP_NAK, OP_WORKING, Outbox } from '../../runtime/channel/jetstream/outbox';
import { JetStreamSubscription, SubscriptionDeps } from '../../runtime/channel/jetstream/subscription';
import { freePort, NatsServerHandle, startNatsServer } from '../support/nats-server';
import { startTcpProxy, TcpProxyHandle } from '../support/tcp-proxy';
import { sleep, waitFor } from '../support/wait';

// Two users: `mesh` may do anything; `noinbox` may not subscribe to `_INBOX.<id>.1` (what
// consume() listens on) but may use the request inbox `_INBOX.<id>.*`, so the server
// refuses only the consumer's subscription.
const AUTH = `authorization {
  users = [
    { user: "mesh", password: "pw" }
    { user: "noinbox", password: "pw", permissions: { subscribe: { deny: ["_INBOX.*.1"] } } }
  ]
}
`;

let dir: string;
let nats: NatsServerHandle;
let monitorPort: number;
let nc: NatsConnection;
let jsm: JetStreamManager;
let js: JetStreamClient;
const extra: NatsConnection[] = [];

const opts = { user: 'mesh', pass: 'pw' };

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'jssub-'));
  writeFileSync(path.join(dir, 'nats.conf'), AUTH);
  monitorPort = await freePort();
  nats = await startNatsServer({ args: ['-c', path.join(dir, 'nats.conf'), '-m', String(monitorPort)] });
  nc = await connect({ servers: nats.url, ...opts });
  jsm = await jetstreamManager(nc);
  js = jetstream(nc);
});
afterAll(async () => {
  for (const c of extra) if (!c.isClosed()) await c.close();
  await nc?.close();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Settle {
  seq: number;
  dc: number;
  op: number;
}
interface Log {
  level: 'info' | 'warn' | 'error' | 'debug';
  obj: Record<string, unknown>;
  msg?: string;
}

interface SetupOptions {
  ackWaitMs: number;
  maxInFlight?: number;
  ordered?: boolean;
  maxAckPending?: number;
  maxDeliver?: number;
  /** What recreate() does (default: add the consumer again). */
  recreate?: (h: Harness) => Promise<void>;
  /** What consumer() does before looking the consumer up. */
  beforeConsumer?: () => Promise<void>;
  /** The connection the subscription pulls and settles on (default: the shared one). */
  conn?: NatsConnection;
  handler: (m: ChannelMessage) => unknown;
}

interface Harness {
  sub: JetStreamSubscription;
  stream: string;
  subject: string;
  durable: string;
  settles: Settle[];
  logs: Log[];
  flushes: number;
  consumerCalls: number;
  recreates: number;
  stoppedCalls: JetStreamSubscription[];
  /** Settle ops asked for the first delivery of stream sequence `seq`. */
  ops(seq: number, dc?: number): number[];
  publish(text: string): Promise<number>;
  addStream(): Promise<void>;
  addConsumer(): Promise<void>;
  warnings(msg: string): Log[];
}

let n = 0;

/** A stream, a durable pull consumer on it and a subscription with recording deps (not started). */
async function setup(o: SetupOptions): Promise<Harness> {
  n++;
  const stream = `JSSUB${n}`;
  const subject = `jssub${n}.events`;
  const durable = 'd';
  const addStream = async () => {
    await jsm.streams.add({ name: stream, subjects: [subject] });
  };
  await addStream();
  const conn = o.conn ?? nc;
  const client = conn === nc ? js : jetstream(conn);
  const box = new Outbox(conn);
  const addConsumer = async () => {
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: o.ackWaitMs * 1e6,
      max_ack_pending: o.maxAckPending ?? 100,
      ...(o.maxDeliver ? { max_deliver: o.maxDeliver } : {}),
    });
  };
  await addConsumer();
  const logs: Log[] = [];
  const rec = (level: Log['level']) => (obj: object, msg?: string) => logs.push({ level, obj: obj as Record<string, unknown>, msg });
  const logger: ChannelLogger = { info: rec('info'), warn: rec('warn'), error: rec('error'), debug: rec('debug') };
  const h = {
    stream,
    subject,
    durable,
    settles: [] as Settle[],
    logs,
    flushes: 0,
    consumerCalls: 0,
    recreates: 0,
    stoppedCalls: [] as JetStreamSubscription[],
    ops: (seq: number, dc = 1) => h.settles.filter((s) => s.seq === seq && s.dc === dc).map((s) => s.op),
    publish: async (text: string) => (await js.publish(subject, Buffer.from(text))).seq,
    addStream,
    addConsumer,
    warnings: (msg: string) => logs.filter((l) => l.level === 'warn' && l.msg === msg),
  } as Harness;
  const deps: SubscriptionDeps = {
    consumer: async (): Promise<Consumer> => {
      h.consumerCalls++;
      await o.beforeConsumer?.();
      return client.consumers.get(stream, durable);
    },
    recreate: async () => {
      h.recreates++;
      await (o.recreate ? o.recreate(h) : addConsumer());
    },
    settle: (m: JsMsg, op: number) => {
      h.settles.push({ seq: m.info.streamSequence, dc: m.info.deliveryCount, op });
      box.settle(m, op);
    },
    flush: () => {
      h.flushes++;
      box.flush();
    },
    stopped: (s) => h.stoppedCalls.push(s),
  };
  const options: ConsumerOptions = { maxInFlight: o.maxInFlight ?? 10, ordered: o.ordered ?? false, ackWaitMs: o.ackWaitMs };
  h.sub = new JetStreamSubscription(deps, `topic${n}`, `consumer${n}`, o.handler as (m: ChannelMessage) => Promise<void>, options, logger);
  return h;
}

/** Resolves to true if `p` settles within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), t]);
  } finally {
    clearTimeout(timer);
  }
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Messages delivered to a handler, by stream sequence and delivery count. */
function collector() {
  const got: ChannelMessage[] = [];
  return {
    got,
    find: (seq: number, dc = 1) => got.find((m) => m.sequence === seq && m.deliveryCount === dc),
    has: (seq: number, dc = 1) => got.some((m) => m.sequence === seq && m.deliveryCount === dc),
  };
}

/** Subscriptions (subject per connection name) the server holds, from its monitoring port. */
async function consumeInboxes(name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${monitorPort}/connz?subs=1`);
  const body = (await res.json()) as { connections?: { name?: string; subscriptions_list?: string[] }[] };
  const conn = body.connections?.find((c) => c.name === name);
  // consume() listens on `_INBOX.<id>.1`; requests use `_INBOX.<id>.*`.
  return (conn?.subscriptions_list ?? []).filter((s) => /^_INBOX\.[^.]+\.\d+$/.test(s)).length;
}

/**
 * nats-server 2.9.10 can answer a consumer delete with "unlinkat …: directory not empty" while
 * an ack is being written (see channel-jetstream.test.ts): repeat until it completes.
 */
async function deleteConsumer(h: Harness): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await jsm.consumers.delete(h.stream, h.durable);
      return;
    } catch (e) {
      if (attempt >= 10 || !/directory not empty/.test(String(e))) throw e;
      await sleep(100);
    }
  }
}

async function consumerInfo(h: Harness) {
  return jsm.consumers.info(h.stream, h.durable);
}

test('ack, nak and working() settle once: whatever follows the first ack or nak is ignored', async () => {
  const c = collector();
  const h = await setup({ ackWaitMs: 5000, handler: (m) => void c.got.push(m) });
  await h.sub.start();
  const [s1, s2, s3, s4] = [await h.publish('a'), await h.publish('b'), await h.publish('c'), await h.publish('d')];
  await waitFor(() => [s1, s2, s3, s4].every((s) => c.has(s)), 5000, 'four deliveries');
  const [m1, m2, m3, m4] = [c.find(s1)!, c.find(s2)!, c.find(s3)!, c.find(s4)!];
  expect(Buffer.from(m1.data).toString()).toBe('a');
  await expect(m1.ack()).resolves.toBeUndefined();
  await m1.ack();
  m1.nak();
  m1.working();
  m2.nak();
  await m2.ack();
  m2.working();
  m3.working();
  m3.working();
  await m3.ack();
  m3.nak(100);
  m4.nak(300);
  await m4.ack();
  expect(h.ops(s1)).toEqual([OP_ACK]);
  expect(h.ops(s2)).toEqual([OP_NAK]);
  expect(h.ops(s3)).toEqual([OP_WORKING, OP_WORKING, OP_ACK]);
  expect(h.ops(s4)).toEqual([300]);
  // The naks reached the server: both come back, the acked ones do not.
  await waitFor(() => c.has(s2, 2) && c.has(s4, 2), 5000, 'redeliveries of the nacked messages');
  await sleep(300);
  expect(c.got.filter((m) => m.deliveryCount > 1).map((m) => m.sequence).sort()).toEqual([s2, s4].sort());
  // A normal run asks nothing of recreate() and logs nothing (the client's other statuses,
  // such as its pull requests, are not a missing consumer).
  expect(h.recreates).toBe(0);
  expect(h.logs).toEqual([]);
  await h.sub.stop();
});

test('nak delays are rounded to whole ms and at least 1 ms; none, 0 or negative mean at once', async () => {
  const c = collector();
  const h = await setup({ ackWaitMs: 5000, handler: (m) => void c.got.push(m) });
  await h.sub.start();
  const seqs: number[] = [];
  for (const t of ['none', 'zero', 'negative', 'tiny', 'fraction']) seqs.push(await h.publish(t));
  await waitFor(() => seqs.every((s) => c.has(s)), 5000, 'five deliveries');
  const [none, zero, negative, tiny, fraction] = seqs.map((s) => c.find(s)!);
  none.nak();
  zero.nak(0);
  negative.nak(-5);
  tiny.nak(0.2);
  fraction.nak(1.6);
  expect(seqs.map((s) => h.ops(s))).toEqual([[OP_NAK], [OP_NAK], [OP_NAK], [1], [2]]);
  await waitFor(() => seqs.every((s) => c.has(s, 2)), 5000, 'all five redelivered');
  await h.sub.stop();
});

test('a delivery left unsettled is forgotten after ackWait: stop() releases only what is still outstanding', async () => {
  const c = collector();
  // max_deliver 1: the server does not redeliver, so only the subscription's memory is seen.
  const h = await setup({ ackWaitMs: 1000, maxDeliver: 1, handler: (m) => void c.got.push(m) });
  await h.sub.start();
  const old = await h.publish('old');
  await waitFor(() => c.has(old), 5000, 'the first delivery');
  // The pruner runs every max(1000, ackWait) ms: two runs, the later one past ackWait.
  await sleep(3000);
  const fresh = await h.publish('fresh');
  await waitFor(() => c.has(fresh), 5000, 'the second delivery');
  await h.sub.stop();
  expect(h.ops(old)).toEqual([]);
  expect(h.ops(fresh)).toEqual([OP_NAK]);
});

test('working() keeps a long-running delivery outstanding past ackWait: stop() still releases it', async () => {
  const c = collector();
  let beat: NodeJS.Timeout | undefined;
  const h = await setup({
    ackWaitMs: 1000,
    maxDeliver: 1,
    handler: (m) => {
      c.got.push(m);
      beat = setInterval(() => m.working(), 200);
    },
  });
  await h.sub.start();
  const s = await h.publish('long');
  await waitFor(() => c.has(s), 5000, 'the delivery');
  await sleep(3000);
  clearInterval(beat);
  // working() reached the server: it never gave the message to anyone else meanwhile.
  expect((await consumerInfo(h)).num_redelivered).toBe(0);
  await h.sub.stop();
  const ops = h.ops(s);
  expect(ops.length).toBeGreaterThan(5);
  expect(ops.slice(0, -1).every((op) => op === OP_WORKING)).toBe(true);
  expect(ops[ops.length - 1]).toBe(OP_NAK);
});

test('pull requests ask for maxInFlight messages, 1 when ordered, clamped to 1…1000', async () => {
  const cases: { maxInFlight: number; ordered: boolean; batch: number }[] = [
    { maxInFlight: 3, ordered: false, batch: 3 },
    { maxInFlight: 5, ordered: true, batch: 1 },
    { maxInFlight: 5000, ordered: false, batch: 1000 },
    { maxInFlight: 0, ordered: false, batch: 1 },
  ];
  for (const k of cases) {
    const h = await setup({ ackWaitMs: 5000, maxInFlight: k.maxInFlight, ordered: k.ordered, handler: () => undefined });
    const batches: number[] = [];
    // A plain subscriber on the consumer's pull subject sees each pull request's JSON.
    const spy = nc.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${h.stream}.${h.durable}`, {
      callback: (_e: unknown, m: { json(): unknown }) => batches.push((m.json() as { batch: number }).batch),
    });
    await nc.flush();
    await h.sub.start();
    await waitFor(() => batches.length > 0, 5000, 'the first pull request');
    expect({ ...k, got: batches[0] }).toEqual({ ...k, got: k.batch });
    spy.unsubscribe();
    await h.sub.stop();
  }
});

test('a consumer deleted on the server: one warning with its status, recreate() once, the old pull closed, delivery resumes', async () => {
  const c = collector();
  const conn = await connect({ servers: nats.url, ...opts, name: 'jssub-recreate' });
  extra.push(conn);
  const h = await setup({ ackWaitMs: 2000, conn, handler: async (m) => { c.got.push(m); await m.ack(); } });
  await h.sub.start();
  const before = await h.publish('before');
  await waitFor(() => c.has(before), 5000, 'delivery before the delete');
  await deleteConsumer(h);
  await waitFor(() => h.recreates === 1, 10_000, 'recreate()');
  const after = await h.publish('after');
  await waitFor(() => c.has(after), 10_000, 'delivery after the recreate');
  expect(h.recreates).toBe(1);
  expect(h.warnings('JetStream consumer missing: recreating it')).toEqual([
    { level: 'warn', obj: { topic: `topic${n}`, consumer: `consumer${n}`, status: 'consumer_deleted' }, msg: 'JetStream consumer missing: recreating it' },
  ]);
  // The pull on the deleted consumer was closed: the connection listens on one consume inbox.
  await waitFor(async () => (await consumeInboxes('jssub-recreate')) === 1, 5000, 'one consume inbox');
  expect(h.logs.filter((l) => l.level === 'error')).toEqual([]);
  await h.sub.stop();
  await waitFor(async () => (await consumeInboxes('jssub-recreate')) === 0, 5000, 'no consume inbox after stop()');
});


/** Three pull requests waiting on the server, so deleting the consumer answers each with a 409. */
async function threePullsWaiting(h: Harness, c: ReturnType<typeof collector>): Promise<void> {
  for (let i = 0; i < 4; i++) await h.publish(`m${i}`);
  await waitFor(() => c.got.length === 4, 5000, 'four deliveries');
  await waitFor(async () => (await consumerInfo(h)).num_waiting >= 3, 5000, 'three waiting pull requests');
}

test('consumer-missing statuses in a burst while recreate() fails: one warning and one attempt per second', async () => {
  const c = collector();
  const h = await setup({
    ackWaitMs: 2000,
    handler: async (m) => { c.got.push(m); await m.ack(); },
    recreate: async () => { throw new Error('no way'); },
  });
  await h.sub.start();
  await threePullsWaiting(h, c);
  // One 409 "Consumer Deleted" per waiting pull request, all within a few ms.
  await deleteConsumer(h);
  await waitFor(() => h.warnings('recreating JetStream consumer failed; will retry').length > 0, 5000, 'the failed recreate');
  await sleep(500);
  expect(h.recreates).toBe(1);
  expect(h.warnings('JetStream consumer missing: recreating it')).toHaveLength(1);
  expect(h.warnings('recreating JetStream consumer failed; will retry')).toEqual([
    { level: 'warn', obj: { err: 'no way', topic: `topic${n}`, consumer: `consumer${n}` }, msg: 'recreating JetStream consumer failed; will retry' },
  ]);
  await h.sub.stop();
});

/**
 * A started subscription whose consumer was deleted: recreate() has been called once and
 * hangs until `failing` opens, then fails (slower than the 1 s throttle, so the next queued
 * consumer-missing status would be acted on).
 */
async function missingWhileRecreateHangs() {
  const c = collector();
  const failing = gate();
  const h = await setup({
    ackWaitMs: 2000,
    handler: async (m) => { c.got.push(m); await m.ack(); },
    recreate: async () => {
      await failing.promise;
      throw new Error('no way');
    },
  });
  await h.sub.start();
  await threePullsWaiting(h, c);
  await deleteConsumer(h);
  await waitFor(() => h.recreates === 1, 5000, 'recreate()');
  return { h, c, failing };
}

test('a consumer-missing status still queued when stop() is called is not acted on', async () => {
  const { h, failing } = await missingWhileRecreateHangs();
  await h.sub.stop();
  await sleep(1200);
  failing.open();
  await sleep(500);
  expect(h.recreates).toBe(1);
  expect(h.warnings('JetStream consumer missing: recreating it')).toHaveLength(1);
});

test('a consumer-missing status of a pull that pauseWhile() replaced is not acted on', async () => {
  const { h, c, failing } = await missingWhileRecreateHangs();
  // While recreate() hangs, a pause puts the consumer back and pulls again on a new pull.
  await h.sub.pauseWhile(0, () => h.addConsumer());
  await sleep(1200);
  failing.open();
  await sleep(500);
  expect(h.recreates).toBe(1);
  const s = await h.publish('after the pause');
  await waitFor(() => c.has(s), 5000, 'delivery on the new pull');
  await h.sub.stop();
});

describe('statuses after a reconnect', () => {
  let proxy: TcpProxyHandle;
  beforeAll(async () => {
    proxy = await startTcpProxy(nats.port);
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  async function missingWhileAway(remove: (h: Harness) => Promise<void>, status: string): Promise<void> {
    const c = collector();
    const conn = await connect({ servers: proxy.url, ...opts, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    extra.push(conn);
    const h = await setup({
      ackWaitMs: 2000,
      conn,
      handler: async (m) => { c.got.push(m); await m.ack(); },
      recreate: async (x) => {
        if (status === 'stream_not_found') await x.addStream();
        await x.addConsumer();
      },
    });
    await h.sub.start();
    const before = await h.publish('before');
    await waitFor(() => c.has(before), 5000, 'delivery before the cut');
    // Removed while this client is away: no 409 reaches it, the client finds out by looking.
    await proxy.cut();
    await remove(h);
    await proxy.restore();
    await waitFor(() => h.recreates === 1, 10_000, 'recreate() after the reconnect');
    expect(h.warnings('JetStream consumer missing: recreating it').map((l) => l.obj.status)).toEqual([status]);
    const after = await h.publish('after');
    await waitFor(() => c.has(after), 10_000, 'delivery after the recreate');
    await h.sub.stop();
    await conn.close();
  }

  test('a consumer removed while disconnected: consumer_not_found, recreated', async () => {
    await missingWhileAway((h) => deleteConsumer(h), 'consumer_not_found');
  });

  test('a stream removed while disconnected: stream_not_found, recreated', async () => {
    await missingWhileAway((h) => jsm.streams.delete(h.stream).then(() => undefined), 'stream_not_found');
  });
});

test('the server refusing the consumer\'s subscription is logged as "JetStream consumer stopped"', async () => {
  const conn = await connect({ servers: nats.url, user: 'noinbox', pass: 'pw' });
  extra.push(conn);
  const h = await setup({ ackWaitMs: 2000, conn, handler: () => undefined });
  await h.sub.start();
  await waitFor(() => h.logs.some((l) => l.level === 'error'), 5000, 'the error log');
  expect(h.logs.filter((l) => l.level === 'error')).toEqual([
    { level: 'error', obj: { err: expect.stringMatching(/permissions violation/i), topic: `topic${n}`, consumer: `consumer${n}` }, msg: 'JetStream consumer stopped' },
  ]);
  await h.sub.stop();
  await conn.close();
});

test('the connection closing ends the pull without an error; stop() logs nothing either', async () => {
  const conn = await connect({ servers: nats.url, ...opts });
  extra.push(conn);
  const h = await setup({ ackWaitMs: 2000, conn, handler: () => undefined });
  await h.sub.start();
  await conn.close();
  await sleep(300);
  await h.sub.stop();
  const h2 = await setup({ ackWaitMs: 2000, handler: () => undefined });
  await h2.sub.start();
  await h2.sub.stop();
  await sleep(300);
  expect(h.logs).toEqual([]);
  expect(h2.logs).toEqual([]);
});

test('stop(grace) waits for every running handler and returns once the last one finishes', async () => {
  const c = collector();
  const gates = new Map<number, ReturnType<typeof gate>>();
  const h = await setup({
    ackWaitMs: 10_000,
    handler: async (m) => {
      c.got.push(m);
      const g = gate();
      gates.set(m.sequence!, g);
      await g.promise;
      await m.ack();
    },
  });
  await h.sub.start();
  const [a, b] = [await h.publish('a'), await h.publish('b')];
  await waitFor(() => c.has(a) && c.has(b), 5000, 'two running handlers');
  let done = false;
  const stopping = h.sub.stop(20_000).then(() => (done = true));
  await sleep(300);
  expect(done).toBe(false);
  gates.get(a)!.open();
  await sleep(300);
  // One handler still runs: stop() goes on waiting.
  expect(done).toBe(false);
  gates.get(b)!.open();
  expect(await within(stopping, 5000)).toBe(true);
  // Both acked before stop() returned, and nothing released.
  expect([h.ops(a), h.ops(b)]).toEqual([[OP_ACK], [OP_ACK]]);
  expect(h.flushes).toBeGreaterThanOrEqual(1);
  expect(await within(stopping, 0)).toBe(true);
});

test('stop(grace) gives up after the grace and releases the delivery still being handled', async () => {
  const c = collector();
  const never = gate();
  const h = await setup({ ackWaitMs: 10_000, handler: async (m) => { c.got.push(m); await never.promise; } });
  await h.sub.start();
  const s = await h.publish('stuck');
  await waitFor(() => c.has(s), 5000, 'the running handler');
  expect(await within(h.sub.stop(600), 5000)).toBe(true);
  expect(h.ops(s)).toEqual([OP_NAK]);
  // An ack after the release is ignored.
  await c.find(s)!.ack();
  expect(h.ops(s)).toEqual([OP_NAK]);
});

test('handlers that return a non-promise or throw count as finished: stop(grace) does not wait; unsettled ones are released', async () => {
  const c = collector();
  const h = await setup({
    ackWaitMs: 10_000,
    handler: (m) => {
      c.got.push(m);
      const text = Buffer.from(m.data).toString();
      if (text === 'sync') void m.ack();
      if (text === 'throws') throw new Error('handler blew up');
      return 42;
    },
  });
  await h.sub.start();
  const [sync, throws, plain] = [await h.publish('sync'), await h.publish('throws'), await h.publish('plain')];
  await waitFor(() => c.has(sync) && c.has(throws) && c.has(plain), 5000, 'three deliveries');
  // Nothing is running: a long grace is not waited for.
  expect(await within(h.sub.stop(8000), 3000)).toBe(true);
  expect([h.ops(sync), h.ops(throws), h.ops(plain)]).toEqual([[OP_ACK], [OP_NAK], [OP_NAK]]);
});

test('stop() with no grace releases a running delivery at once, before the handler gets another turn', async () => {
  const c = collector();
  let release: () => void = () => undefined;
  const h = await setup({
    ackWaitMs: 10_000,
    handler: (m) => {
      c.got.push(m);
      return new Promise<void>((r) => (release = r));
    },
  });
  await h.sub.start();
  const s = await h.publish('running');
  await waitFor(() => c.has(s), 5000, 'the running handler');
  // Called from a timer: an immediate scheduled now runs before any new 0 ms timer.
  await sleep(20);
  const stopping = h.sub.stop(0);
  setImmediate(() => {
    void c.find(s)!.ack();
    release();
  });
  await stopping;
  await sleep(50);
  expect(h.ops(s)).toEqual([OP_NAK]);
});

test('stop() is idempotent: deps.stopped() once, the second call returns at once', async () => {
  const h = await setup({ ackWaitMs: 2000, handler: () => undefined });
  await h.sub.start();
  await h.sub.stop();
  const flushes = h.flushes;
  await h.sub.stop(5000);
  expect(h.stoppedCalls).toEqual([h.sub]);
  expect(h.flushes).toBe(flushes);
});

test('stop() while start() is still opening: the pull opened afterwards is closed at once', async () => {
  const c = collector();
  const slow = gate();
  const h = await setup({ ackWaitMs: 1000, maxInFlight: 1, handler: (m) => void c.got.push(m), beforeConsumer: () => slow.promise });
  const starting = h.sub.start();
  await waitFor(() => h.consumerCalls === 1, 5000, 'consumer()');
  await h.sub.stop();
  slow.open();
  await starting;
  await h.publish('after stop');
  await sleep(1500);
  expect(c.got).toEqual([]);
  // Nothing keeps pulling: the message was delivered at most once (to the first pull).
  const info = await consumerInfo(h);
  expect(info.delivered.consumer_seq).toBeLessThanOrEqual(1);
});

test('pauseWhile(): handlers finish and their acks leave before fn, nothing is delivered during fn, pulling resumes after', async () => {
  const c = collector();
  const first = gate();
  const h = await setup({
    ackWaitMs: 10_000,
    handler: async (m) => {
      c.got.push(m);
      if (Buffer.from(m.data).toString() === 'first') await first.promise;
      await m.ack();
    },
  });
  await h.sub.start();
  const s1 = await h.publish('first');
  await waitFor(() => c.has(s1), 5000, 'the running handler');
  let during: { ops: number[]; flushes: number } | undefined;
  let s2 = 0;
  const pausing = h.sub.pauseWhile(10_000, async () => {
    during = { ops: h.ops(s1), flushes: h.flushes };
    s2 = await h.publish('during');
    await sleep(500);
    expect(c.has(s2)).toBe(false);
    return 'done';
  });
  await sleep(200);
  first.open();
  await expect(pausing).resolves.toBe('done');
  expect(during).toEqual({ ops: [OP_ACK], flushes: 1 });
  await waitFor(() => c.has(s2), 5000, 'delivery after the pause');
  expect(h.consumerCalls).toBe(2);
  await h.sub.stop();
});

test('pauseWhile() whose fn stops the subscription does not pull again', async () => {
  const c = collector();
  const h = await setup({ ackWaitMs: 2000, handler: (m) => void c.got.push(m) });
  await h.sub.start();
  await h.sub.pauseWhile(0, () => h.sub.stop());
  expect(h.consumerCalls).toBe(1);
  await h.publish('after');
  await sleep(500);
  expect(c.got).toEqual([]);
});
