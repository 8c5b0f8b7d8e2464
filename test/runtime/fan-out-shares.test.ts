/**
 * The fan-out stage's pure parts on their own: a Trigger's share of a broker event and a
 * parked event read back (each settles once, parks with the right delivery count, and a
 * failed park never loses the event), the lane (in-flight bound, order, bounded memory) and
 * the parked format's limits. The stage over a real nats-server is in fan-out.test.ts.
 */
import type { ChannelMessage } from '../../runtime/channel/channel';
import { decodeParked, encodeParked, FanOutShare, Lane, ParkedMessage, SharedSettlement } from '../../runtime/dispatcher/fanout';
import type { LaneTask, Park } from '../../runtime/dispatcher/fanout';

/** A channel message that records how it was settled. */
function message(deliveryCount = 1, sequence?: number): ChannelMessage & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    data: Buffer.from('{"id":"1"}'),
    deliveryCount,
    sequence,
    ack: async () => void log.push('ack'),
    nak: (delayMs?: number) => void log.push(`nak ${delayMs}`),
    working: () => void log.push('working'),
  };
}

/** A park function that records its calls and succeeds (or fails) as told. */
function parker(fails = false): Park & { calls: [string, number, number, string][] } {
  const calls: [string, number, number, string][] = [];
  const park = (async (event: Uint8Array, deliveries: number, delayMs: number, reason: string) => {
    calls.push([Buffer.from(event).toString(), deliveries, delayMs, reason]);
    if (fails) throw new Error('retry topic unavailable');
  }) as Park & { calls: typeof calls };
  park.calls = calls;
  return park;
}

const flush = () => new Promise((r) => setImmediate(r));

describe('a Trigger share of a broker event', () => {
  function share(opts: { deliveryCount?: number; parkFails?: boolean } = {}) {
    const parent = message(opts.deliveryCount ?? 1, 7);
    const results: boolean[] = [];
    const settlement = new SharedSettlement(1, (ok) => results.push(ok));
    const park = parker(opts.parkFails);
    const s = new FanOutShare(parent, settlement, park, Buffer.from('stamped'));
    return { s, parent, results, park };
  }

  it('reads as its broker event: delivery count and sequence of the parent, the data it was given', () => {
    const { s } = share({ deliveryCount: 3 });
    expect(s.deliveryCount).toBe(3);
    expect(s.sequence).toBe(7);
    expect(Buffer.from(s.data).toString()).toBe('stamped');
    const plain = new FanOutShare(message(), new SharedSettlement(1, () => {}), parker());
    expect(Buffer.from(plain.data).toString()).toBe('{"id":"1"}');
  });

  it('settles its share once however often it is acked, and never acks the parent itself', async () => {
    const { s, parent, results } = share();
    await s.ack();
    await s.ack();
    s.fail();
    s.nak();
    await flush();
    expect(results).toEqual([true]);
    expect(parent.log).toEqual([]);
  });

  it("a share acked twice counts once: the broker event still waits for the other Triggers' shares", async () => {
    const results: boolean[] = [];
    const settlement = new SharedSettlement(2, (ok) => results.push(ok));
    const mine = new FanOutShare(message(), settlement, parker());
    const theirs = new FanOutShare(message(), settlement, parker());
    await mine.ack();
    await mine.ack();
    mine.fail();
    expect(results).toEqual([]);
    theirs.fail();
    expect(results).toEqual([false]);
  });

  it('fail() gives the broker event back (not ok), once', () => {
    const { s, results } = share();
    s.fail();
    s.fail();
    expect(results).toEqual([false]);
  });

  it('a nak parks it with the deliveries made so far and the delay, then settles the share', async () => {
    const { s, results, park } = share({ deliveryCount: 2 });
    s.nak(1500);
    s.nak(10);
    await s.ack();
    await flush();
    expect(park.calls).toEqual([['stamped', 2, 1500, 'retry']]);
    expect(results).toEqual([true]);
  });

  it('a spill parks it before any delivery (one fewer than the count it arrived with, never below 0)', async () => {
    const first = share({ deliveryCount: 1 });
    first.s.spill();
    const again = share({ deliveryCount: 4 });
    again.s.spill();
    await flush();
    expect(first.park.calls).toEqual([['stamped', 0, 0, 'saturated']]);
    expect(again.park.calls).toEqual([['stamped', 3, 0, 'saturated']]);
    const odd = share({ deliveryCount: 0 });
    odd.s.spill();
    await flush();
    expect(odd.park.calls[0][1]).toBe(0);
  });

  it('a park that fails gives the broker event back instead of losing it', async () => {
    const { s, results } = share({ parkFails: true });
    s.nak(100);
    await flush();
    expect(results).toEqual([false]);
  });
});

