/**
 * Kafka channel (kafkajs), aimed at Azure Event Hubs' Kafka endpoint: SASL PLAIN over TLS
 * with username `$ConnectionString` and the connection string as password.
 *
 * - One Kafka topic per channel topic (`kafkaTopicFor`), one partition by default so that
 *   ordered consumers see topic order; retention from TopicOptions.maxAgeMs.
 * - One consumer group per consumer name. Kafka has no per-message ack, so ack/nak/
 *   ackWait are implemented in the process: a nacked or timed-out event is handed to the
 *   handler again (deliveryCount counts up), and the group's offset is committed only up
 *   to the first event not yet acked (at-least-once, in order). After a crash or
 *   rebalance uncommitted events are consumed again with deliveryCount 1.
 * - Publishes are micro-batched per tick (one produce request for many events, acks=all).
 * - Not supported: maxInactivity (topics are kept; use the hub's retention) and maxBytes.
 */
import { Admin, CompressionTypes, Consumer, EachBatchPayload, Kafka, KafkaMessage, logLevel, Producer, SASLOptions } from 'kafkajs';
import type { ChannelKind } from '../../constructs/api';
import {
  awaitConnection,
  Channel,
  ChannelConsumer,
  ChannelFullError,
  ChannelLogger,
  ChannelMessage,
  ChannelUnavailableError,
  ConsumerOptions,
  MessageHandler,
  noopLogger,
  runTracked,
  TopicOptions,
} from './channel';

export interface KafkaChannelOptions {
  /** `host:port` of the bootstrap brokers (Event Hubs: `<namespace>.servicebus.windows.net:9093`). */
  readonly brokers: string[];
  /** SASL PLAIN username. @default "$ConnectionString" (Azure Event Hubs) */
  readonly username?: string;
  /** SASL PLAIN password (Event Hubs: the connection string). No SASL when absent. Never logged. */
  readonly password?: string;
  /** TLS to the brokers. @default true */
  readonly tls?: boolean;
  readonly clientId?: string;
  /** Partitions of topics this channel creates. @default 1 (keeps topic order) */
  readonly partitions?: number;
  /** Options for topics created implicitly. */
  readonly defaults?: TopicOptions;
  readonly logger?: ChannelLogger;
  /** @default 10000 */
  readonly connectTimeoutMs?: number;
}

/** Kafka/Event Hubs topic for a channel topic: [a-z0-9.-] kept, anything else `_XHH`. */
export function kafkaTopicFor(topic: string): string {
  let out = '';
  for (const ch of topic) {
    if (/[a-z0-9.-]/.test(ch)) out += ch;
    else out += `_X${Buffer.from(ch, 'utf8').toString('hex').toUpperCase()}`;
  }
  return out.slice(0, 249);
}

/** Consumer group of a consumer name. */
export function kafkaGroupFor(consumer: string): string {
  return `event-mesh.${kafkaTopicFor(consumer)}`;
}

/** Read the Kafka options from KAFKA_* variables. */
export function kafkaConfigFromEnv(env: NodeJS.ProcessEnv): KafkaChannelOptions {
  return {
    brokers: (env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean),
    username: env.KAFKA_USERNAME || '$ConnectionString',
    password: env.KAFKA_PASSWORD,
    tls: !/^(false|0|no)$/i.test(env.KAFKA_TLS ?? 'true'),
  };
}

const STORAGE_ERRORS = new Set(['KAFKA_STORAGE_ERROR', 'RECORD_LIST_TOO_LARGE', 'POLICY_VIOLATION', 'THROTTLING_QUOTA_EXCEEDED']);

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Map kafkajs errors to the channel contract's errors. */
export function mapKafkaError(e: unknown, what: string): Error {
  if (e instanceof ChannelUnavailableError || e instanceof ChannelFullError) return e;
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur instanceof Error; i++) {
    const type = (cur as { type?: string }).type;
    if (type && STORAGE_ERRORS.has(type)) return new ChannelFullError(`${what}: Kafka refused the event (${type}: ${cur.message})`);
    cur = (cur as { cause?: unknown; originalError?: unknown }).cause ?? (cur as { originalError?: unknown }).originalError;
  }
  return new ChannelUnavailableError(`${what}: Kafka is unavailable (${errText(e)})`, 2);
}

interface Queued {
  value: Buffer;
  resolve: () => void;
  reject: (e: Error) => void;
}

class KafkaSubscription implements ChannelConsumer {
  private stopped = false;
  private readonly running = new Set<Promise<void>>();
  private stopWaiters: Array<() => void> = [];

