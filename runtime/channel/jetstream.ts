/**
 * NATS JetStream channel.
 *
 * - One stream per topic, named `EM_<escaped topic>` (collision-free, see `streamNameFor`),
 *   file storage, limits retention, `max_age` from TopicOptions.maxAgeMs, `num_replicas`
 *   from replicas, `max_bytes` + discard `new` when maxBytes is set.
 * - One durable pull consumer per consumer name (`durableNameFor`), explicit ack,
 *   `ack_wait`, `max_ack_pending` = maxInFlight (1 when ordered), `max_deliver` =
 *   maxDeliveries (unlimited when not given).
 * - publish resolves after the PubAck; publishes are pipelined (each awaits its own ack).
 * - maxInactivity: consumers get `inactive_threshold` (the server removes a durable that
 *   has had no pull requests for that long); a sweeper removes a stream whose topic has
 *   no consumer left and no message for that long. The threshold is kept in the stream
 *   description, so any process sweeps any mesh stream.
 * - The connection reconnects forever; `isReady()` follows it. Publishing while
 *   disconnected fails fast with ChannelUnavailableError.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect as natsConnect } from '@nats-io/transport-node';
import {
  AckPolicy,
  ConsumerConfig,
  ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  JetStreamApiError,
  JetStreamClient,
  jetstreamManager,
  JetStreamManager,
  JsMsg,
  RetentionPolicy,
  StorageType,
  StreamConfig,
} from '@nats-io/jetstream';
import type { ChannelKind } from '../../constructs/api';
import {
  Channel,
  ChannelConsumer,
  ChannelFullError,
  ChannelMessage,
  ChannelUnavailableError,
  ConsumerOptions,
  MessageHandler,
  TopicOptions,
} from './channel';

/** Minimal logger shape (pino's Logger fits). */
export interface ChannelLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const noopLogger: ChannelLogger = { info() {}, warn() {}, error() {}, debug() {} };

export interface JetStreamChannelOptions {
  /** NATS server URL(s). @default "nats://127.0.0.1:4222" */
  readonly servers?: string | string[];
  /** Options for topics created implicitly (publish/consume of a topic never ensured). */
  readonly defaults?: TopicOptions;
  /** connect() rejects after this long (the connection attempt goes on). @default 10000 */
  readonly connectTimeoutMs?: number;
  /** A publish without PubAck after this long fails with ChannelUnavailableError. @default 5000 */
  readonly publishTimeoutMs?: number;
  /** How often the inactivity sweeper runs. @default maxInactivity / 4, 250 ms…60 s */
  readonly sweepIntervalMs?: number;
  /** Connection name shown by the server. */
  readonly name?: string;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  readonly logger?: ChannelLogger;
}

type NatsConnection = Awaited<ReturnType<typeof natsConnect>>;

/** Milliseconds to the nanoseconds JetStream's API uses. */
const nanos = (ms: number): number => Math.round(ms * 1_000_000);

/** nats-core error classes, recognized by name (they come from a transitive package). */
const CONNECTION_ERRORS = new Set(['TimeoutError', 'ClosedConnectionError', 'DrainingConnectionError', 'ConnectionError', 'RequestError', 'NoRespondersError']);

export const STREAM_PREFIX = 'EM_';
const SAFE_TOPIC = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/;
const MAX_NAME = 200;

/**
 * Escape a topic or consumer name into a NATS name (no ".", "*", ">", whitespace, path
 * separators): [a-z0-9-] kept, "." → "_", any other character → "_X" + UTF-8 hex
 * (upper case). Injective: "_X" can only come from an escape since "X" is escaped itself.
 * Names longer than 200 characters are cut and suffixed with a hash.
 */
export function escapeName(name: string): string {
  let out = '';
  for (const ch of name) {
    if (/[a-z0-9-]/.test(ch)) out += ch;
    else if (ch === '.') out += '_';
    else out += `_X${Buffer.from(ch, 'utf8').toString('hex').toUpperCase()}`;
  }
  if (out.length > MAX_NAME) {
    const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
    out = `${out.slice(0, MAX_NAME - 17)}_${hash}`;
  }
  return out;
}

