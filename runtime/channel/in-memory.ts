/**
 * In-memory channel: the default of dev mode and tests. It follows the same semantics as
 * the JetStream channel — durable named consumers with their own cursor, explicit ack,
 * redelivery after ackWait, nak with delay, a shared in-flight bound per consumer
 * (JetStream's max_ack_pending), ordered delivery, maxAge, maxInactivity — but nothing
 * survives the process.
 *
 * Differences from JetStream, deliberate for a process-local store:
 * - events every existing consumer of a topic has acked are dropped (memory), so a
 *   consumer created later with deliverPolicy `all` sees only events still unacked by the
 *   others (or published while the topic had no consumer);
 * - `maxBytes` defaults to 256 MiB per topic (then ChannelFullError).
 */
import type { ChannelKind } from '../../constructs/api';
import {
  Channel,
  ChannelConsumer,
  ChannelFullError,
  ChannelMessage,
  ChannelUnavailableError,
  ConsumerOptions,
  MessageHandler,
  runTracked,
  TopicOptions,
} from './channel';

export interface InMemoryChannelOptions {
  /** Options for topics created implicitly (publish/consume before ensureTopic). */
  readonly defaults?: TopicOptions;
  /** How often expired events and inactive topics are swept. @default 1000 */
  readonly sweepIntervalMs?: number;
}

const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

interface Stored {
  readonly seq: number;
  readonly data: Uint8Array;
  readonly at: number;
}

interface Pending {
  readonly seq: number;
  deliveries: number;
  /** Incremented per delivery: acks/naks/working() of older deliveries are recognized. */
  token: number;
  /** In a handler now (vs. waiting for a nak delay or queued for redelivery). */
  active: boolean;
  owner?: Subscription;
  timer?: NodeJS.Timeout;
}

class Topic {
  readonly name: string;
  options: TopicOptions;
  msgs: Stored[] = [];
  /** Index in msgs of the first live message; seq of msgs[0]. */
  head = 0;
  baseSeq = 1;
  lastSeq = 0;
  bytes = 0;
  lastActivity = Date.now();
  readonly durables = new Map<string, Durable>();
  constructor(name: string, options: TopicOptions) {
    this.name = name;
    this.options = options;
  }
  get firstSeq(): number {
    return this.head < this.msgs.length ? this.msgs[this.head].seq : this.lastSeq + 1;
  }
  get(seq: number): Stored | undefined {
    if (seq < this.firstSeq || seq > this.lastSeq) return undefined;
    return this.msgs[seq - this.baseSeq];
  }
  /** Drop live messages with seq < `seq`. */
  dropBefore(seq: number): void {
    while (this.head < this.msgs.length && this.msgs[this.head].seq < seq) {
      this.bytes -= this.msgs[this.head].data.byteLength;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.msgs.length) {
      this.msgs = this.msgs.slice(this.head);
      this.baseSeq = this.msgs.length ? this.msgs[0].seq : this.lastSeq + 1;
      this.head = 0;
    } else if (this.head === this.msgs.length) {
      this.msgs = [];
      this.head = 0;
      this.baseSeq = this.lastSeq + 1;
    }
  }
}

class Subscription implements ChannelConsumer {
  stopped = false;
  readonly running = new Set<Promise<void>>();
  constructor(
    readonly durable: Durable,
    readonly handler: MessageHandler,
  ) {}
  stop(graceMs = 0): Promise<void> {
    return this.durable.detach(this, graceMs);
  }
}

class Durable {
  nextSeq: number;
  readonly pending = new Map<number, Pending>();
  /** Seqs ready for redelivery, ascending. */
  readonly due: number[] = [];
  readonly subs: Subscription[] = [];
  rr = 0;
  lastActive = Date.now();
  private pumping = false;
  private again = false;
  constructor(
    readonly name: string,
    readonly topic: Topic,
    public options: ConsumerOptions,
  ) {
    this.nextSeq = options.deliverPolicy === 'new' ? topic.lastSeq + 1 : topic.firstSeq;
  }

  get maxInFlight(): number {
    return this.options.ordered ? 1 : Math.max(1, this.options.maxInFlight);
  }

  /** Lowest seq not yet acked: nothing below it is needed by this consumer. */
  lowestUnacked(): number {
    let low = this.nextSeq;
    for (const seq of this.pending.keys()) if (seq < low) low = seq;
    return low;
  }

  attach(sub: Subscription): void {
    this.subs.push(sub);
    this.lastActive = Date.now();
    this.pump();
  }

