/**
 * Pub/Sub settings from the channel contract's options (pure): topic retention from
 * maxAge, subscription retention, ack deadline and expiration from maxAge, ackWait and
 * maxInactivity, clamped to what Pub/Sub accepts; which settings of an existing
 * subscription differ; and the connection settings from the environment.
 */
import type { ConsumerOptions, TopicOptions } from '../channel';

/** Pub/Sub's limits (topic retention 10 min–31 days, subscription retention 10 min–7 days, ttl ≥ 1 day, ack deadline 10–600 s). */
export const PUBSUB_LIMITS = {
  minRetentionSeconds: 600,
  maxTopicRetentionSeconds: 31 * 86_400,
  maxSubscriptionRetentionSeconds: 7 * 86_400,
  minExpirationSeconds: 86_400,
  minAckDeadlineSeconds: 10,
  maxAckDeadlineSeconds: 600,
} as const;

export interface Duration {
  readonly seconds: number;
}

export interface TopicSettings {
  /** Lets a new subscription seek back to events published before it existed. */
  readonly messageRetentionDuration: Duration;
}

export interface SubscriptionSettings {
  readonly ackDeadlineSeconds: number;
  readonly messageRetentionDuration: Duration;
  /** `{}` (no ttl) never expires. */
  readonly expirationPolicy: { readonly ttl?: Duration };
  readonly enableMessageOrdering: boolean;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const seconds = (ms: number) => Math.ceil(ms / 1000);

/** Retention when maxAge is unset: the runtime's STREAM_MAX_AGE default (24h). */
export const DEFAULT_RETENTION_SECONDS = 86_400;

/**
 * Topic retention from maxAge (10 min at least, 31 days at most; 24h when unset). Always
 * set: Pub/Sub drops what is published while a topic has no subscription, and retention is
 * what lets a subscription created later still get it (by seeking back).
 */
export function topicSettings(options: TopicOptions): TopicSettings {
  const s = options.maxAgeMs && options.maxAgeMs > 0 ? seconds(options.maxAgeMs) : DEFAULT_RETENTION_SECONDS;
  return { messageRetentionDuration: { seconds: clamp(s, PUBSUB_LIMITS.minRetentionSeconds, PUBSUB_LIMITS.maxTopicRetentionSeconds) } };
}

/**
 * A subscription's settings. The ack deadline is what Pub/Sub waits before redelivering
 * after a crash (the client extends it while a handler works; ackWait itself is kept by
 * the process). Expiration: maxInactivity, at least a day and never below the retention;
 * no maxInactivity means the subscription never expires.
 */
export function subscriptionSettings(topic: TopicOptions, consumer: ConsumerOptions): SubscriptionSettings {
  const retention = clamp(topic.maxAgeMs && topic.maxAgeMs > 0 ? seconds(topic.maxAgeMs) : DEFAULT_RETENTION_SECONDS,
    PUBSUB_LIMITS.minRetentionSeconds, PUBSUB_LIMITS.maxSubscriptionRetentionSeconds);
  const inactivity = topic.maxInactivityMs && topic.maxInactivityMs > 0 ? seconds(topic.maxInactivityMs) : undefined;
  return {
    ackDeadlineSeconds: clamp(seconds(consumer.ackWaitMs), PUBSUB_LIMITS.minAckDeadlineSeconds, PUBSUB_LIMITS.maxAckDeadlineSeconds),
    messageRetentionDuration: { seconds: retention },
    expirationPolicy: inactivity ? { ttl: { seconds: Math.max(inactivity, PUBSUB_LIMITS.minExpirationSeconds, retention) } } : {},
    enableMessageOrdering: consumer.ordered,
  };
}

/** What the Pub/Sub API reports about a subscription (the fields we set). */
/** A protobuf int64 as the client hands it out: number, string or Long. */
type Int64 = number | string | { toString(): string } | null | undefined;

export interface ObservedSubscription {
  readonly ackDeadlineSeconds?: number | null;
  readonly messageRetentionDuration?: { readonly seconds?: Int64 } | null;
  readonly expirationPolicy?: { readonly ttl?: { readonly seconds?: Int64 } | null } | null;
}

/** Update-mask paths of the mutable settings that differ (message ordering is fixed at creation: see the subscription ID). */
export function subscriptionUpdates(observed: ObservedSubscription, desired: SubscriptionSettings): string[] {
  const num = (v: Int64) => (v === null || v === undefined ? 0 : Number(String(v)));
  const out: string[] = [];
  if (num(observed.ackDeadlineSeconds) !== desired.ackDeadlineSeconds) out.push('ack_deadline_seconds');
  if (num(observed.messageRetentionDuration?.seconds) !== desired.messageRetentionDuration.seconds) out.push('message_retention_duration');
  if (num(observed.expirationPolicy?.ttl?.seconds) !== (desired.expirationPolicy.ttl?.seconds ?? 0)) out.push('expiration_policy');
  return out;
}

export interface PubSubConnection {
  /** `--pubsub-project` / PUBSUB_PROJECT; else the client's default (GOOGLE_CLOUD_PROJECT, the credentials' or metadata server's project). */
  readonly projectId?: string;
  /** PUBSUB_EMULATOR_HOST (`host:port`): talk to the emulator, without TLS or credentials. */
  readonly emulatorHost?: string;
}

/** The connection settings from the environment. Credentials are the client's own defaults (GOOGLE_APPLICATION_CREDENTIALS, Workload Identity). */
export function pubsubConnectionFromEnv(env: NodeJS.ProcessEnv): PubSubConnection {
  return {
    ...(env.PUBSUB_PROJECT ? { projectId: env.PUBSUB_PROJECT } : {}),
    ...(env.PUBSUB_EMULATOR_HOST ? { emulatorHost: env.PUBSUB_EMULATOR_HOST } : {}),
  };
}

/** A Google Cloud project ID: 6–30 lower-case letters, digits and hyphens, starting with a letter, not ending with a hyphen. */
export function isGcpProjectId(id: string): boolean {
  return /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(id);
}