/** Stream of a topic: `channel.kyma-integration.commerce` → `EM_channel_kyma-integration_commerce`. */
export function streamNameFor(topic: string): string {
  return STREAM_PREFIX + escapeName(topic);
}

/** Durable consumer name: `sub.ns.name` → `sub_ns_name`. */
export function durableNameFor(consumer: string): string {
  return escapeName(consumer);
}

/** Subject of a topic: `em.<topic>` for plain topics, `emx.<escaped>` otherwise. */
export function subjectFor(topic: string): string {
  return SAFE_TOPIC.test(topic) ? `em.${topic}` : `emx.${escapeName(topic)}`;
}

interface StreamDescription {
  topic: string;
  maxInactivityMs?: number;
}

function describeStream(topic: string, options: TopicOptions): string {
  const d: StreamDescription = { topic };
  if (options.maxInactivityMs) d.maxInactivityMs = options.maxInactivityMs;
  return `event-mesh ${JSON.stringify(d)}`;
}

function parseDescription(text: string | undefined): StreamDescription | undefined {
  if (!text || !text.startsWith('event-mesh ')) return undefined;
  try {
    return JSON.parse(text.slice('event-mesh '.length)) as StreamDescription;
  } catch {
    return undefined;
  }
}

function errText(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== e.message ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}

function isNoResponders(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'NoRespondersError' || /no responders/i.test(e.message)) return true;
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error && (cause.name === 'NoRespondersError' || /no responders/i.test(cause.message));
}

function isFull(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if ((e instanceof JetStreamApiError || typeof (e as { code?: unknown }).code === 'number') && (e as unknown as { code: number }).code === 10047) return true; // insufficient resources
  if (/insufficient (storage|resources)|maximum (bytes|messages) exceeded|resource limits exceeded/i.test(e.message)) return true;
  // "storage … exceeded" without a `.*` pattern (quadratic on long messages).
  const text = e.message.toLowerCase();
  const storage = text.indexOf('storage ');
  return storage >= 0 && text.indexOf('exceeded', storage + 8) >= 0;
}

/** Map a NATS error to the channel contract's errors. */
export function mapNatsError(e: unknown, what: string): Error {
  if (e instanceof ChannelUnavailableError || e instanceof ChannelFullError) return e;
  if (isFull(e)) return new ChannelFullError(`${what}: JetStream storage is full (${errText(e)})`);
  if ((e instanceof Error && CONNECTION_ERRORS.has(e.name)) || isNoResponders(e) || e instanceof JetStreamApiError) {
    return new ChannelUnavailableError(`${what}: NATS JetStream is unavailable (${errText(e)})`, 1);
  }
  return new ChannelUnavailableError(`${what}: ${errText(e)}`, 1);
}

function sameNumber(a: number | undefined, b: number | undefined): boolean {
  return (a ?? 0) === (b ?? 0);
}

interface PublishFailureSink {
  failed(id: number, e: Error): void;
}

/** Settle operations queued in the Outbox. */
const OP_ACK = -1;
const OP_NAK = 0;
const OP_WORKING = -2;

/**
 * Write coalescing for one NATS connection: publishes, acks, naks and working() signals
 * issued during one event-loop turn are handed to the client together in a setImmediate,
 * so they leave in one socket write (nats.js flushes its outbound buffer in a microtask
 * after the first command, i.e. once per macrotask otherwise: one write per ack, since
 * each ack follows a subscriber's response, which arrives in a macrotask of its own).
 * An ack is only ever delayed, never lost or reordered with respect to the delivery it
 * settles: if the process dies before the flush, the event is redelivered after ackWait,
 * exactly as if it had died just before acking.
 */
class Outbox {
  private readonly pubSubjects: string[] = [];
  private readonly pubData: Uint8Array[] = [];
  private readonly pubReplies: string[] = [];
  private readonly pubIds: number[] = [];
  private readonly pubSinks: PublishFailureSink[] = [];
  private readonly settleMsgs: JsMsg[] = [];
  private readonly settleOps: number[] = [];
  private scheduled = false;

  constructor(private readonly nc: NatsConnection) {}

  publish(subject: string, data: Uint8Array, reply: string, id: number, sink: PublishFailureSink): void {
    this.pubSubjects.push(subject);
    this.pubData.push(data);
    this.pubReplies.push(reply);
    this.pubIds.push(id);
    this.pubSinks.push(sink);
    this.schedule();
  }

