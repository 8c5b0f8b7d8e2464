/**
 * InMemoryChannel beyond the shared contract: how pending deliveries are released, ordered
 * and forgotten, what sweep() drops and removes (driven with explicit `now` values, so no
 * test waits for an age or an inactivity limit), byte accounting, stop() and close().
 *
 * Channels here get a sweep interval of an hour: every sweep is a sweep() call of the test.
 * Several assertions come right after a call without awaiting anything in between: the
 * in-memory channel hands events to handlers synchronously, and those cases pin down that a
 * release or a redelivery happens in that call, not some ticks later.
 */
import { ChannelConsumer, ChannelFullError, ChannelMessage, ChannelUnavailableError, ConsumerOptions } from '../../runtime/channel/channel';
import { InMemoryChannel, InMemoryChannelOptions } from '../../runtime/channel/in-memory';
import { sleep, waitFor } from '../support/wait';

const enc = (s: string) => Buffer.from(s);
const dec = (m: ChannelMessage) => Buffer.from(m.data).toString();
/** `data#deliveryCount`, how the logs below record a delivery. */
const tag = (m: ChannelMessage) => `${dec(m)}#${m.deliveryCount}`;
const opts = (over: Partial<ConsumerOptions> = {}): ConsumerOptions => ({ maxInFlight: 10, ordered: false, ackWaitMs: 10_000, ...over });
const HOUR = 3_600_000;

let channels: InMemoryChannel[] = [];
let gates: Array<() => void> = [];

/** A connected channel that sweeps only when the test calls sweep(). */
async function channel(options: InMemoryChannelOptions = {}): Promise<InMemoryChannel> {
  const ch = new InMemoryChannel({ sweepIntervalMs: HOUR, ...options });
  await ch.connect();
  channels.push(ch);
  return ch;
}

/** A promise a handler can wait on until the test opens it (opened at the latest after the test). */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  gates.push(open);
  return { promise, open };
}

/** A consumer of `t` whose handler got event `x` and never returns (its gate opens after the test). */
async function stuckConsumer(ch: InMemoryChannel): Promise<ChannelConsumer> {
  const g = gate();
  let started = false;
  const c = await ch.consume('t', 'c', async () => {
    started = true;
    await g.promise;
  }, opts());
  await ch.publish('t', enc('x'));
  expect(started).toBe(true);
  return c;
}

/** A consumer of `t` as `c` that acks every delivery; returns its log of tags, filled as they come. */
async function ackingConsumer(ch: InMemoryChannel, options: ConsumerOptions): Promise<string[]> {
  const log: string[] = [];
  await ch.consume('t', 'c', async (m) => {
    log.push(tag(m));
    await m.ack();
  }, options);
  return log;
}

/**
 * Run `act` (which records Date.now() synchronously) until it ran within one millisecond,
 * and return that millisecond: the exact time the channel recorded, for boundary cases.
 */
async function atOneMs(act: () => unknown): Promise<number> {
  for (;;) {
    const t0 = Date.now();
    const done = act();
    const t1 = Date.now();
    await done;
    if (t0 === t1) return t0;
  }
}

afterEach(async () => {
  for (const open of gates) open();
  gates = [];
  await Promise.all(channels.map((c) => c.close()));
  channels = [];
});

