/**
 * ONE contract suite, run against every Channel implementation available: in-memory,
 * JetStream (a real nats-server started here) and Pub/Sub (Google's real emulator started
 * here, behind a TCP proxy for the outage case) always, Kafka when KAFKA_BROKERS is set.
 */
import { Channel, ChannelFullError, ChannelMessage, ChannelUnavailableError, ConsumerOptions, TopicOptions } from '../../runtime/channel/channel';
import { InMemoryChannel } from '../../runtime/channel/in-memory';
import { JetStreamChannel } from '../../runtime/channel/jetstream';
import { KafkaChannel, kafkaConfigFromEnv } from '../../runtime/channel/kafka';
import { PubSubChannel } from '../../runtime/channel/pubsub';
import { NatsServerHandle, startNatsServer } from '../support/nats-server';
import { PubSubEmulatorHandle, startPubSubEmulator } from '../support/pubsub-emulator';
import { startTcpProxy, TcpProxyHandle } from '../support/tcp-proxy';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = (s: string) => Buffer.from(s);
const dec = (m: ChannelMessage) => Buffer.from(m.data).toString();
let seq = 0;
const uniq = (p: string) => `${p}.t${Date.now().toString(36)}${(seq++).toString(36)}`;

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

interface Harness {
  /** A connected channel. */
  create(): Promise<Channel>;
  /** Whether the topic's backing resources exist (for maxInactivity). */
  topicExists?(ch: Channel, topic: string): Promise<boolean>;
  /** Stop and start the server (outage tests). */
  outage?: { down(): Promise<void>; up(): Promise<void> };
  supportsMaxAge: boolean;
  supportsMaxBytes: boolean;
  /** Extra time the implementation needs before a fresh consumer sees events. */
  settleMs: number;
}

const unordered = (over: Partial<ConsumerOptions> = {}): ConsumerOptions => ({ maxInFlight: 50, ordered: false, ackWaitMs: 2000, ...over });

/**
 * How contract() registers its cases: run them, or (`notRun` given) list each one by name
 * as a jest todo saying why it did not run, so reports count every case, not one placeholder.
 */
function registrar(channel: string, notRun?: string) {
  const run = notRun ? (title: string, _fn?: () => Promise<void>, _timeout?: number) => test.todo(`${title} [not run: ${notRun}]`) : test;
  const notApplicable = (title: string, fn?: () => Promise<void>, timeout?: number) => test.skip(`${title} [skipped: the ${channel} channel has no such feature]`, fn, timeout);
  const runIf = (cond: boolean) => (cond ? run : notApplicable);
  return { test: run as typeof test, testIf: runIf as (cond: boolean) => typeof test };
}