  /** op: OP_ACK, OP_NAK, OP_WORKING, or a nak delay in ms (> 0). */
  settle(m: JsMsg, op: number): void {
    this.settleMsgs.push(m);
    this.settleOps.push(op);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  /** Hand everything queued to the client now (also called before stop/close). */
  readonly flush = (): void => {
    this.scheduled = false;
    const n = this.pubSubjects.length;
    if (n > 0) {
      const subjects = this.pubSubjects.splice(0);
      const data = this.pubData.splice(0);
      const replies = this.pubReplies.splice(0);
      const ids = this.pubIds.splice(0);
      const sinks = this.pubSinks.splice(0);
      for (let i = 0; i < n; i++) {
        try {
          this.nc.publish(subjects[i], data[i], { reply: replies[i] });
        } catch (e) {
          sinks[i].failed(ids[i], e as Error);
        }
      }
    }
    const k = this.settleMsgs.length;
    if (k > 0) {
      const msgs = this.settleMsgs.splice(0);
      const ops = this.settleOps.splice(0);
      for (let i = 0; i < k; i++) {
        try {
          const op = ops[i];
          if (op === OP_ACK) msgs[i].ack();
          else if (op === OP_WORKING) msgs[i].working();
          else if (op > 0) msgs[i].nak(op);
          else msgs[i].nak();
        } catch {
          // connection gone: the server redelivers after ackWait
        }
      }
    }
  };
}

const RESOLVED: Promise<void> = Promise.resolve();

/** One delivery handed to the handler; settles at most once. */
class JetStreamMessage implements ChannelMessage {
  settled = false;
  /** When (ms) it was handed to the handler or last reported working. */
  at: number;

  constructor(
    private readonly sub: JetStreamSubscription,
    readonly m: JsMsg,
    now: number,
  ) {
    this.at = now;
  }

  get data(): Uint8Array {
    return this.m.data;
  }

  /** Parsed from the reply subject only when asked for. */
  get deliveryCount(): number {
    return this.m.info.deliveryCount;
  }

  ack(): Promise<void> {
    if (!this.settled) this.sub.settle(this, OP_ACK);
    return RESOLVED;
  }

  nak(delayMs?: number): void {
    if (!this.settled) this.sub.settle(this, delayMs !== undefined && delayMs > 0 ? Math.max(1, Math.round(delayMs)) : OP_NAK);
  }

  working(): void {
    if (!this.settled) this.sub.settle(this, OP_WORKING);
  }
}

class JetStreamSubscription implements ChannelConsumer {
  private stopped = false;
  private messages?: ConsumerMessages;
  /** Handed to the handler, not yet acked/nacked. */
  private readonly outstanding = new Set<JetStreamMessage>();
  private pruner?: NodeJS.Timeout;
  /** Handler invocations still running, and who waits for them to reach 0. */
  private running = 0;
  private idle?: () => void;

  constructor(
    private readonly channel: JetStreamChannel,
    private readonly topic: string,
    private readonly consumer: string,
    private readonly handler: MessageHandler,
    private readonly options: ConsumerOptions,
    private readonly logger: ChannelLogger,
  ) {}

  async start(): Promise<void> {
    await this.open();
    // A delivery left unsettled past ackWait is redelivered by the server as a new
    // message: forget the old one so a handler that never settles cannot leak memory.
    const ackWait = Math.max(1, this.options.ackWaitMs);
    this.pruner = setInterval(() => {
      const cutoff = Date.now() - ackWait;
      for (const m of this.outstanding) if (m.at < cutoff) this.outstanding.delete(m);
    }, Math.max(1000, ackWait));
    this.pruner.unref();
  }