  async detach(sub: Subscription, graceMs: number): Promise<void> {
    if (sub.stopped) return;
    sub.stopped = true;
    const i = this.subs.indexOf(sub);
    if (i >= 0) this.subs.splice(i, 1);
    this.lastActive = Date.now();
    if (sub.running.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...sub.running]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    // Release what is still in this subscription's handlers: due for redelivery now.
    for (const p of this.pending.values()) {
      if (p.owner === sub && p.active) this.makeDue(p);
    }
    this.pump();
  }

  makeDue(p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    p.active = false;
    p.owner = undefined;
    p.token++;
    const due = this.due;
    let lo = 0;
    let hi = due.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (due[mid] < p.seq) lo = mid + 1;
      else hi = mid;
    }
    if (due[lo] !== p.seq) due.splice(lo, 0, p.seq);
  }

  ack(seq: number): void {
    const p = this.pending.get(seq);
    if (!p) return;
    if (p.timer) clearTimeout(p.timer);
    this.pending.delete(seq);
    const i = this.due.indexOf(seq);
    if (i >= 0) this.due.splice(i, 1);
    this.lastActive = Date.now();
    this.pump();
  }

  nak(seq: number, token: number, delayMs: number | undefined): void {
    const p = this.pending.get(seq);
    if (!p || p.token !== token || !p.active) return;
    if (delayMs !== undefined && delayMs > 0) {
      if (p.timer) clearTimeout(p.timer);
      p.active = false;
      p.owner = undefined;
      p.token++;
      const t = p.token;
      p.timer = setTimeout(() => {
        const q = this.pending.get(seq);
        if (q && q.token === t) {
          this.makeDue(q);
          this.pump();
        }
      }, delayMs);
      p.timer.unref?.();
    } else {
      this.makeDue(p);
    }
    this.pump();
  }

  working(seq: number, token: number): void {
    const p = this.pending.get(seq);
    if (p && p.token === token && p.active && p.timer) p.timer.refresh();
  }

  /** Forget pending entries for messages that expired. */
  dropExpired(): void {
    const first = this.topic.firstSeq;
    if (this.nextSeq < first) this.nextSeq = first;
    for (const [seq, p] of this.pending) {
      if (seq < first) {
        if (p.timer) clearTimeout(p.timer);
        this.pending.delete(seq);
      }
    }
    while (this.due.length && this.due[0] < first) this.due.shift();
  }

  stopAll(): void {
    for (const sub of [...this.subs]) sub.stopped = true;
    this.subs.length = 0;
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
  }

  pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        while (this.subs.length > 0) {
          let p: Pending | undefined;
          if (this.due.length > 0) {
            p = this.pending.get(this.due.shift()!);
            if (!p) continue;
          } else if (this.pending.size < this.maxInFlight && this.nextSeq <= this.topic.lastSeq) {
            const seq = this.nextSeq++;
            p = { seq, deliveries: 0, token: 0, active: false };
            this.pending.set(seq, p);
          } else {
            break;
          }
          const stored = this.topic.get(p.seq);
          if (!stored) {
            this.pending.delete(p.seq);
            continue;
          }
          this.deliver(p, stored);
        }
      } while (this.again);
    } finally {
      this.pumping = false;
    }
  }

  private deliver(p: Pending, stored: Stored): void {
    const sub = this.subs[this.rr++ % this.subs.length];
    p.deliveries++;
    p.token++;
    p.active = true;
    p.owner = sub;
    const token = p.token;
    const seq = p.seq;
    p.timer = setTimeout(() => {
      const q = this.pending.get(seq);
      if (q && q.token === token && q.active) {
        this.makeDue(q);
        this.pump();
      }
    }, Math.max(1, this.options.ackWaitMs));
    p.timer.unref?.();
    let settled = false;
    const message: ChannelMessage = {
      data: stored.data,
      deliveryCount: p.deliveries,
      ack: async () => {
        if (settled) return;
        settled = true;
        this.ack(seq);
      },
      nak: (delayMs?: number) => {
        if (settled) return;
        settled = true;
        this.nak(seq, token, delayMs);
      },
      working: () => {
        if (!settled) this.working(seq, token);
      },
    };
    void runTracked(sub.handler, message, sub.running);
  }
}

/**
 * Process-local channel. Share one instance between the adapter and the dispatcher (dev
 * mode) to connect them.
 */
