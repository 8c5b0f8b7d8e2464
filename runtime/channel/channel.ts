/**
 * The channel contract every implementation (in-memory, NATS JetStream, Kafka) fulfils.
 * A channel moves opaque bytes (the CloudEvents JSON format of one event) on topics
 * named by `constructs/api/wiring.ts`; encoding and routing live elsewhere.
 */
import type { ChannelKind } from '../../constructs/api';

/** Minimal logger shape (pino's Logger fits). */
export interface ChannelLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** A logger that drops everything (the default of every channel). */
export const noopLogger: ChannelLogger = { info() {}, warn() {}, error() {}, debug() {} };

export interface TopicOptions {
  /** How long an event is kept, acknowledged or not. */
  readonly maxAgeMs?: number;
  /** Remove the topic's backing resources after this long without traffic. */
  readonly maxInactivityMs?: number;
  /** Copies of each event (JetStream stream replicas, Kafka replication). */
  readonly replicas?: number;
  /**
   * Storage limit of the topic in bytes; when reached, publish rejects with
   * ChannelFullError (new events are refused, stored ones are kept). Unlimited by default
   * (the server's storage is the limit).
   */
  readonly maxBytes?: number;
}

/**
 * An event's context attributes by name (the CloudEvents JSON object itself will do;
 * `data` / `data_base64` are never attributes). Values are read with `attributeString`.
 */
export type EventAttributes = Readonly<Record<string, unknown>>;

/**
 * The string value of a context attribute, or undefined when the event does not carry it.
 * Numbers and booleans (extension values in the JSON format) read as their canonical string
 * form. The one rule Trigger filters and channel prefilters share.
 */
export function attributeString(event: EventAttributes, name: string): string | undefined {
  if (name === 'data' || name === 'data_base64') return undefined;
  if (!Object.prototype.hasOwnProperty.call(event, name)) return undefined;
  const value = event[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export interface ConsumerOptions {
  /** At most this many messages handed to the handler and not yet acked/nacked. */
  readonly maxInFlight: number;
  /** Deliver one message at a time in topic order (implies maxInFlight 1). */
  readonly ordered: boolean;
  /** Redeliver a message that was neither acked nor nacked within this time. */
  readonly ackWaitMs: number;
  /**
   * Where a consumer that does not exist yet starts: `all` (default) delivers every event
   * still stored on the topic, `new` only events published after it was created. Ignored
   * when the durable consumer already exists (it resumes where it left off).
   */
  readonly deliverPolicy?: 'all' | 'new';
  /**
   * A consumer that does not exist yet starts right after this topic sequence (overrides
   * `deliverPolicy`): how a broker's fan-out stage takes over from per-Trigger consumers
   * without skipping what they had not acknowledged. Channels without sequences ignore it.
   */
  readonly startAfter?: number;
  /**
   * Hand one message to the handler at most this many times, whatever happens (JetStream
   * `max_deliver`); past it the channel stops redelivering it. A backstop: the dispatcher
   * dead-letters or drops a message itself before. Channels without such a setting ignore
   * it. @default unlimited
   */
  readonly maxDeliveries?: number;
  /**
   * A hint for filtering on the server: `attribute -> value` terms every event the handler
   * wants satisfies (a Trigger's `CompiledFilter.requiredExact`). A channel may then skip
   * events published with attributes that fail a term; it may deliver more than asked (the
   * handler filters again), never less of what was published with attributes. Events
   * published without attributes may not reach a consumer with a prefilter. A channel
   * that cannot filter ignores it (in-memory, Kafka); JetStream turns the terms on `type`,
   * `source` and `eventtypeversion` into a consumer filter subject. docs/runtime-dispatcher.md
   * says what each channel does.
   */
  readonly prefilter?: Readonly<Record<string, string>>;
}

/** One delivery of one stored event. The handler must call ack() or nak() exactly once. */
export interface ChannelMessage {
  readonly data: Uint8Array;
  /** 1 on the first delivery, higher on redeliveries (after a crash or nak). */
  readonly deliveryCount: number;
  /** The event's position in its topic (JetStream stream sequence), where the channel has one. */
  readonly sequence?: number;
  /** The event is done with: delivered, dead-lettered or deliberately dropped. */
  ack(): Promise<void>;
  /** Give the event back for redelivery, after `delayMs` if given. */
  nak(delayMs?: number): void;
  /** Still working on it: push the redelivery deadline out by another ackWait. */
  working(): void;
}

export type MessageHandler = (message: ChannelMessage) => Promise<void>;

export interface ChannelConsumer {
  /** Stop fetching; wait up to `graceMs` for in-flight handlers, then release the rest. */
  stop(graceMs?: number): Promise<void>;
}

export interface Channel {
  readonly kind: ChannelKind;
  connect(): Promise<void>;
  /** True while publishes can succeed (drives the adapter's /readyz). */
  isReady(): boolean;
  ensureTopic(topic: string, options?: TopicOptions): Promise<void>;
  /**
   * Resolves only once the event is durably stored (for JetStream: the publish ack).
   * Rejects with ChannelUnavailableError or ChannelFullError. `attributes`: the event's
   * context attributes (they must be the event's own), so channels that filter on the
   * server can route it to consumers with a matching `prefilter`; ignored by the others.
   */
  publish(topic: string, data: Uint8Array, attributes?: EventAttributes): Promise<void>;
  consume(topic: string, consumer: string, handler: MessageHandler, options: ConsumerOptions): Promise<ChannelConsumer>;
  /**
   * Remove a durable consumer and its position (its Trigger or Subscription was deleted);
   * a consumer that does not exist is not an error. Optional: a channel without it keeps
   * the durable until its inactivity limit.
   */
  deleteConsumer?(topic: string, consumer: string): Promise<void>;
  /**
   * How far a durable consumer is done: the highest topic sequence up to which every event
   * it was to get is acknowledged, or undefined when it does not exist. Optional: channels
   * whose consumers do not outlive the process have nothing to report.
   */
  consumerSettledUpTo?(topic: string, consumer: string): Promise<number | undefined>;
  close(): Promise<void>;
}

/** The channel cannot take events now (not connected, timed out): answer 503 with Retry-After. */
export class ChannelUnavailableError extends Error {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.name = 'ChannelUnavailableError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * Wait for a channel's connection attempt, but at most `timeoutMs`: then reject with
 * ChannelUnavailableError(`message()`, Retry-After 2 s) while the attempt goes on in the
 * background, so a caller can answer 503 instead of hanging.
 */
export async function awaitConnection(connecting: Promise<unknown>, timeoutMs: number, message: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ChannelUnavailableError(message(), 2)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The channel's storage is full: answer 507. */
export class ChannelFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelFullError';
  }
}

/**
 * Run `handler` on one message and keep its settlement in `running` until it finishes, so
 * `stop(grace)` can wait for in-flight handlers. A handler that throws or rejects without
 * settling the message leaves it to redelivery after ackWait, as JetStream does.
 */
export function runTracked(handler: MessageHandler, message: ChannelMessage, running: Set<Promise<void>>): Promise<void> {
  let run: Promise<void>;
  try {
    run = Promise.resolve(handler(message));
  } catch (err) {
    run = Promise.reject(err);
  }
  const tracked = run.then(
    () => undefined,
    () => undefined,
  );
  running.add(tracked);
  return tracked.then(() => {
    running.delete(tracked);
  });
}