  /**
   * Start (or restart) pulling: batched pull requests of up to maxInFlight messages,
   * handed to the handler straight from the client's subscription callback (no async
   * iterator, no promise per message).
   */
  private async open(): Promise<void> {
    const js = this.channel.client();
    const c = await js.consumers.get(streamNameFor(this.topic), durableNameFor(this.consumer));
    const max = this.options.ordered ? 1 : Math.max(1, Math.min(this.options.maxInFlight, 1000));
    const old = this.messages;
    const messages = await c.consume({
      max_messages: max,
      callback: (m: JsMsg) => {
        if (this.stopped) {
          try {
            m.nak();
          } catch {
            // connection gone
          }
          return;
        }
        this.dispatch(m);
      },
    });
    if (this.stopped) {
      await messages.close();
      return;
    }
    this.messages = messages;
    void this.watchClosed(messages);
    void this.watch(messages);
    if (old) {
      try {
        await old.close();
      } catch {
        // already closed
      }
    }
  }

  private async watchClosed(messages: ConsumerMessages): Promise<void> {
    try {
      const err = await messages.closed();
      if (err && !this.stopped && messages === this.messages) this.logger.error({ err: errText(err), topic: this.topic, consumer: this.consumer }, 'JetStream consumer stopped');
    } catch (e) {
      if (!this.stopped && messages === this.messages) this.logger.error({ err: errText(e), topic: this.topic, consumer: this.consumer }, 'JetStream consumer stopped');
    }
  }

  /**
   * Recreate the consumer (and stream) when the server lost them — deleted by an operator,
   * by inactivity while this process was away, or a wiped store — and pull again.
   */
  private async watch(messages: ConsumerMessages): Promise<void> {
    let last = 0;
    try {
      for await (const s of messages.status()) {
        if (this.stopped || messages !== this.messages) return;
        if (s.type === 'consumer_not_found' || s.type === 'consumer_deleted' || s.type === 'stream_not_found') {
          const now = Date.now();
          if (now - last < 1000) continue;
          last = now;
          this.logger.warn({ topic: this.topic, consumer: this.consumer, status: s.type }, 'JetStream consumer missing: recreating it');
          try {
            await this.channel.ensureConsumer(this.topic, this.consumer, this.options);
            await this.open();
            return;
          } catch (e) {
            this.logger.warn({ err: errText(e), topic: this.topic, consumer: this.consumer }, 'recreating JetStream consumer failed; will retry');
          }
        }
      }
    } catch {
      // iterator ended
    }
  }

  /** @internal Called by JetStreamMessage: settle once, through the connection's outbox. */
  settle(message: JetStreamMessage, op: number): void {
    if (op === OP_WORKING) {
      if (this.outstanding.has(message)) message.at = Date.now();
    } else {
      message.settled = true;
      this.outstanding.delete(message);
    }
    this.channel.outbox(message.m, op);
  }

  private readonly handlerDone = (): void => {
    if (--this.running === 0 && this.idle) {
      const idle = this.idle;
      this.idle = undefined;
      idle();
    }
  };

  private dispatch(m: JsMsg): void {
    const message = new JetStreamMessage(this, m, Date.now());
    this.outstanding.add(message);
    this.running++;
    // A handler that returns or throws without settling: redelivered after ackWait (or
    // released at stop()).
    try {
      const run = this.handler(message) as Promise<void> | undefined;
      if (run && typeof run.then === 'function') run.then(this.handlerDone, this.handlerDone);
      else this.handlerDone();
    } catch {
      this.handlerDone();
    }
  }

  async stop(graceMs = 0): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.channel.forget(this);
    if (this.pruner) clearInterval(this.pruner);
    const messages = this.messages;
    try {
      await messages?.close();
    } catch {
      // already closed
    }
    if (this.running > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        this.idle = r;
        timer = setTimeout(r, graceMs);
      });
      this.idle = undefined;
      clearTimeout(timer);
    }
    // Release what is still unsettled so another consumer instance gets it right away.
    for (const m of this.outstanding) m.nak();
    this.outstanding.clear();
    // Acks and naks of this consumer leave now, not on the next turn of the loop.
    this.channel.flushOutbox();
  }
}

interface PendingPublish {
  resolve(): void;
  reject(e: Error): void;
  deadline: number;
}

/** A PubAck, a PubAck error, or the server's "no responders" status. */
type PubOutcome = { ok: true } | { ok: false; noResponders: boolean; error: Error };

/**
 * Pipelined JetStream publishing: one wildcard reply subscription for all PubAcks,
 * correlated by reply subject, and one timer for all deadlines. The client's own
 * js.publish() creates a request (with pre-built error objects and a timer) per call,
 * which costs more CPU than the rest of the adapter's work per event.
 */