function contract(name: string, h: Harness, notRun?: string) {
  const { test, testIf } = registrar(name, notRun);
  describe(`Channel contract: ${name}`, () => {
    const open: Channel[] = [];
    const make = async () => {
      const ch = await h.create();
      open.push(ch);
      return ch;
    };
    afterAll(async () => {
      await Promise.allSettled(open.map((c) => c.close()));
    });

    test('publish → consume: every event delivered and acked once', async () => {
      const ch = await make();
      const topic = uniq('channel.ns.app');
      await ch.ensureTopic(topic, {});
      const sent = Array.from({ length: 200 }, (_, i) => `e${i}`);
      await Promise.all(sent.map((s) => ch.publish(topic, enc(s))));
      const got: string[] = [];
      const counts: number[] = [];
      const c = await ch.consume(topic, 'sub.ns.a', async (m) => {
        got.push(dec(m));
        counts.push(m.deliveryCount);
        await m.ack();
      }, unordered({ ackWaitMs: 500 }));
      await waitFor(() => got.length >= sent.length, 10_000, 'all events');
      await sleep(700); // past ackWait: acked events are not redelivered
      expect(got.sort()).toEqual([...sent].sort());
      expect(counts.every((n) => n === 1)).toBe(true);
      await c.stop();
    });

    test('at-least-once: an event neither acked nor nacked is redelivered after ackWait', async () => {
      const ch = await make();
      const topic = uniq('channel.ns.redeliver');
      await ch.ensureTopic(topic);
      await ch.publish(topic, enc('x'));
      const deliveries: Array<{ n: number; at: number }> = [];
      const t0 = Date.now();
      const c = await ch.consume(topic, 'c', async (m) => {
        deliveries.push({ n: m.deliveryCount, at: Date.now() - t0 });
        if (m.deliveryCount >= 2) await m.ack();
      }, unordered({ ackWaitMs: 400 }));
      await waitFor(() => deliveries.length >= 2, 5000, 'redelivery');
      expect(deliveries[0].n).toBe(1);
      expect(deliveries[1].n).toBe(2);
      expect(deliveries[1].at - deliveries[0].at).toBeGreaterThanOrEqual(350);
      await sleep(600);
      expect(deliveries.length).toBe(2);
      await c.stop();
    });

    test('nak(delay): redelivered after the delay, not before; nak() redelivers promptly', async () => {
      const ch = await make();
      const topic = uniq('channel.ns.nak');
      await ch.ensureTopic(topic);
      await ch.publish(topic, enc('d'));
      await ch.publish(topic, enc('p'));
      const seen: Record<string, number[]> = { d: [], p: [] };
      const t0 = Date.now();
      const c = await ch.consume(topic, 'c', async (m) => {
        const k = dec(m);
        seen[k].push(Date.now() - t0);
        if (m.deliveryCount === 1) m.nak(k === 'd' ? 700 : undefined);
        else await m.ack();
      }, unordered({ ackWaitMs: 5000 }));
      await waitFor(() => seen.d.length >= 2 && seen.p.length >= 2, 5000, 'redeliveries');
      expect(seen.d[1] - seen.d[0]).toBeGreaterThanOrEqual(600);
      expect(seen.p[1] - seen.p[0]).toBeLessThan(600);
      await c.stop();
    });

    test('ordered: one at a time in topic order; a nacked event comes again before the next', async () => {
      const ch = await make();
      const topic = uniq('broker.ns.ordered');
      await ch.ensureTopic(topic);
      for (let i = 0; i < 20; i++) await ch.publish(topic, enc(String(i)));
      const order: string[] = [];
      let inHandler = 0;
      let maxConcurrent = 0;
      const c = await ch.consume(topic, 'trigger.ns.ordered', async (m) => {
        inHandler++;
        maxConcurrent = Math.max(maxConcurrent, inHandler);
        order.push(dec(m));
        await sleep(2);
        inHandler--;
        if (dec(m) === '5' && m.deliveryCount === 1) m.nak(100);
        else await m.ack();
      }, { maxInFlight: 10, ordered: true, ackWaitMs: 3000 });
      await waitFor(() => order.length >= 21, 10_000, 'ordered events');
      const expected = Array.from({ length: 20 }, (_, i) => String(i));
      expected.splice(6, 0, '5');
      expect(order).toEqual(expected);
      expect(maxConcurrent).toBe(1);
      await c.stop();
    });

    test('maxInFlight bounds the handlers running at once', async () => {
      const ch = await make();
      const topic = uniq('broker.ns.inflight');
      await ch.ensureTopic(topic);
      await Promise.all(Array.from({ length: 40 }, (_, i) => ch.publish(topic, enc(String(i)))));
      let running = 0;
      let peak = 0;
      let done = 0;
      const c = await ch.consume(topic, 'c', async (m) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(30);
        running--;
        done++;
        await m.ack();
      }, unordered({ maxInFlight: 4 }));
      await waitFor(() => done >= 40, 10_000, 'all handled');
      expect(peak).toBeLessThanOrEqual(4);
      expect(peak).toBeGreaterThanOrEqual(2);
      await c.stop();
    });

    test('every consumer of a topic gets every event (fan-out)', async () => {
      const ch = await make();
      const topic = uniq('broker.ns.fanout');
      await ch.ensureTopic(topic);
      const a: string[] = [];
      const b: string[] = [];
      const ca = await ch.consume(topic, 'trigger.ns.a', async (m) => { a.push(dec(m)); await m.ack(); }, unordered());
      const cb = await ch.consume(topic, 'trigger.ns.b', async (m) => { b.push(dec(m)); await m.ack(); }, unordered());
      await sleep(h.settleMs);
      for (let i = 0; i < 10; i++) await ch.publish(topic, enc(String(i)));
      await waitFor(() => a.length >= 10 && b.length >= 10, 5000, 'both consumers');
      expect(a.sort()).toEqual(b.sort());
      await Promise.all([ca.stop(), cb.stop()]);
    });

    test('durable: a restarted consumer resumes where it left off; unacked events come again', async () => {
      const ch = await make();
      const topic = uniq('channel.ns.durable');
      await ch.ensureTopic(topic);
      for (let i = 0; i < 10; i++) await ch.publish(topic, enc(String(i)));
      const first: string[] = [];
      const c1 = await ch.consume(topic, 'sub.ns.durable', async (m) => {
        first.push(dec(m));
        if (Number(dec(m)) < 5) await m.ack();
        // 5..9 are left unacked when the consumer stops
      }, { maxInFlight: 10, ordered: false, ackWaitMs: 1000 });
      await waitFor(() => first.length >= 10, 5000, 'first round');
      await c1.stop(0);
      for (let i = 10; i < 15; i++) await ch.publish(topic, enc(String(i)));
      const second: string[] = [];
      const c2 = await ch.consume(topic, 'sub.ns.durable', async (m) => {
        second.push(dec(m));
        await m.ack();
      }, { maxInFlight: 10, ordered: false, ackWaitMs: 1000 });
      // At-least-once: stop() releases unsettled events at once, but JetStream may still
      // hand one to the stopped consumer's last pull request; it then comes after ackWait.
      const unique = () => [...new Set(second.map(Number))].sort((x, y) => x - y);
      await waitFor(() => unique().length >= 10, 5000, 'second round');
      await sleep(200);
      expect(unique()).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
      await c2.stop();
    });

    test('stop(grace) waits for in-flight handlers and keeps their acks', async () => {
      const ch = await make();
      const topic = uniq('channel.ns.grace');
      await ch.ensureTopic(topic);
      await ch.publish(topic, enc('slow'));
      let started = false;
      let finished = false;
      const c = await ch.consume(topic, 'c', async (m) => {
        started = true;
        await sleep(300);
        finished = true;
        await m.ack();
      }, unordered({ ackWaitMs: 5000 }));
      await waitFor(() => started, 5000, 'handler start');
      await c.stop(2000);
      expect(finished).toBe(true);
      const again: string[] = [];
      const c2 = await ch.consume(topic, 'c', async (m) => { again.push(dec(m)); await m.ack(); }, unordered());
      await sleep(300);
      expect(again).toEqual([]);
      await c2.stop();
    });

    test('working() pushes the redelivery deadline out', async () => {
      const ch = await make();
      const topic = uniq('channel.ns.working');
      await ch.ensureTopic(topic);
      await ch.publish(topic, enc('w'));
      let deliveries = 0;
      const c = await ch.consume(topic, 'c', async (m) => {
        deliveries++;
        for (let i = 0; i < 5; i++) {
          await sleep(200);
          m.working();
        }
        await m.ack();
      }, unordered({ ackWaitMs: 500 }));
      await sleep(1500);
      expect(deliveries).toBe(1);
      await c.stop();
    });

    testIf(h.supportsMaxAge)('maxAge: expired events are not delivered', async () => {
      const ch = await make();
      const topic = uniq('channel.ns.maxage');
      await ch.ensureTopic(topic, { maxAgeMs: 1000 });
      await ch.publish(topic, enc('old'));
      await sleep(2200);
      await ch.publish(topic, enc('new'));
      const got: string[] = [];
      const c = await ch.consume(topic, 'c', async (m) => { got.push(dec(m)); await m.ack(); }, unordered());
      await waitFor(() => got.length >= 1, 5000, 'new event');
      await sleep(200);
      expect(got).toEqual(['new']);
      await c.stop();
    });

    testIf(!!h.topicExists)('maxInactivity: a topic without traffic or consumers is removed, and comes back on publish', async () => {
      const topicExists = h.topicExists!;
      const ch = await make();
      const topic = uniq('channel.ns.inactive');
      const opts: TopicOptions = { maxInactivityMs: 1000 };
      await ch.ensureTopic(topic, opts);
      await ch.publish(topic, enc('x'));
      const c = await ch.consume(topic, 'sub.ns.gone', async (m) => { await m.ack(); }, unordered());
      await sleep(200);
      await c.stop();
      expect(await topicExists(ch, topic)).toBe(true);
      await waitFor(async () => !(await topicExists(ch, topic)), 8000, 'topic removal');
      // Traffic again: publish recreates the topic.
      await ch.publish(topic, enc('y'));
      expect(await topicExists(ch, topic)).toBe(true);
    });

    testIf(h.supportsMaxBytes)('maxBytes: publish rejects with ChannelFullError when the topic is full', async () => {
      const ch = await make();
      const topic = uniq('channel.ns.full');
      await ch.ensureTopic(topic, { maxBytes: 2048 });
      let err: unknown;
      // 1000-byte events: nats-server 2.9 compares the payload (not the stored size) with
      // max_bytes, so within one message's overhead of the limit it drops the oldest instead.
      for (let i = 0; i < 100 && !err; i++) {
        try {
          await ch.publish(topic, Buffer.alloc(1000, 'a'));
        } catch (e) {
          err = e;
        }
      }
      expect(err).toBeInstanceOf(ChannelFullError);
    });

    testIf(!!h.outage)('server outage: ChannelUnavailableError and isReady() false; recovery without a new channel; stored events survive', async () => {
      if (!h.outage) return;
      const ch = await make();
      const topic = uniq('channel.ns.outage');
      const kept = uniq('channel.ns.kept');
      await ch.ensureTopic(topic);
      await ch.ensureTopic(kept);
      await ch.publish(kept, enc('kept'));
      await ch.publish(topic, enc('before'));
      const got: string[] = [];
      const c = await ch.consume(topic, 'sub.ns.outage', async (m) => { got.push(dec(m)); await m.ack(); }, unordered({ ackWaitMs: 1000 }));
      await waitFor(() => got.length === 1, 5000, 'first event');
      await h.outage.down();
      await waitFor(() => !ch.isReady(), 5000, 'isReady false');
      const t0 = Date.now();
      const err = await ch.publish(topic, enc('during')).catch((e) => e);
      expect(err).toBeInstanceOf(ChannelUnavailableError);
      expect((err as ChannelUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
      expect(Date.now() - t0).toBeLessThan(1000); // fails fast
      await h.outage.up();
      await waitFor(() => ch.isReady(), 10_000, 'isReady true again');
      await waitFor(async () => ch.publish(topic, enc('after')).then(() => true, () => false), 10_000, 'publish after recovery');
      await waitFor(() => got.includes('after'), 15_000, 'consumer resumed');
      expect(got).not.toContain('during');
      await c.stop();
      const later: string[] = [];
      const c2 = await ch.consume(kept, 'sub.ns.kept', async (m) => { later.push(dec(m)); await m.ack(); }, unordered());
      await waitFor(() => later.length === 1, 5000, 'event stored before the outage');
      expect(later).toEqual(['kept']);
      await c2.stop();
    });
  });
}

contract('in-memory', {
  create: async () => {
    const ch = new InMemoryChannel({ sweepIntervalMs: 100 });
    await ch.connect();
    return ch;
  },
  topicExists: async (ch, topic) => (ch as InMemoryChannel).topicNames().includes(topic),
  supportsMaxAge: true,
  supportsMaxBytes: true,
  settleMs: 0,
});

describe('JetStream', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.stop();
  });
  contract('nats-jetstream', {
    create: async () => {
      const ch = new JetStreamChannel({ servers: nats.url, connectTimeoutMs: 5000 });
      await ch.connect();
      return ch;
    },
    topicExists: (ch, topic) => (ch as JetStreamChannel).topicExists(topic),
    outage: { down: () => nats.halt(), up: () => nats.start() },
    supportsMaxAge: true,
    supportsMaxBytes: true,
    settleMs: 100,
  });
});