describe('InMemoryChannel internals', () => {
  describe('connect and close', () => {
    test('calls before connect() reject with ChannelUnavailableError naming the cause, Retry-After 1 s', async () => {
      const ch = new InMemoryChannel();
      const err = await ch.publish('t', enc('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChannelUnavailableError);
      expect((err as ChannelUnavailableError).message).toBe('in-memory channel is not connected (call connect() first, or it was closed)');
      expect((err as ChannelUnavailableError).retryAfterSeconds).toBe(1);
      await expect(ch.ensureTopic('t')).rejects.toThrow(/not connected/);
      await expect(ch.consume('t', 'c', async () => {}, opts())).rejects.toThrow(/not connected/);
    });

    test('close() stops the sweeper, also after connect() was called twice', async () => {
      const ch = new InMemoryChannel({ sweepIntervalMs: 20 });
      await ch.connect();
      await ch.connect(); // must not start a second sweeper that close() would not know of
      await ch.ensureTopic('idle', { maxInactivityMs: 1 });
      await ch.close();
      await sleep(300); // many sweep intervals: a sweeper still running would remove the topic
      expect(ch.topicNames()).toEqual(['idle']);
    });

    test('close() ends deliveries: an unsettled event is not redelivered when its ackWait ends', async () => {
      const ch = await channel();
      let deliveries = 0;
      await ch.consume('t', 'c', async () => {
        deliveries++; // never settled
      }, opts({ ackWaitMs: 50 }));
      await ch.publish('t', enc('x'));
      expect(deliveries).toBe(1);
      await ch.close();
      await sleep(300);
      expect(deliveries).toBe(1);
    });

    test('stop() after close() returns at once, without waiting for a stuck handler', async () => {
      const ch = await channel();
      const c = await stuckConsumer(ch);
      await ch.close();
      const t0 = Date.now();
      await c.stop(5000);
      expect(Date.now() - t0).toBeLessThan(2000);
    });
  });

  describe('topics and bytes', () => {
    test('a topic created implicitly by publish takes the channel defaults', async () => {
      const ch = await channel({ defaults: { maxBytes: 8 } });
      await ch.publish('t', enc('12345'));
      await expect(ch.publish('t', enc('1234'))).rejects.toBeInstanceOf(ChannelFullError);
    });

    test('ensureTopic on an existing topic applies the new options', async () => {
      const ch = await channel();
      await ch.publish('t', enc('12345')); // implicit topic: 256 MiB
      await ch.ensureTopic('t', { maxBytes: 8 });
      await expect(ch.publish('t', enc('1234'))).rejects.toBeInstanceOf(ChannelFullError);
      await ch.ensureTopic('t', { maxBytes: 100 });
      await ch.publish('t', enc('1234'));
      expect(ch.storedCount('t')).toBe(2);
    });

    test('maxBytes counts stored events only: dropped ones free their bytes; the error says how full the topic is', async () => {
      const ch = await channel();
      await ch.ensureTopic('t', { maxBytes: 10 });
      await ch.consume('t', 'c', async (m) => {
        await m.ack();
      }, opts());
      await ch.publish('t', enc('aaaa'));
      await ch.publish('t', enc('bbbb'));
      ch.sweep(); // both acked by every consumer: dropped
      expect(ch.storedCount('t')).toBe(0);
      await ch.publish('t', enc('cccccccccc')); // the whole 10 bytes are free again
      const err = await ch.publish('t', enc('d')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChannelFullError);
      expect((err as Error).message).toBe('topic t is full (10 of 10 bytes stored): consumers must catch up or maxBytes be raised');
    });

    test('a sweep keeps every event a delivery has not acked, also below acked ones; storedCount counts what is kept', async () => {
      const ch = await channel();
      for (const s of ['e1', 'e2', 'e3']) await ch.publish('t', enc(s));
      const held = new Map<string, ChannelMessage>();
      const log: string[] = [];
      await ch.consume('t', 'c', async (m) => {
        log.push(tag(m));
        held.set(dec(m), m);
      }, opts({ maxInFlight: 3 }));
      expect(log).toEqual(['e1#1', 'e2#1', 'e3#1']);
      ch.sweep();
      expect(ch.storedCount('t')).toBe(3);
      await held.get('e1')!.ack();
      ch.sweep();
      expect(ch.storedCount('t')).toBe(2);
      await held.get('e3')!.ack();
      ch.sweep();
      expect(ch.storedCount('t')).toBe(2); // e2 is still unacked: e2 and e3 stay
      held.get('e2')!.nak();
      expect(log).toEqual(['e1#1', 'e2#1', 'e3#1', 'e2#2']);
      await held.get('e2')!.ack();
      ch.sweep();
      expect(ch.storedCount('t')).toBe(0);
    });

    test('after more than 1024 events are dropped at once, stored and new events are still delivered and counted', async () => {
      const ch = await channel();
      const got: string[] = [];
      const c1 = await ch.consume('t', 'c', async (m) => {
        got.push(dec(m));
        await m.ack();
      }, opts({ maxInFlight: 2000 }));
      for (let i = 0; i < 1100; i++) await ch.publish('t', enc(`a${i}`));
      expect(got.length).toBe(1100);
      ch.sweep();
      expect(ch.storedCount('t')).toBe(0);
      await ch.publish('t', enc('next'));
      expect(got[got.length - 1]).toBe('next');
      await c1.stop();

      // 1100 of 1500 events (and `next`) acked, the last 400 not: the sweep drops 1101.
      for (let i = 0; i < 1500; i++) await ch.publish('t', enc(`b${i}`));
      const c2 = await ch.consume('t', 'c', async (m) => {
        if (Number(dec(m).slice(1)) < 1100) await m.ack();
      }, opts({ maxInFlight: 2000 }));
      ch.sweep();
      expect(ch.storedCount('t')).toBe(400);
      await c2.stop(0);
      const again = await ackingConsumer(ch, opts({ maxInFlight: 2000 }));
      expect(again).toEqual(Array.from({ length: 400 }, (_, i) => `b${1100 + i}#2`));
    });
  });

  describe('maxAge', () => {
    test('maxAgeMs 0 and maxInactivityMs 0 mean no limit', async () => {
      const ch = await channel();
      await ch.ensureTopic('a', { maxAgeMs: 0, maxInactivityMs: 0 });
      await ch.publish('a', enc('x'));
      await ch.ensureTopic('b', { maxInactivityMs: 0 });
      const c = await ch.consume('b', 'c', async (m) => {
        await m.ack();
      }, opts());
      await c.stop();
      ch.sweep(Date.now() + 1e9);
      expect(ch.storedCount('a')).toBe(1);
      expect(ch.topicNames().sort()).toEqual(['a', 'b']);
      expect(ch.consumerNames('b')).toEqual(['c']);
    });

    test('an event expires when exactly maxAgeMs old, not a millisecond before; expired events are not delivered', async () => {
      const ch = await channel();
      await ch.ensureTopic('t', { maxAgeMs: 5000 });
      const at = await atOneMs(() => ch.publish('t', enc('old'))); // earlier tries are older still
      ch.sweep(at);
      const stored = ch.storedCount('t');
      expect(stored).toBeGreaterThanOrEqual(1);
      ch.sweep(at + 4999);
      expect(ch.storedCount('t')).toBeGreaterThanOrEqual(1); // the last one at least
      ch.sweep(at + 5000);
      expect(ch.storedCount('t')).toBe(0);
      const got: string[] = [];
      await ch.consume('t', 'c', async (m) => {
        got.push(dec(m));
        await m.ack();
      }, opts());
      await ch.publish('t', enc('new'));
      expect(got).toEqual(['new']);
    });

    test('an event that expires while in its handler no longer takes an in-flight slot', async () => {
      const ch = await channel();
      await ch.ensureTopic('t', { maxAgeMs: 60_000 });
      const g = gate();
      const got: string[] = [];
      await ch.consume('t', 'c', async (m) => {
        got.push(dec(m));
        if (dec(m) === 'old') await g.promise;
        await m.ack();
      }, opts({ maxInFlight: 1 }));
      await ch.publish('t', enc('old'));
      expect(got).toEqual(['old']);
      ch.sweep(Date.now() + 120_000);
      expect(ch.storedCount('t')).toBe(0);
      await ch.publish('t', enc('new'));
      // Not after the ackWait (10 s) of the expired one: its slot was freed by the sweep.
      await waitFor(() => got.includes('new'), 2000, 'the new event while the expired one is still handled');
      g.open();
      await sleep(20);
      expect(got).toEqual(['old', 'new']);
    });

    test('an expired event is never handed out, even to a subscription whose durable was deleted meanwhile', async () => {
      const ch = await channel();
      await ch.ensureTopic('t', { maxAgeMs: 60_000 });
      const got: string[] = [];
      const held: ChannelMessage[] = [];
      await ch.consume('t', 'c', async (m) => {
        got.push(dec(m));
        held.push(m);
      }, opts({ maxInFlight: 1 }));
      await ch.publish('t', enc('first'));
      await ch.deleteConsumer('t', 'c'); // its position no longer holds events on the topic
      await ch.publish('t', enc('expired'));
      await sleep(100);
      await ch.publish('t', enc('fresh'));
      ch.sweep(Date.now() + 60_000 - 50); // `first` and `expired` are 100 ms old: they expire; `fresh` does not
      expect(ch.storedCount('t')).toBe(1);
      await held[0].ack(); // the old subscription reads on from its own position
      expect(got).not.toContain('expired');
    });
  });

  describe('maxInactivity', () => {
    test('a consumer with a subscription attached is never removed, nor its topic, however long idle', async () => {
      const ch = await channel();
      await ch.ensureTopic('t', { maxInactivityMs: 1000 });
      const got: string[] = [];
      await ch.consume('t', 'c', async (m) => {
        got.push(dec(m));
        await m.ack();
      }, opts());
      ch.sweep(Date.now() + 1e6);
      expect(ch.consumerNames('t')).toEqual(['c']);
      expect(ch.topicNames()).toEqual(['t']);
      await ch.publish('t', enc('still here'));
      expect(got).toEqual(['still here']);
    });

    test('a stopped consumer and its topic stay until maxInactivityMs has passed, then both go', async () => {
      const ch = await channel();
      await ch.ensureTopic('t', { maxInactivityMs: 60_000 });
      await ch.ensureTopic('u', { maxInactivityMs: 60_000 });
      const c = await ch.consume('t', 'c', async (m) => {
        await m.ack();
      }, opts());
      await c.stop();
      ch.sweep();
      expect(ch.consumerNames('t')).toEqual(['c']);
      expect(ch.topicNames().sort()).toEqual(['t', 'u']);
      ch.sweep(Date.now() + 60_001);
      expect(ch.consumerNames('t')).toEqual([]);
      expect(ch.topicNames()).toEqual([]);
    });

    test('a topic stays while it has a consumer, even an unattached one, though the topic itself is idle', async () => {
      const ch = await channel();
      await ch.ensureTopic('t', { maxInactivityMs: 60_000 });
      const c = await ch.consume('t', 'c', async (m) => {
        await m.ack();
      }, opts());
      const a = Date.now(); // the topic's last activity is at or before a
      await sleep(150);
      const b = Date.now(); // the consumer's (its stop) at or after b
      await c.stop();
      ch.sweep(b + 60_000 - 20); // topic idle ≥ 60 130 ms, consumer < 60 000 ms
      expect(b - a).toBeGreaterThanOrEqual(100);
      expect(ch.consumerNames('t')).toEqual(['c']);
      expect(ch.topicNames()).toEqual(['t']);
    });

    test('a consumer goes when exactly maxInactivityMs idle, not a millisecond before', async () => {
      const ch = await channel();
      await ch.ensureTopic('t', { maxInactivityMs: 5000 });
      const last = await stopAtOneMs(ch); // stop() records the consumer's last activity
      ch.sweep(last + 4999);
      expect(ch.consumerNames('t')).toEqual(['c']);
      ch.sweep(last + 5000);
      expect(ch.consumerNames('t')).toEqual([]);
    });

    test('a topic without consumers goes when exactly maxInactivityMs idle, not a millisecond before', async () => {
      const ch = await channel();
      const at = await atOneMs(() => ch.ensureTopic('t', { maxInactivityMs: 5000 })); // ensureTopic counts as activity
      ch.sweep(at + 4999);
      expect(ch.topicNames()).toEqual(['t']);
      ch.sweep(at + 5000);
      expect(ch.topicNames()).toEqual([]);
    });
  });

  describe('delivery', () => {
    test('subscriptions of one durable take turns (round robin)', async () => {
      const ch = await channel();
      const a: string[] = [];
      const b: string[] = [];
      await ch.consume('t', 'c', async (m) => {
        a.push(dec(m));
        await m.ack();
      }, opts());
      await ch.consume('t', 'c', async (m) => {
        b.push(dec(m));
        await m.ack();
      }, opts());
      for (let i = 0; i < 6; i++) await ch.publish('t', enc(String(i)));
      expect(a).toEqual(['0', '2', '4']);
      expect(b).toEqual(['1', '3', '5']);
    });

    test('a handler that acks synchronously: the next delivery starts after it returns, not inside it', async () => {
      const ch = await channel();
      for (const s of ['a', 'b', 'c']) await ch.publish('t', enc(s));
      const log: string[] = [];
      await ch.consume('t', 'c', async (m) => {
        log.push(`start ${dec(m)}`);
        void m.ack();
        log.push(`end ${dec(m)}`);
      }, opts({ ordered: true }));
      expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    });

    test.each<[string, number | undefined]>([
      ['nak()', undefined],
      ['nak(0)', 0],
    ])('%s puts the event back ahead of events not yet delivered', async (_name, delay) => {
      const ch = await channel();
      for (const s of ['e1', 'e2', 'e3']) await ch.publish('t', enc(s));
      const log: string[] = [];
      const held: ChannelMessage[] = [];
      await ch.consume('t', 'c', async (m) => {
        log.push(tag(m));
        held.push(m);
      }, opts({ maxInFlight: 2 }));
      expect(log).toEqual(['e1#1', 'e2#1']);
      held[0].nak(delay);
      await held[1].ack(); // frees a slot: e3 may come, but after e1 again
      await waitFor(() => log.length >= 4, 2000, 'four deliveries');
      expect(log).toEqual(['e1#1', 'e2#1', 'e1#2', 'e3#1']);
    });

    test('nak(delay) redelivers after the delay, long before ackWait', async () => {
      const ch = await channel();
      const at: number[] = [];
      await ch.consume('t', 'c', async (m) => {
        at.push(Date.now());
        if (m.deliveryCount === 1) m.nak(150);
        else await m.ack();
      }, opts({ ackWaitMs: 10_000 }));
      await ch.publish('t', enc('x'));
      await waitFor(() => at.length >= 2, 3000, 'the redelivery');
      expect(at[1] - at[0]).toBeGreaterThanOrEqual(100);
    });

    test('the first of ack() and nak() wins: an ack() after nak(delay) does not cancel the redelivery, a nak() after ack() does not bring the event back', async () => {
      const ch = await channel();
      const log: string[] = [];
      await ch.consume('t', 'c', async (m) => {
        log.push(tag(m));
        if (dec(m) === 'nak-first' && m.deliveryCount === 1) {
          m.nak(100);
          await m.ack();
        } else if (dec(m) === 'ack-first') {
          await m.ack();
          m.nak();
        } else {
          await m.ack();
        }
      }, opts());
      await ch.publish('t', enc('nak-first'));
      await ch.publish('t', enc('ack-first'));
      await waitFor(() => log.includes('nak-first#2'), 3000, 'the nacked event again');
      await sleep(100);
      expect(log.sort()).toEqual(['ack-first#1', 'nak-first#1', 'nak-first#2']);
    });

    test('consume() of an existing durable takes the new options', async () => {
      const ch = await channel();
      const c1 = await ch.consume('t', 'c', async (m) => {
        await m.ack();
      }, opts({ maxInFlight: 1 }));
      await c1.stop();
      for (let i = 0; i < 4; i++) await ch.publish('t', enc(String(i)));
      const g = gate();
      let running = 0;
      await ch.consume('t', 'c', async (m) => {
        running++;
        await g.promise;
        await m.ack();
      }, opts({ maxInFlight: 4 }));
      await waitFor(() => running === 4, 2000, 'four handlers at once');
    });

    test('a delivery released by stop() is stale: its late nak() does not redeliver the event again', async () => {
      const ch = await channel();
      const g = gate();
      const stale: ChannelMessage[] = [];
      const s1 = await ch.consume('t', 'c', async (m) => {
        stale.push(m);
        await g.promise; // still running when its subscription stops
      }, opts({ maxInFlight: 1 }));
      await ch.publish('t', enc('x'));
      await s1.stop(0);
      const second: string[] = [];
      await ch.consume('t', 'c', async (m) => {
        second.push(tag(m)); // held unsettled
      }, opts({ maxInFlight: 1 }));
      expect(second).toEqual(['x#2']);
      stale[0].nak();
      await sleep(200);
      expect(second).toEqual(['x#2']);
    });

    test("a stale delivery's working() does not push out the current delivery's ackWait", async () => {
      const ch = await channel();
      const stale: ChannelMessage[] = [];
      const s1 = await ch.consume('t', 'c', async (m) => {
        stale.push(m); // returns unsettled
      }, opts({ maxInFlight: 1, ackWaitMs: 300 }));
      await ch.publish('t', enc('x'));
      await s1.stop(0); // released: the next delivery is the current one
      let deliveries = 0;
      await ch.consume('t', 'c', async () => {
        deliveries++; // never settled: redelivered after every ackWait
      }, opts({ maxInFlight: 1, ackWaitMs: 300 }));
      for (const until = Date.now() + 1200; Date.now() < until; ) {
        stale[0].working();
        await sleep(25);
      }
      expect(deliveries).toBeGreaterThanOrEqual(3);
    });

    test('events released by stop() come again in topic order', async () => {
      const ch = await channel();
      for (const s of ['e1', 'e2', 'e3']) await ch.publish('t', enc(s));
      let n = 0;
      const s1 = await ch.consume('t', 'c', async () => {
        n++; // unsettled
      }, opts({ maxInFlight: 3 }));
      expect(n).toBe(3);
      await s1.stop(0);
      const again = await ackingConsumer(ch, opts({ maxInFlight: 3 }));
      expect(again).toEqual(['e1#2', 'e2#2', 'e3#2']);
    });

    test('an event whose nak delay ends after stop() comes again in topic order with the released ones', async () => {
      const ch = await channel();
      await ch.publish('t', enc('e1'));
      await ch.publish('t', enc('e2'));
      const s1 = await ch.consume('t', 'c', async (m) => {
        if (dec(m) === 'e1') m.nak(150); // e2 stays unsettled
      }, opts({ maxInFlight: 2 }));
      await s1.stop(0); // e2 is due now, e1 only when its delay ends
      await sleep(400);
      const again = await ackingConsumer(ch, opts({ maxInFlight: 2 }));
      expect(again).toEqual(['e1#2', 'e2#2']);
    });

    test('an event released by stop() survives a sweep and comes to the next subscription', async () => {
      const ch = await channel();
      await ch.publish('t', enc('x'));
      const s1 = await ch.consume('t', 'c', async () => {}, opts({ maxInFlight: 1 }));
      await s1.stop(0);
      ch.sweep();
      expect(ch.storedCount('t')).toBe(1);
      const again = await ackingConsumer(ch, opts({ maxInFlight: 1 }));
      await waitFor(() => again.length >= 1, 2000, 'the released event');
      expect(again).toEqual(['x#2']);
    });
  });

  describe('stop', () => {
    test("stop(0) hands the stopped subscription's in-flight events to the others at once, and only those", async () => {
      const ch = await channel();
      const g = gate();
      const a: string[] = [];
      const b: string[] = [];
      const s1 = await ch.consume('t', 'c', async (m) => {
        a.push(tag(m));
        await g.promise;
      }, opts());
      await ch.consume('t', 'c', async (m) => {
        b.push(tag(m));
        await g.promise;
      }, opts());
      await ch.publish('t', enc('e1')); // to s1
      await ch.publish('t', enc('e2')); // to s2
      expect([a, b]).toEqual([['e1#1'], ['e2#1']]);
      const stopping = s1.stop(0);
      expect(b).toEqual(['e2#1', 'e1#2']); // released within the stop() call
      await stopping;
      await sleep(50);
      expect(b).toEqual(['e2#1', 'e1#2']); // s2's own delivery of e2 is left alone
    });

    test('stop(grace) releases at once the deliveries whose handlers already returned unsettled', async () => {
      const ch = await channel();
      const b: string[] = [];
      const s1 = await ch.consume('t', 'c', async () => {}, opts()); // returns without settling
      await ch.consume('t', 'c', async (m) => {
        b.push(tag(m));
      }, opts());
      await ch.publish('t', enc('e1')); // to s1
      await sleep(20); // s1's handler has finished
      const t0 = Date.now();
      const stopping = s1.stop(5000);
      expect(b).toEqual(['e1#2']); // nothing to wait for: released within the stop() call
      await stopping;
      expect(Date.now() - t0).toBeLessThan(2000);
    });

    test('stop(grace) waits no longer than grace for a stuck handler, then releases its event', async () => {
      const ch = await channel();
      const s1 = await stuckConsumer(ch);
      const t0 = Date.now();
      let sentinel: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        s1.stop(150).then(() => 'stopped'),
        new Promise((resolve) => (sentinel = setTimeout(() => resolve('still waiting'), 3000))),
      ]);
      clearTimeout(sentinel);
      expect(outcome).toBe('stopped');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
      const again = await ackingConsumer(ch, opts());
      expect(again).toEqual(['x#2']);
    });

    test('a second stop() does not cut short the grace the first one gives', async () => {
      const ch = await channel();
      const g = gate();
      const b: string[] = [];
      const s1 = await ch.consume('t', 'c', async (m) => {
        await g.promise;
        await m.ack();
      }, opts());
      await ch.consume('t', 'c', async (m) => {
        b.push(tag(m));
        await m.ack();
      }, opts());
      await ch.publish('t', enc('x')); // to s1
      const first = s1.stop(5000);
      await s1.stop(0);
      expect(b).toEqual([]); // x is still in s1's handler, within the first stop's grace
      g.open();
      await first;
      await sleep(20);
      expect(b).toEqual([]); // acked within the grace: never redelivered
    });
  });

  describe('consumers', () => {
    test('deleteConsumer removes the durable and its position; consumerNames lists the durables that exist', async () => {
      const ch = await channel();
      expect(ch.consumerNames('t')).toEqual([]);
      await ch.publish('t', enc('x'));
      const got: string[] = [];
      const a = await ch.consume('t', 'a', async (m) => {
        got.push(dec(m));
        await m.ack();
      }, opts());
      const b = await ch.consume('t', 'b', async (m) => {
        await m.ack();
      }, opts());
      expect(ch.consumerNames('t')).toEqual(['a', 'b']);
      await a.stop();
      await b.stop();
      await ch.deleteConsumer('t', 'a');
      expect(ch.consumerNames('t')).toEqual(['b']);
      await ch.deleteConsumer('t', 'a'); // gone already: not an error
      await ch.deleteConsumer('nope', 'a');
      // A new durable of that name starts afresh: x is still stored (no sweep ran).
      await ch.consume('t', 'a', async (m) => {
        got.push(dec(m));
        await m.ack();
      }, opts());
      expect(got).toEqual(['x', 'x']);
    });
  });
});

/** Consume and stop `c` on `t` until the stop ran within one millisecond; that millisecond. */
async function stopAtOneMs(ch: InMemoryChannel): Promise<number> {
  for (;;) {
    const c = await ch.consume('t', 'c', async (m) => {
      await m.ack();
    }, opts());
    const t0 = Date.now();
    const stopping = c.stop();
    const t1 = Date.now();
    await stopping;
    if (t0 === t1) return t0;
  }
}