export class InMemoryChannel implements Channel {
  readonly kind: ChannelKind = 'inmemory';
  private readonly topics = new Map<string, Topic>();
  private readonly defaults: TopicOptions;
  private readonly sweepIntervalMs: number;
  private connected = false;
  private sweeper?: NodeJS.Timeout;

  constructor(options: InMemoryChannelOptions = {}) {
    this.defaults = options.defaults ?? {};
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1000;
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    this.connected = true;
    this.sweeper = setInterval(() => this.sweep(), this.sweepIntervalMs);
    this.sweeper.unref();
  }

  isReady(): boolean {
    return this.connected;
  }

  async ensureTopic(topic: string, options: TopicOptions = {}): Promise<void> {
    this.requireConnected();
    const existing = this.topics.get(topic);
    const merged = { ...this.defaults, ...options };
    if (existing) {
      existing.options = merged;
      existing.lastActivity = Date.now();
    } else {
      this.topics.set(topic, new Topic(topic, merged));
    }
  }

  private topic(name: string): Topic {
    let t = this.topics.get(name);
    if (!t) {
      t = new Topic(name, { ...this.defaults });
      this.topics.set(name, t);
    }
    return t;
  }

  private requireConnected(): void {
    if (!this.connected) throw new ChannelUnavailableError('in-memory channel is not connected (call connect() first, or it was closed)', 1);
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    this.requireConnected();
    const t = this.topic(topic);
    const max = t.options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (t.bytes + data.byteLength > max) {
      throw new ChannelFullError(`topic ${topic} is full (${t.bytes} of ${max} bytes stored): consumers must catch up or maxBytes be raised`);
    }
    const now = Date.now();
    const seq = ++t.lastSeq;
    t.msgs.push({ seq, data, at: now });
    t.bytes += data.byteLength;
    t.lastActivity = now;
    for (const d of t.durables.values()) if (d.subs.length > 0) d.pump();
  }

  async consume(topic: string, consumer: string, handler: MessageHandler, options: ConsumerOptions): Promise<ChannelConsumer> {
    this.requireConnected();
    const t = this.topic(topic);
    let d = t.durables.get(consumer);
    if (!d) {
      d = new Durable(consumer, t, options);
      t.durables.set(consumer, d);
    } else {
      d.options = options;
    }
    t.lastActivity = Date.now();
    const sub = new Subscription(d, handler);
    d.attach(sub);
    return sub;
  }

  async deleteConsumer(topic: string, consumer: string): Promise<void> {
    const t = this.topics.get(topic);
    const d = t?.durables.get(consumer);
    if (!t || !d) return;
    t.durables.delete(consumer);
    t.lastActivity = Date.now();
  }

  /** Test/diagnostic helper: durable consumers of a topic that exist now. */
  consumerNames(topic: string): string[] {
    return [...(this.topics.get(topic)?.durables.keys() ?? [])];
  }

  /** Test/diagnostic helper: topics that exist now. */
  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  /** Test/diagnostic helper: stored (not yet dropped) events of a topic. */
  storedCount(topic: string): number {
    const t = this.topics.get(topic);
    return t ? t.msgs.length - t.head : 0;
  }

  /** Expire by maxAge, drop events all consumers acked, remove inactive consumers/topics. */
  sweep(now = Date.now()): void {
    for (const [name, t] of this.topics) {
      const maxAge = t.options.maxAgeMs;
      if (maxAge !== undefined && maxAge > 0) {
        let cut = t.firstSeq;
        for (let i = t.head; i < t.msgs.length && t.msgs[i].at + maxAge <= now; i++) cut = t.msgs[i].seq + 1;
        t.dropBefore(cut);
      }
      if (t.durables.size > 0) {
        let low = Infinity;
        for (const d of t.durables.values()) low = Math.min(low, d.lowestUnacked());
        if (low !== Infinity) t.dropBefore(low);
      }
      for (const d of t.durables.values()) d.dropExpired();

      const inactivity = t.options.maxInactivityMs;
      if (inactivity !== undefined && inactivity > 0) {
        for (const [dn, d] of t.durables) {
          if (d.subs.length === 0 && now - d.lastActive >= inactivity) {
            d.stopAll();
            t.durables.delete(dn);
          }
        }
        let attached = false;
        for (const d of t.durables.values()) if (d.subs.length > 0) attached = true;
        if (!attached && t.durables.size === 0 && now - t.lastActivity >= inactivity) this.topics.delete(name);
      }
    }
  }

  async close(): Promise<void> {
    this.connected = false;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const t of this.topics.values()) for (const d of t.durables.values()) d.stopAll();
  }
}