class PipelinedPublisher {
  private readonly prefix: string;
  private next = 0;
  private readonly pending = new Map<number, PendingPublish>();
  private timer?: NodeJS.Timeout;
  private readonly sub: { unsubscribe(): void };

  constructor(
    nc: NatsConnection,
    private readonly outbox: Outbox,
    private readonly timeoutMs: number,
  ) {
    this.prefix = `_INBOX.em${randomBytes(8).toString('hex')}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, {
      callback: (err: Error | null, msg: { subject: string; data: Uint8Array; headers?: { code: number; description?: string } }) => {
        if (err) return;
        const id = Number(msg.subject.slice(this.prefix.length));
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        const outcome = PipelinedPublisher.outcome(msg.data, msg.headers);
        if (outcome.ok) p.resolve();
        else p.reject(outcome.error);
      },
    });
  }

  private static outcome(data: Uint8Array, headers: { code: number; description?: string; status?: string } | undefined): PubOutcome {
    if (headers && headers.code >= 300) {
      const noResponders = headers.code === 503;
      const e = new Error(noResponders ? 'no responders: no stream for this subject' : `JetStream status ${headers.code} ${headers.description ?? ''}`);
      if (noResponders) e.name = 'NoRespondersError';
      return { ok: false, noResponders, error: e };
    }
    // {"stream":"EM_x","seq":12} — the common case needs no JSON parse.
    if (data.length > 10 && data[2] === 0x73 /* s */ && data[3] === 0x74 /* t */) return { ok: true };
    let ack: { error?: { code?: number; err_code?: number; description?: string } };
    try {
      ack = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString());
    } catch {
      return { ok: false, noResponders: false, error: new Error('unparseable PubAck') };
    }
    if (!ack.error) return { ok: true };
    const e = new Error(ack.error.description ?? 'JetStream publish error');
    (e as { code?: number }).code = ack.error.err_code ?? ack.error.code;
    return { ok: false, noResponders: false, error: e };
  }

  publish(subject: string, data: Uint8Array): Promise<void> {
    const id = this.next++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadline: performance.now() + this.timeoutMs });
      // Publishes of one event-loop turn (many HTTP requests) leave in one socket write.
      this.outbox.publish(subject, data, this.prefix + id, id, this);
      if (!this.timer) {
        this.timer = setInterval(() => this.expire(), Math.min(250, this.timeoutMs));
        this.timer.unref();
      }
    });
  }

  /** The client refused a queued publish (connection closed). */
  failed(id: number, e: Error): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    p?.reject(e);
  }

  private expire(): void {
    const now = performance.now();
    // Deadlines grow with the id (one timeout, a monotonic clock): stop at the first one
    // still in the future.
    for (const [id, p] of this.pending) {
      if (p.deadline > now) break;
      this.pending.delete(id);
      const e = new Error(`no PubAck within ${this.timeoutMs} ms`);
      e.name = 'TimeoutError';
      p.reject(e);
    }
    if (this.pending.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Fail everything in flight (the connection dropped: the PubAcks will not come). */
  failAll(reason: string): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      const e = new Error(reason);
      e.name = 'ConnectionError';
      p.reject(e);
    }
  }

  close(): void {
    this.failAll('channel closed');
    if (this.timer) clearInterval(this.timer);
    try {
      this.sub.unsubscribe();
    } catch {
      // connection already closed
    }
  }
}

/** NATS JetStream implementation of the Channel contract. */
export class JetStreamChannel implements Channel {
  readonly kind: ChannelKind = 'nats';
  private nc?: NatsConnection;
  private js?: JetStreamClient;
  private jsm?: JetStreamManager;
  private publisher?: PipelinedPublisher;
  private box?: Outbox;
  private connecting?: Promise<void>;
  private connected = false;
  private closed = false;
  private readonly topics = new Map<string, TopicOptions>();
  private readonly ensuring = new Map<string, Promise<void>>();
  private readonly subs = new Set<JetStreamSubscription>();
  private sweeper?: NodeJS.Timeout;
  private sweepEveryMs?: number;
  private readonly logger: ChannelLogger;

  constructor(private readonly options: JetStreamChannelOptions = {}) {
    this.logger = options.logger ?? noopLogger;
  }

  /**
   * Connect (reconnecting forever afterwards). Rejects with ChannelUnavailableError when
   * the first connection takes longer than connectTimeoutMs; the attempt continues in the
   * background and isReady() turns true once it succeeds.
   */
  async connect(): Promise<void> {
    if (this.closed) throw new ChannelUnavailableError('the JetStream channel was closed');
    if (!this.connecting) {
      this.connecting = this.doConnect();
      this.connecting.catch((e) => this.logger.error({ err: errText(e) }, 'connecting to NATS failed'));
    }
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ChannelUnavailableError(`NATS at ${this.serverList().join(', ')} is not reachable yet (still trying)`, 2)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private serverList(): string[] {
    const s = this.options.servers ?? 'nats://127.0.0.1:4222';
    return Array.isArray(s) ? s : s.split(',').map((x) => x.trim()).filter(Boolean);
  }

  private async doConnect(): Promise<void> {
    // First connection: retry until it works or the channel is closed (nats.js's own
    // waitOnFirstConnect cannot be cancelled). Afterwards the client reconnects forever.
    let nc: NatsConnection | undefined;
    for (let attempt = 0; !nc; attempt++) {
      if (this.closed) return;
      try {
        nc = await natsConnect({
          servers: this.serverList(),
          name: this.options.name ?? 'event-mesh',
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          reconnectJitter: 100,
          pingInterval: 10_000,
          maxPingOut: 3,
          timeout: 2000,
          user: this.options.user,
          pass: this.options.pass,
          token: this.options.token,
        });
      } catch (e) {
        if (attempt % 20 === 0) this.logger.warn({ err: errText(e), servers: this.serverList(), attempt }, 'NATS not reachable yet; retrying');
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))));
      }
    }
    if (this.closed) {
      await nc.close();
      return;
    }
    this.nc = nc;
    this.js = jetstream(nc, { timeout: this.options.publishTimeoutMs ?? 5000 });
    this.jsm = await jetstreamManager(nc, { checkAPI: false, timeout: this.options.publishTimeoutMs ?? 5000 });
    this.box = new Outbox(nc);
    this.publisher = new PipelinedPublisher(nc, this.box, this.options.publishTimeoutMs ?? 5000);
    this.connected = true;
    this.logger.info({ server: nc.getServer() }, 'connected to NATS');
    void this.watchStatus(nc);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'disconnect':
          this.connected = false;
          this.publisher?.failAll('disconnected from NATS before the PubAck arrived');
          this.logger.warn({ server: s.server }, 'disconnected from NATS; reconnecting');
          break;
        case 'reconnect':
          this.connected = true;
          this.logger.info({ server: s.server }, 'reconnected to NATS');
          break;
        case 'close':
          this.connected = false;
          break;
        default:
          break;
      }
    }
    this.connected = false;
  }

  isReady(): boolean {
    return this.connected && !this.closed && this.nc !== undefined && !this.nc.isClosed();
  }

  /** @internal */
  client(): JetStreamClient {
    if (!this.js || !this.isReady()) throw new ChannelUnavailableError('not connected to NATS', 1);
    return this.js;
  }

  private manager(): JetStreamManager {
    if (!this.jsm || !this.isReady()) throw new ChannelUnavailableError('not connected to NATS', 1);
    return this.jsm;
  }

  /** Create or update the stream of a topic. */
  async ensureTopic(topic: string, options: TopicOptions = {}): Promise<void> {
    const merged: TopicOptions = { ...this.options.defaults, ...options };
    this.topics.set(topic, merged);
    this.scheduleSweeper(merged);
    try {
      await this.upsertStream(topic, merged);
    } catch (e) {
      throw mapNatsError(e, `creating the stream of topic ${topic}`);
    }
  }

  private streamConfig(topic: string, o: TopicOptions): Partial<StreamConfig> & { name: string } {
    return {
      name: streamNameFor(topic),
      subjects: [subjectFor(topic)],
      description: describeStream(topic, o),
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: o.maxAgeMs ? nanos(o.maxAgeMs) : 0,
      num_replicas: o.replicas ?? 1,
      max_bytes: o.maxBytes ?? -1,
      discard: o.maxBytes ? DiscardPolicy.New : DiscardPolicy.Old,
    };
  }

  private async upsertStream(topic: string, o: TopicOptions): Promise<void> {
    const jsm = this.manager();
    const want = this.streamConfig(topic, o);
    let info;
    try {
      info = await jsm.streams.info(want.name);
    } catch (e) {
      if (!(e instanceof JetStreamApiError && e.code === 10059)) throw e;
    }
    if (!info) {
      try {
        await jsm.streams.add(want);
        return;
      } catch (e) {
        // Created concurrently by another process: fall through to compare/update.
        if (!(e instanceof JetStreamApiError && /already in use|already exists/i.test(e.message))) throw e;
        info = await jsm.streams.info(want.name);
      }
    }
    const c = info.config;
    if (
      !sameNumber(c.max_age, want.max_age) ||
      !sameNumber(c.num_replicas, want.num_replicas) ||
      !sameNumber(c.max_bytes, want.max_bytes) ||
      c.discard !== want.discard ||
      c.description !== want.description
    ) {
      const { name, ...update } = want;
      await jsm.streams.update(name, { ...c, ...update });
    }
  }

  /** Ensure the stream exists for implicit use, without overriding an existing config. */
  private async ensureImplicit(topic: string): Promise<void> {
    let p = this.ensuring.get(topic);
    if (!p) {
      const o = this.topics.get(topic) ?? { ...this.options.defaults };
      this.topics.set(topic, o);
      this.scheduleSweeper(o);
      p = this.upsertStream(topic, o).finally(() => this.ensuring.delete(topic));
      this.ensuring.set(topic, p);
    }
    await p;
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    if (!this.isReady()) throw new ChannelUnavailableError(this.closed ? 'the JetStream channel was closed' : 'not connected to NATS (reconnecting)', 1);
    const publisher = this.publisher!;
    const subject = subjectFor(topic);
    try {
      await publisher.publish(subject, data);
    } catch (e) {
      if (!isNoResponders(e) || !this.isReady()) throw mapNatsError(e, `publishing to ${topic}`);
      // No stream yet (never ensured, or removed after inactivity): create it and retry once.
      try {
        await this.ensureImplicit(topic);
        await publisher.publish(subject, data);
      } catch (e2) {
        throw mapNatsError(e2, `publishing to ${topic}`);
      }
    }
  }

  /** Create the durable consumer or update its limits. @internal */
  async ensureConsumer(topic: string, consumer: string, options: ConsumerOptions): Promise<void> {
    const jsm = this.manager();
    const stream = streamNameFor(topic);
    const durable = durableNameFor(consumer);
    const topicOptions = this.topics.get(topic) ?? {};
    const want: Partial<ConsumerConfig> = {
      durable_name: durable,
      description: `event-mesh consumer ${consumer} of ${topic}`,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(Math.max(1, options.ackWaitMs)),
      max_ack_pending: options.ordered ? 1 : Math.max(1, options.maxInFlight),
      deliver_policy: options.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
      max_deliver: options.maxDeliveries ?? -1,
    };
    if (topicOptions.maxInactivityMs) want.inactive_threshold = nanos(topicOptions.maxInactivityMs);
    let info;
    try {
      info = await jsm.consumers.info(stream, durable);
    } catch (e) {
      if (e instanceof JetStreamApiError && e.code === 10059) {
        await this.ensureImplicit(topic);
      } else if (!(e instanceof JetStreamApiError && e.code === 10014)) {
        throw e;
      }
    }
    if (!info) {
      try {
        await jsm.consumers.add(stream, want);
        return;
      } catch (e) {
        if (!(e instanceof JetStreamApiError && /already (in use|exists)/i.test(e.message))) throw e;
        info = await jsm.consumers.info(stream, durable);
      }
    }
    const c = info.config;
    if (
      !sameNumber(c.ack_wait, want.ack_wait) ||
      !sameNumber(c.max_ack_pending, want.max_ack_pending) ||
      !sameNumber(c.inactive_threshold, want.inactive_threshold) ||
      !sameNumber(c.max_deliver, want.max_deliver)
    ) {
      await jsm.consumers.update(stream, durable, {
        ack_wait: want.ack_wait,
        max_ack_pending: want.max_ack_pending,
        inactive_threshold: want.inactive_threshold ?? 0,
        description: want.description,
        max_deliver: want.max_deliver,
      });
    }
  }

  async consume(topic: string, consumer: string, handler: MessageHandler, options: ConsumerOptions): Promise<ChannelConsumer> {
    try {
      if (!this.topics.has(topic)) await this.ensureImplicit(topic);
      await this.ensureConsumer(topic, consumer, options);
      const sub = new JetStreamSubscription(this, topic, consumer, handler, options, this.logger);
      await sub.start();
      this.subs.add(sub);
      return sub;
    } catch (e) {
      throw mapNatsError(e, `consuming ${topic} as ${consumer}`);
    }
  }

  /** @internal Queue an ack/nak/working() for the next write. */
  outbox(m: JsMsg, op: number): void {
    if (this.box) this.box.settle(m, op);
  }

  /** @internal Hand everything queued to the client now. */
  flushOutbox(): void {
    this.box?.flush();
  }

  /** @internal */
  forget(sub: JetStreamSubscription): void {
    this.subs.delete(sub);
  }

  private scheduleSweeper(o: TopicOptions): void {
    if (!o.maxInactivityMs) return;
    const every = this.options.sweepIntervalMs ?? Math.min(60_000, Math.max(250, Math.floor(o.maxInactivityMs / 4)));
    if (this.sweeper && this.sweepEveryMs !== undefined && this.sweepEveryMs <= every) return;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweepEveryMs = every;
    this.sweeper = setInterval(() => {
      this.sweep().catch((e) => this.logger.debug({ err: errText(e) }, 'inactivity sweep failed'));
    }, every);
    this.sweeper.unref();
  }

  private sweeping = false;

  /**
   * Remove mesh streams (any process's) that have an inactivity threshold, no consumer
   * and no message (or creation) within it. Consumers are removed by the server
   * (`inactive_threshold`).
   */
  async sweep(now = Date.now()): Promise<string[]> {
    if (this.sweeping || !this.isReady()) return [];
    this.sweeping = true;
    const removed: string[] = [];
    try {
      const jsm = this.manager();
      for await (const info of jsm.streams.list()) {
        if (!info.config.name.startsWith(STREAM_PREFIX)) continue;
        const d = parseDescription(info.config.description);
        if (!d?.maxInactivityMs) continue;
        if (info.state.consumer_count > 0) continue;
        const lastTs = Date.parse(info.state.last_ts);
        const created = Date.parse(info.created);
        const last = Math.max(Number.isFinite(lastTs) ? lastTs : 0, Number.isFinite(created) ? created : 0);
        if (now - last < d.maxInactivityMs) continue;
        try {
          await jsm.streams.delete(info.config.name);
          removed.push(d.topic);
          this.ensuring.delete(d.topic);
          this.logger.info({ stream: info.config.name, topic: d.topic }, 'removed inactive stream');
        } catch (e) {
          this.logger.debug({ err: errText(e), stream: info.config.name }, 'removing inactive stream failed');
        }
      }
    } finally {
      this.sweeping = false;
    }
    return removed;
  }

  /** Diagnostics/tests: whether the stream of a topic exists. */
  async topicExists(topic: string): Promise<boolean> {
    try {
      await this.manager().streams.info(streamNameFor(topic));
      return true;
    } catch (e) {
      if (e instanceof JetStreamApiError && e.code === 10059) return false;
      throw mapNatsError(e, `looking up topic ${topic}`);
    }
  }

  /** Diagnostics/tests: whether a durable consumer exists. */
  async consumerExists(topic: string, consumer: string): Promise<boolean> {
    try {
      await this.manager().consumers.info(streamNameFor(topic), durableNameFor(consumer));
      return true;
    } catch (e) {
      if (e instanceof JetStreamApiError && (e.code === 10014 || e.code === 10059)) return false;
      throw mapNatsError(e, `looking up consumer ${consumer}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.allSettled([...this.subs].map((s) => s.stop(0)));
    const nc = this.nc;
    this.connected = false;
    this.box?.flush();
    this.publisher?.close();
    if (nc && !nc.isClosed()) {
      try {
        await nc.flush();
      } catch {
        // not connected: nothing to flush
      }
      await nc.close();
    }
  }
}