describe('Pub/Sub', () => {
  let emulator: PubSubEmulatorHandle;
  let proxy: TcpProxyHandle;
  beforeAll(async () => {
    emulator = await startPubSubEmulator();
    proxy = await startTcpProxy(emulator.port);
  }, 90_000);
  afterAll(async () => {
    await proxy?.stop();
    await emulator?.stop();
  });
  // maxAge and maxInactivity are not run: Pub/Sub's minimums are 10 minutes and 1 day
  // (their mapping is tested in channel-pubsub.test.ts); maxBytes has no Pub/Sub equivalent.
  contract('pubsub', {
    create: async () => {
      const ch = new PubSubChannel({ emulatorHost: proxy.host, projectId: emulator.projectId, connectTimeoutMs: 10_000 });
      await ch.connect();
      return ch;
    },
    // The outage case is not run here: it passes, but the emulator redelivers what it had
    // handed to the cut stream only after 10-20 s, past the case's 15 s wait (flaky on
    // CI). channel-pubsub.test.ts checks unreachability, fast 503-class errors and recovery.
    supportsMaxAge: false,
    supportsMaxBytes: false,
    settleMs: 300,
  });
});

const kafkaHarness: Harness = {
  create: async () => {
    const ch = new KafkaChannel(kafkaConfigFromEnv(process.env));
    await ch.connect();
    return ch;
  },
  supportsMaxAge: false,
  supportsMaxBytes: false,
  settleMs: 3000,
};
if (process.env.KAFKA_BROKERS) {
  contract('kafka', kafkaHarness);
} else {
  // Every Kafka case is listed (as a todo naming why) and counted as not run by .ci/run.
  console.warn('Channel contract: kafka — NOT RUN: KAFKA_BROKERS not set (set KAFKA_BROKERS, KAFKA_USERNAME, KAFKA_PASSWORD, KAFKA_TLS to run it)');
  contract('kafka', kafkaHarness, 'KAFKA_BROKERS not set');
}
