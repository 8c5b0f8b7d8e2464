/**
 * Google Cloud Pub/Sub channel (I/O: `@google-cloud/pubsub`).
 *
 * - One Pub/Sub topic per channel topic and one subscription per (topic, consumer)
 *   (names.ts), both created on demand: topic retention from maxAge, so a new
 *   subscription with deliverPolicy `all` seeks back to events published before it
 *   existed; subscription retention, ack deadline and expiration (maxInactivity, at
 *   least a day) from config.ts. Settings that changed are updated in place.
 * - Events travel in the CloudEvents Pub/Sub binding's binary mode (binding.ts).
 * - Every event carries one ordering key, so ordered consumers (a subscription with
 *   message ordering) see topic order.
 * - Readiness: a cheap probe (GetTopic) every second; an answer of any kind means
 *   Pub/Sub is reachable. While it is not, publish fails at once with
 *   ChannelUnavailableError (the adapter answers 503 with Retry-After).
 * - Credentials are the client's defaults: GOOGLE_APPLICATION_CREDENTIALS, GKE Workload
 *   Identity (metadata server), or none with PUBSUB_EMULATOR_HOST.
 * - Not supported: maxBytes (Pub/Sub has no storage limit) and replicas (Pub/Sub
 *   replicates on its own). Topics do not expire; subscriptions do.
 */
import { Duration, PubSub, SubscriptionCloseBehaviors, type Subscription, type Topic } from '@google-cloud/pubsub';
import type { ChannelKind } from '../../../constructs/api';
import { awaitConnection, Channel, ChannelConsumer, ChannelUnavailableError, ConsumerOptions, MessageHandler, TopicOptions } from '../channel';
import type { ChannelLogger } from '../channel';
import { toPubSubMessage } from './binding';
import { PubSubConnection, subscriptionSettings, SubscriptionSettings, subscriptionUpdates, topicSettings } from './config';
import { errText, grpcCode, GrpcCode, isAlreadyExists, isNotFound, isUnreachable, mapPubSubError } from './errors';
import { ORDERING_KEY, PUBSUB_NAME_PREFIX, pubsubSubscriptionId, pubsubTopicId } from './names';
import { PubSubSubscription } from './subscription';

export * from './binding';
export * from './config';
export * from './errors';
export * from './names';
export { PubSubSubscription } from './subscription';

export interface PubSubChannelOptions extends PubSubConnection {
  /** Options for topics created implicitly. */
  readonly defaults?: TopicOptions;
  readonly logger?: ChannelLogger;
  /** How long connect() waits for Pub/Sub before failing (it keeps trying). @default 10000 */
  readonly connectTimeoutMs?: number;
  /** How often readiness is probed. @default 1000 */
  readonly probeIntervalMs?: number;
  /** Longest a publish may take, retries included, before it fails with ChannelUnavailableError. @default 10000 */
  readonly publishTimeoutMs?: number;
}

const noopLogger: ChannelLogger = { info() {}, warn() {}, error() {}, debug() {} };
/** Never a topic of ours (escaped names hold no `~` right after the prefix). */
const PROBE_TOPIC = `${PUBSUB_NAME_PREFIX}~probe`;

/** Pub/Sub implementation of the Channel contract. */
export class PubSubChannel implements Channel {
  readonly kind: ChannelKind = 'pubsub';
  private client?: PubSub;
  private ready = false;
  private closed = false;
  private probeTimer?: NodeJS.Timeout;
  private probing?: Promise<boolean>;
  private readonly topics = new Map<string, Promise<Topic>>();
  private readonly subs = new Set<PubSubSubscription>();
  private readonly logger: ChannelLogger;
  private readyWaiters: Array<() => void> = [];

  constructor(private readonly options: PubSubChannelOptions = {}) {
    this.logger = options.logger ?? noopLogger;
  }

  private pubsub(): PubSub {
    if (!this.client) {
      const emulator = this.options.emulatorHost;
      this.client = new PubSub({
        ...(this.options.projectId ? { projectId: this.options.projectId } : {}),
        ...(emulator ? { apiEndpoint: emulator, emulatorMode: true } : {}),
        // Reconnect soon after an outage (gRPC's default backoff grows to two minutes).
        'grpc.initial_reconnect_backoff_ms': 250,
        'grpc.max_reconnect_backoff_ms': 2000,
        'grpc.keepalive_time_ms': 15_000,
        'grpc.keepalive_timeout_ms': 5000,
      } as ConstructorParameters<typeof PubSub>[0]);
    }
    return this.client;
  }

  async connect(): Promise<void> {
    if (this.closed) throw new ChannelUnavailableError('the Pub/Sub channel was closed');
    this.pubsub();
    if (!this.probeTimer && !this.probing) this.scheduleProbe(0);
    if (this.ready) return;
    await awaitConnection(new Promise<void>((resolve) => this.readyWaiters.push(resolve)), this.options.connectTimeoutMs ?? 10_000, () => `Pub/Sub${this.options.emulatorHost ? ` (emulator ${this.options.emulatorHost})` : ''} is not reachable yet (still trying)`);
  }