describe('a parked event read back for its Trigger', () => {
  function parked(opts: { parkFails?: boolean; deliveries?: number } = {}) {
    const m = message(1);
    const park = parker(opts.parkFails);
    const p = new ParkedMessage(m, Buffer.from('event'), opts.deliveries ?? 2, park);
    return { p, m, park };
  }

  it('counts the deliveries it had before it was parked', () => {
    expect(parked({ deliveries: 0 }).p.deliveryCount).toBe(1);
    expect(parked({ deliveries: 5 }).p.deliveryCount).toBe(6);
    expect(Buffer.from(parked().p.data).toString()).toBe('event');
  });

  it('an ack acks the parked copy once', async () => {
    const { p, m } = parked();
    await p.ack();
    await p.ack();
    p.nak();
    await flush();
    expect(m.log).toEqual(['ack']);
  });

  it('a nak parks it again one delivery further, then acks this copy, once', async () => {
    const { p, m, park } = parked({ deliveries: 2 });
    p.nak(250);
    p.nak(250);
    await p.ack();
    await flush();
    expect(park.calls).toEqual([['event', 3, 250, 'retry']]);
    expect(m.log).toEqual(['ack']);
  });

  it('a nak whose park fails has the channel redeliver this copy, with the same delay', async () => {
    const { p, m } = parked({ parkFails: true });
    p.nak(250);
    await flush();
    expect(m.log).toEqual(['nak 250']);
  });

  it('working() extends the copy while it is open, and not once it is settled', async () => {
    const { p, m } = parked();
    p.working();
    await p.ack();
    p.working();
    expect(m.log).toEqual(['working', 'ack']);
  });
});