  constructor(
    private readonly consumer: Consumer,
    private readonly handler: MessageHandler,
    private readonly options: ConsumerOptions,
    private readonly logger: ChannelLogger,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Process one fetched batch: deliver with the in-flight bound, commit in order. */
  async eachBatch(p: EachBatchPayload): Promise<void> {
    const max = this.options.ordered ? 1 : Math.max(1, this.options.maxInFlight);
    const msgs = p.batch.messages;
    const done = new Array<boolean>(msgs.length).fill(false);
    let committed = 0; // index of the first message not yet resolved
    let inFlight = 0;
    let wake: (() => void) | undefined;
    const signal = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const advance = () => {
      while (committed < msgs.length && done[committed]) {
        p.resolveOffset(msgs[committed].offset);
        committed++;
      }
    };
    const deliver = (i: number, count: number) => {
      inFlight++;
      this.deliverOne(msgs[i], count, (acked, redeliverAfterMs) => {
        inFlight--;
        if (acked) {
          done[i] = true;
          advance();
          signal();
        } else {
          // nak or ackWait: deliver again in-process (keeps its in-flight slot while waiting)
          inFlight++;
          const t = setTimeout(() => {
            inFlight--;
            if (this.stopped || !p.isRunning() || p.isStale()) {
              signal();
              return;
            }
            deliver(i, count + 1);
          }, redeliverAfterMs);
          t.unref?.();
        }
      });
    };
    let next = 0;
    const heartbeat = setInterval(() => {
      p.heartbeat().catch(() => undefined);
    }, 3000);
    try {
      while (!this.stopped && p.isRunning() && !p.isStale()) {
        while (next < msgs.length && inFlight < max && !this.stopped) deliver(next++, 1);
        if (committed >= msgs.length) break;
        await new Promise<void>((r) => {
          wake = r;
          const t = setTimeout(r, 500);
          t.unref?.();
        });
      }
    } finally {
      clearInterval(heartbeat);
    }
    try {
      await p.commitOffsetsIfNecessary();
    } catch (e) {
      this.logger.warn({ err: errText(e) }, 'committing Kafka offsets failed; events may be consumed again');
    }
  }

  private deliverOne(m: KafkaMessage, count: number, settle: (acked: boolean, redeliverAfterMs: number) => void): void {
    let settled = false;
    const finish = (acked: boolean, delay: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      settle(acked, delay);
    };
    let timer = setTimeout(() => finish(false, 0), Math.max(1, this.options.ackWaitMs));
    timer.unref?.();
    const message: ChannelMessage = {
      data: m.value ?? Buffer.alloc(0),
      deliveryCount: count,
      ack: async () => finish(true, 0),
      nak: (delayMs?: number) => finish(false, Math.max(0, delayMs ?? 0)),
      working: () => {
        if (!settled) timer.refresh();
      },
    };
    void runTracked(this.handler, message, this.running).then(() => {
      if (this.stopped && this.running.size === 0) for (const w of this.stopWaiters.splice(0)) w();
    });
  }

  async stop(graceMs = 0): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.running.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((r) => this.stopWaiters.push(r)),
        new Promise<void>((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    // Offsets not committed are consumed again by the next member of the group.
    try {
      await this.consumer.disconnect();
    } catch (e) {
      this.logger.debug({ err: errText(e) }, 'Kafka consumer disconnect failed');
    }
  }
}

/** Kafka implementation of the Channel contract. */
export class KafkaChannel implements Channel {
  readonly kind: ChannelKind = 'kafka';
  private readonly kafka: Kafka;
  private producer?: Producer;
  private admin?: Admin;
  private connected = false;
  private closed = false;
  private connecting?: Promise<void>;
  private readonly known = new Set<string>();
  private readonly subs = new Set<KafkaSubscription>();
  private readonly queue = new Map<string, Queued[]>();
  private flushScheduled = false;
  private readonly logger: ChannelLogger;

  constructor(private readonly options: KafkaChannelOptions) {
    this.logger = options.logger ?? noopLogger;
    if (!options.brokers.length) throw new Error('KafkaChannel needs at least one broker (KAFKA_BROKERS)');
    const sasl: SASLOptions | undefined = options.password
      ? { mechanism: 'plain', username: options.username ?? '$ConnectionString', password: options.password }
      : undefined;
    const log = this.logger;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'event-mesh',
      brokers: options.brokers,
      ssl: options.tls ?? true,
      sasl,
      connectionTimeout: 10_000,
      requestTimeout: 30_000,
      retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 },
      logLevel: logLevel.WARN,
      // kafkajs log entries never contain the SASL password.
      logCreator: () => ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        if (level <= logLevel.ERROR) log.error(rest, `kafka: ${message}`);
        else log.warn(rest, `kafka: ${message}`);
      },
    });
  }

  async connect(): Promise<void> {
    if (this.closed) throw new ChannelUnavailableError('the Kafka channel was closed');
    if (this.connected) return;
    if (!this.connecting) {
      this.connecting = this.connectLoop();
    }
    await awaitConnection(this.connecting, this.options.connectTimeoutMs ?? 10_000, () => `Kafka brokers ${this.options.brokers.join(',')} are not reachable yet (still trying)`);
  }

  private attemptClients: Array<{ disconnect(): Promise<void> }> = [];
  private wakeLoop?: () => void;

  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      // Few client-side retries: a failing publish should reach the HTTP client as a quick
      // 503 (it retries), and connecting is retried by this loop.
      const retry = { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 };
      const producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 5, retry });
      const admin = this.kafka.admin({ retry });
      this.attemptClients = [producer, admin];
      try {
        producer.on(producer.events.DISCONNECT, () => {
          this.connected = false;
          if (!this.closed) this.logger.warn({}, 'Kafka producer disconnected');
        });
        producer.on(producer.events.CONNECT, () => {
          if (!this.closed) this.connected = true;
        });
        await producer.connect();
        await admin.connect();
        if (this.closed) break;
        this.producer = producer;
        this.admin = admin;
        this.connected = true;
        this.logger.info({ brokers: this.options.brokers }, 'connected to Kafka');
        return;
      } catch (e) {
        await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
        if (this.closed) break;
        this.logger.warn({ err: errText(e), attempt }, 'connecting to Kafka failed; retrying');
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(attempt, 5)));
          this.wakeLoop = () => {
            clearTimeout(t);
            r();
          };
        });
      } finally {
        this.attemptClients = [];
      }
    }
  }

  isReady(): boolean {
    return this.connected && !this.closed;
  }

  async ensureTopic(topic: string, options: TopicOptions = {}): Promise<void> {
    const admin = this.admin;
    if (!admin || !this.isReady()) throw new ChannelUnavailableError('not connected to Kafka', 2);
    const o = { ...this.options.defaults, ...options };
    const configEntries = o.maxAgeMs ? [{ name: 'retention.ms', value: String(o.maxAgeMs) }] : [];
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: kafkaTopicFor(topic),
            numPartitions: this.options.partitions ?? 1,
            replicationFactor: o.replicas && o.replicas > 1 ? o.replicas : -1,
            configEntries,
          },
        ],
      });
      this.known.add(topic);
    } catch (e) {
      const type = (e as { type?: string }).type;
      if (type === 'TOPIC_ALREADY_EXISTS') {
        this.known.add(topic);
        return;
      }
      throw mapKafkaError(e, `creating Kafka topic ${kafkaTopicFor(topic)}`);
    }
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    if (!this.isReady() || !this.producer) throw new ChannelUnavailableError(this.closed ? 'the Kafka channel was closed' : 'not connected to Kafka', 2);
    if (!this.known.has(topic)) await this.ensureTopic(topic);
    const value = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return new Promise<void>((resolve, reject) => {
      let q = this.queue.get(topic);
      if (!q) {
        q = [];
        this.queue.set(topic, q);
      }
      q.push({ value, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batches = [...this.queue.entries()];
    this.queue.clear();
    const producer = this.producer;
    const all = batches.flatMap(([, q]) => q);
    if (!producer) {
      for (const q of all) q.reject(new ChannelUnavailableError('not connected to Kafka', 2));
      return;
    }
    try {
      await producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: batches.map(([topic, q]) => ({ topic: kafkaTopicFor(topic), messages: q.map((x) => ({ value: x.value })) })),
      });
      for (const q of all) q.resolve();
    } catch (e) {
      const err = mapKafkaError(e, 'publishing to Kafka');
      for (const q of all) q.reject(err);
    }
  }

  async consume(topic: string, consumer: string, handler: MessageHandler, options: ConsumerOptions): Promise<ChannelConsumer> {
    if (!this.isReady()) throw new ChannelUnavailableError('not connected to Kafka', 2);
    if (!this.known.has(topic)) await this.ensureTopic(topic);
    const c = this.kafka.consumer({
      groupId: kafkaGroupFor(consumer),
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      maxWaitTimeInMs: 250,
    });
    const sub = new KafkaSubscription(c, handler, options, this.logger);
    try {
      await c.connect();
      await c.subscribe({ topic: kafkaTopicFor(topic), fromBeginning: options.deliverPolicy !== 'new' });
      await c.run({
        autoCommit: true,
        autoCommitInterval: 1000,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (p) => sub.eachBatch(p),
      });
    } catch (e) {
      await c.disconnect().catch(() => undefined);
      throw mapKafkaError(e, `consuming ${topic} as ${consumer}`);
    }
    this.subs.add(sub);
    return {
      stop: async (graceMs?: number) => {
        this.subs.delete(sub);
        await sub.stop(graceMs);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    this.wakeLoop?.();
    await Promise.allSettled(this.attemptClients.map((c) => c.disconnect()));
    await Promise.allSettled([...this.subs].map((s) => s.stop(0)));
    this.subs.clear();
    await Promise.allSettled([this.producer?.disconnect(), this.admin?.disconnect()]);
  }
}