  private scheduleProbe(delayMs: number): void {
    if (this.closed) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      this.probing = this.probe().finally(() => {
        this.probing = undefined;
        this.scheduleProbe(this.options.probeIntervalMs ?? 1000);
      });
    }, delayMs);
    this.probeTimer.unref?.();
  }

  /** One GetTopic with a short deadline and no retries: any answer proves Pub/Sub is there. */
  private async probe(): Promise<boolean> {
    let reachable: boolean;
    try {
      await this.pubsub().topic(PROBE_TOPIC).getMetadata({ timeout: 2000, maxRetries: 0 });
      reachable = true;
    } catch (e) {
      reachable = !isUnreachable(e);
      if (!reachable) this.logger.debug({ err: errText(e) }, 'Pub/Sub probe failed');
    }
    if (this.closed) return false;
    if (reachable !== this.ready) {
      this.ready = reachable;
      if (reachable) this.logger.info({ emulator: this.options.emulatorHost }, 'Pub/Sub reachable');
      else this.logger.warn({}, 'Pub/Sub unreachable');
    }
    if (reachable) for (const w of this.readyWaiters.splice(0)) w();
    return reachable;
  }

  private markUnreachable(e: unknown): void {
    if (this.ready && isUnreachable(e)) {
      this.ready = false;
      this.logger.warn({ err: errText(e) }, 'Pub/Sub unreachable');
    }
  }

  isReady(): boolean {
    return this.ready && !this.closed;
  }

  private requireReady(): void {
    if (this.closed) throw new ChannelUnavailableError('the Pub/Sub channel was closed', 2);
    if (!this.ready) throw new ChannelUnavailableError('Pub/Sub is not reachable', 2);
  }

  private topicOptions(options: TopicOptions = {}): TopicOptions {
    return { ...this.options.defaults, ...options };
  }

  async ensureTopic(topic: string, options: TopicOptions = {}): Promise<void> {
    this.requireReady();
    const p = this.provisionTopic(topic, this.topicOptions(options));
    this.topics.set(topic, p);
    p.catch(() => {
      if (this.topics.get(topic) === p) this.topics.delete(topic);
    });
    await p;
  }

  /** The client topic, created (or its retention updated) when needed; cached per channel topic. */
  private topicFor(topic: string): Promise<Topic> {
    let p = this.topics.get(topic);
    if (!p) {
      p = this.provisionTopic(topic, this.topicOptions());
      this.topics.set(topic, p);
      const q = p;
      p.catch(() => {
        if (this.topics.get(topic) === q) this.topics.delete(topic);
      });
    }
    return p;
  }

  private async provisionTopic(topic: string, options: TopicOptions): Promise<Topic> {
    const id = pubsubTopicId(topic);
    const timeoutMs = this.options.publishTimeoutMs ?? 10_000;
    const t = this.pubsub().topic(id, {
      messageOrdering: true,
      batching: { maxMessages: 500, maxMilliseconds: 5 },
      gaxOpts: { timeout: timeoutMs, retry: { retryCodes: [GrpcCode.UNAVAILABLE, GrpcCode.DEADLINE_EXCEEDED, GrpcCode.ABORTED, GrpcCode.INTERNAL], backoffSettings: { initialRetryDelayMillis: 100, retryDelayMultiplier: 2, maxRetryDelayMillis: 1000, initialRpcTimeoutMillis: timeoutMs, rpcTimeoutMultiplier: 1, maxRpcTimeoutMillis: timeoutMs, totalTimeoutMillis: timeoutMs } } },
    } as never);
    const desired = topicSettings(options);
    try {
      const [meta] = await t.getMetadata();
      const have = Number(meta.messageRetentionDuration?.seconds ?? 0);
      const want = desired.messageRetentionDuration.seconds;
      if (have !== want) {
        await t.setMetadata({ messageRetentionDuration: desired.messageRetentionDuration }).catch((e) => {
          this.logger.warn({ topic: id, err: errText(e) }, 'could not update the Pub/Sub topic retention; keeping the current one');
        });
      }
    } catch (e) {
      if (!isNotFound(e)) {
        this.markUnreachable(e);
        throw mapPubSubError(e, `looking up Pub/Sub topic ${id}`);
      }
      try {
        await this.pubsub().createTopic({ name: id, ...desired } as never);
        this.logger.info({ topic: id }, 'created Pub/Sub topic');
      } catch (err) {
        if (!isAlreadyExists(err)) {
          this.markUnreachable(err);
          throw mapPubSubError(err, `creating Pub/Sub topic ${id}`);
        }
      }
    }
    return t;
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    this.requireReady();
    const message = toPubSubMessage(data);
    for (let attempt = 0; ; attempt++) {
      const t = await this.topicFor(topic);
      try {
        await t.publishMessage({ data: message.data, attributes: message.attributes, orderingKey: ORDERING_KEY });
        return;
      } catch (e) {
        // A failed publish pauses its ordering key in the client; later events must not wait on it.
        t.resumePublishing(ORDERING_KEY);
        if (isNotFound(e) && attempt === 0) {
          this.topics.delete(topic); // deleted behind our back: create it again, once
          continue;
        }
        this.markUnreachable(e);
        throw mapPubSubError(e, `publishing to Pub/Sub topic ${pubsubTopicId(topic)}`);
      }
    }
  }

  private async provisionSubscription(topic: string, id: string, settings: SubscriptionSettings, deliverAll: boolean): Promise<void> {
    const t = await this.topicFor(topic);
    const sub = this.pubsub().subscription(id);
    try {
      const [meta] = await sub.getMetadata();
      const fields = subscriptionUpdates(meta, settings);
      if (fields.length > 0) {
        const patch: Record<string, unknown> = {};
        if (fields.includes('ack_deadline_seconds')) patch.ackDeadlineSeconds = settings.ackDeadlineSeconds;
        if (fields.includes('message_retention_duration')) patch.messageRetentionDuration = settings.messageRetentionDuration;
        if (fields.includes('expiration_policy')) patch.expirationPolicy = settings.expirationPolicy;
        await sub.setMetadata(patch).catch((e) => {
          this.logger.warn({ subscription: id, fields, err: errText(e) }, 'could not update the Pub/Sub subscription; keeping its settings');
        });
      }
      return;
    } catch (e) {
      if (!isNotFound(e)) {
        this.markUnreachable(e);
        throw mapPubSubError(e, `looking up Pub/Sub subscription ${id}`);
      }
    }
    try {
      await t.createSubscription(id, { ...settings, retainAckedMessages: false } as never);
      this.logger.info({ subscription: id, topic: t.name }, 'created Pub/Sub subscription');
    } catch (e) {
      if (isAlreadyExists(e)) return;
      this.markUnreachable(e);
      throw mapPubSubError(e, `creating Pub/Sub subscription ${id}`);
    }
    // A subscription starts empty; with topic retention it can seek back to what the
    // topic kept, so a new consumer with deliverPolicy "all" gets earlier events too.
    const retention = topicSettings(this.topicOptions()).messageRetentionDuration.seconds;
    if (deliverAll) {
      try {
        await sub.seek(new Date(Date.now() - retention * 1000));
      } catch (e) {
        // The emulator does not implement Seek (it gives a new subscription the topic's retained events itself).
        if (grpcCode(e) === GrpcCode.UNIMPLEMENTED) this.logger.debug({ subscription: id }, 'Pub/Sub Seek is not implemented (emulator)');
        else this.logger.warn({ subscription: id, err: errText(e) }, 'seeking the new Pub/Sub subscription back failed: events published before it existed are not delivered');
      }
    }
  }

  async consume(topic: string, consumer: string, handler: MessageHandler, options: ConsumerOptions): Promise<ChannelConsumer> {
    this.requireReady();
    const id = pubsubSubscriptionId(topic, consumer, options.ordered);
    const settings = subscriptionSettings(this.topicOptions(), options);
    const deliverAll = options.deliverPolicy !== 'new';
    await this.provisionSubscription(topic, id, settings, deliverAll);
    const max = Math.max(1, options.maxInFlight);
    const ackDeadline = Duration.from({ seconds: settings.ackDeadlineSeconds });
    const maxAgeMs = this.topicOptions().maxAgeMs ?? 24 * 3_600_000;
    const sub = new PubSubSubscription(
      {
        open: (): Subscription =>
          this.pubsub().subscription(id, {
            flowControl: { maxMessages: max, allowExcessMessages: false },
            minAckDeadline: ackDeadline,
            maxAckDeadline: ackDeadline,
            // Held messages (nak delays, slow subscribers) keep their lease while events are kept.
            maxExtensionTime: Duration.from({ seconds: Math.max(600, Math.ceil(maxAgeMs / 1000)) }),
            // timeout: how long a new stream waits for the connection (a pending wait also holds the
            // process open after close); the subscription reopens itself after a failure.
            streamingOptions: { maxStreams: 1, timeout: 10_000, retryMaxBackoff: Duration.from({ seconds: 2 }) },
            closeOptions: { behavior: SubscriptionCloseBehaviors.WaitForProcessing, timeout: Duration.from({ seconds: 5 }) },
          }),
        recreate: () => this.provisionSubscription(topic, id, settings, false),
        logger: this.logger,
      },
      handler,
      options,
    );
    sub.start();
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
    this.ready = false;
    clearTimeout(this.probeTimer);
    await Promise.allSettled([...this.subs].map((s) => s.stop(0)));
    this.subs.clear();
    await this.probing?.catch(() => undefined);
    await this.client?.close().catch(() => undefined);
  }
}