describe('a fan-out lane', () => {
  interface Held {
    readonly task: LaneTask;
    release(): void;
  }
  /** A task that runs until released, counting how many run at once. */
  function held(log: string[], name: string, gauge: { now: number; max: number }, extra: Partial<LaneTask> = {}): Held {
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    const task: LaneTask = {
      spillable: false,
      run: async () => {
        log.push(`run ${name}`);
        gauge.now++;
        gauge.max = Math.max(gauge.max, gauge.now);
        await done;
        gauge.now--;
      },
      spill: () => false,
      abandon: () => log.push(`abandon ${name}`),
      ...extra,
    };
    return { task, release };
  }

  it('starts the next waiting task when one finishes, never more than maxInFlight at once', async () => {
    const log: string[] = [];
    const gauge = { now: 0, max: 0 };
    const lane = new Lane(2, 100);
    const tasks = ['a', 'b', 'c', 'd', 'e'].map((n) => held(log, n, gauge));
    for (const t of tasks) lane.submit(t.task);
    expect(log).toEqual(['run a', 'run b']);
    tasks[0].release();
    await flush();
    expect(log).toEqual(['run a', 'run b', 'run c']);
    expect(lane.inFlight).toBe(2);
    expect(lane.queued).toBe(2);
    for (const t of tasks) t.release();
    await lane.idle();
    expect(gauge.max).toBe(2);
    expect(log).toEqual(['run a', 'run b', 'run c', 'run d', 'run e']);
  });

  it('resize() starts waiting tasks when it grows and never goes below one in flight', async () => {
    const log: string[] = [];
    const gauge = { now: 0, max: 0 };
    const lane = new Lane(1, 100);
    const tasks = ['a', 'b', 'c', 'd'].map((n) => held(log, n, gauge));
    for (const t of tasks) lane.submit(t.task);
    expect(log).toEqual(['run a']);
    lane.resize(3);
    expect(log).toEqual(['run a', 'run b', 'run c']);
    lane.resize(0);
    tasks[0].release();
    tasks[1].release();
    tasks[2].release();
    await flush();
    // One slot, not none: d still runs.
    expect(log).toEqual(['run a', 'run b', 'run c', 'run d']);
    tasks[3].release();
    await lane.idle();
  });

  it('a task submitted while the lane starts others keeps its place behind those already waiting', async () => {
    const log: string[] = [];
    const gauge = { now: 0, max: 0 };
    const lane = new Lane(1, 100);
    const a = held(log, 'a', gauge);
    const x = held(log, 'x', gauge);
    const d = held(log, 'd', gauge, {
      run: async () => {
        log.push('run d');
        lane.submit(x.task);
      },
    });
    const e = held(log, 'e', gauge);
    lane.submit(a.task);
    lane.submit(d.task);
    lane.submit(e.task);
    // Two slots open at once: d starts, submits x while e still waits, then e starts.
    lane.resize(3);
    expect(log).toEqual(['run a', 'run d', 'run e']);
    await flush();
    expect(log).toEqual(['run a', 'run d', 'run e', 'run x']);
    for (const t of [a, x, e]) t.release();
    await lane.idle();
  });

  it('a task whose run() throws frees its slot', async () => {
    const log: string[] = [];
    const gauge = { now: 0, max: 0 };
    const lane = new Lane(1, 10);
    lane.submit(
      held(log, 'boom', gauge, {
        run: () => {
          throw new Error('boom');
        },
      }).task,
    );
    const next = held(log, 'next', gauge);
    lane.submit(next.task);
    await flush();
    expect(log).toEqual(['run next']);
    next.release();
    await lane.idle();
  });

  it('keeps its memory bounded while a steady backlog passes through it', async () => {
    const lane = new Lane(1, 1_000_000);
    const waitingArray = () => (lane as unknown as { waiting: unknown[] }).waiting.length;
    let peak = 0;
    let ran = 0;
    let submitted = 0;
    const total = 5000;
    // Each task that runs submits the next: ten wait at all times.
    const submitOne = (): void => {
      submitted++;
      lane.submit({
        spillable: false,
        run: async () => {
          ran++;
          peak = Math.max(peak, waitingArray());
          if (submitted < total) submitOne();
        },
        spill: () => false,
        abandon: () => {},
      });
    };
    for (let i = 0; i < 11; i++) submitOne();
    while (ran < total) await flush();
    await lane.idle();
    await flush();
    expect(ran).toBe(total);
    expect(lane.queued).toBe(0);
    // Compacted once more than 1,024 ran: never the whole history.
    expect(peak).toBeLessThan(2 * 1024 + 20);
  });
});

describe('parked event format limits', () => {
  it('refuses a header line past 4 KiB (it is never one we wrote) and a header that is null', () => {
    const header = JSON.stringify({ trigger: 'ns/t', deliveries: 1, notBefore: 0 });
    const padded = header + ' '.repeat(4097 - header.length);
    expect(decodeParked(Buffer.from(`${padded}\n{}`))).toBeUndefined();
    const justFits = header + ' '.repeat(4096 - header.length);
    expect(decodeParked(Buffer.from(`${justFits}\n{}`))).toMatchObject({ trigger: 'ns/t', deliveries: 1 });
    expect(decodeParked(Buffer.from('null\n{}'))).toBeUndefined();
    expect(decodeParked(Buffer.from('\n{}'))).toBeUndefined();
    expect(decodeParked(Buffer.from('{"trigger":"a/b","deliveries":1,"notBefore":"soon"}\n{}'))).toBeUndefined();
    expect(decodeParked(Buffer.from('{"trigger":"a/b","deliveries":1.5,"notBefore":0}\n{}'))).toBeUndefined();
  });

  it('reads a header from a view into a larger buffer (a message inside a read batch)', () => {
    const bytes = encodeParked({ trigger: 'ns/t', deliveries: 0, notBefore: 5 }, Buffer.from('{"id":"x"}'));
    const batch = Buffer.concat([Buffer.from('garbage\n'), bytes, Buffer.from('more')]);
    const view = batch.subarray(8, 8 + bytes.length);
    const parked = decodeParked(view);
    expect(parked).toMatchObject({ trigger: 'ns/t', deliveries: 0, notBefore: 5 });
    expect(Buffer.from(parked!.event).toString()).toBe('{"id":"x"}');
  });
});
