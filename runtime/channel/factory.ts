/**
 * Build a channel from the runtime configuration (flags / environment variables of
 * docs/architecture.md):
 *
 *   const config = channelConfigFromEnv(process.env);      // EVENT_MESH_CHANNEL, NATS_URL, …
 *   const channel = createChannel(config, { logger });
 *   await channel.connect();
 *   await channel.ensureTopic(topic, topicOptionsFor(config));
 */
import { CHANNEL_KINDS, ChannelKind, parseGoDuration } from '../../constructs/api';
import type { Channel, ChannelLogger, TopicOptions } from './channel';
import { InMemoryChannel } from './in-memory';
import { JetStreamChannel } from './jetstream';
import { KafkaChannel, KafkaChannelOptions } from './kafka';

export interface ChannelConfig {
  /** `--channel` / EVENT_MESH_CHANNEL. @default "nats" */
  readonly kind: ChannelKind;
  /** `--nats-url` / NATS_URL (comma-separated for several). @default "nats://127.0.0.1:4222" */
  readonly natsUrl?: string;
  /** Kafka connection (`--kafka-*` / KAFKA_*). Required when kind is "kafka". */
  readonly kafka?: KafkaChannelOptions;
  /** `--stream-max-age` / STREAM_MAX_AGE (Go duration). @default 24h */
  readonly streamMaxAgeMs?: number;
  /** `--channel-max-inactivity` / CHANNEL_MAX_INACTIVITY (Go duration). @default 48h */
  readonly maxInactivityMs?: number;
  /** `--stream-replicas` / STREAM_REPLICAS. @default 1 */
  readonly replicas?: number;
}

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_STREAM_MAX_AGE_MS = 24 * 3_600_000;
export const DEFAULT_MAX_INACTIVITY_MS = 48 * 3_600_000;

/** A configuration value is wrong; the message names the variable and the fix. */
export class ChannelConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelConfigError';
  }
}

function duration(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const ms = parseGoDuration(value);
  if (ms === undefined || ms <= 0) throw new ChannelConfigError(`${name} must be a duration such as "24h", "90m" or "30s", got ${JSON.stringify(value)}`);
  return ms;
}

function bool(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new ChannelConfigError(`${name} must be true or false, got ${JSON.stringify(value)}`);
}

/**
 * Read the channel configuration from environment variables (the CLI maps its flags onto
 * the same names). `fallbackKind` is the default channel (`inmemory` in dev mode).
 */
export function channelConfigFromEnv(env: NodeJS.ProcessEnv = process.env, fallbackKind: ChannelKind = 'nats'): ChannelConfig {
  const kind = (env.EVENT_MESH_CHANNEL || fallbackKind) as ChannelKind;
  if (!CHANNEL_KINDS.includes(kind)) {
    throw new ChannelConfigError(`EVENT_MESH_CHANNEL must be one of ${CHANNEL_KINDS.join(', ')}, got ${JSON.stringify(env.EVENT_MESH_CHANNEL)}`);
  }
  let replicas = 1;
  if (env.STREAM_REPLICAS) {
    replicas = Number(env.STREAM_REPLICAS);
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
      throw new ChannelConfigError(`STREAM_REPLICAS must be a whole number from 1 to 5, got ${JSON.stringify(env.STREAM_REPLICAS)}`);
    }
  }
  let kafka: KafkaChannelOptions | undefined;
  if (kind === 'kafka') {
    const brokers = (env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
    if (brokers.length === 0) throw new ChannelConfigError('KAFKA_BROKERS is required for the kafka channel: set it to host:port[,host:port…] (the brokers key of the knative-kafka Secret)');
    kafka = {
      brokers,
      username: env.KAFKA_USERNAME || '$ConnectionString',
      password: env.KAFKA_PASSWORD,
      tls: bool('KAFKA_TLS', env.KAFKA_TLS, true),
    };
  }
  return {
    kind,
    natsUrl: env.NATS_URL || DEFAULT_NATS_URL,
    kafka,
    streamMaxAgeMs: duration('STREAM_MAX_AGE', env.STREAM_MAX_AGE, DEFAULT_STREAM_MAX_AGE_MS),
    maxInactivityMs: duration('CHANNEL_MAX_INACTIVITY', env.CHANNEL_MAX_INACTIVITY, DEFAULT_MAX_INACTIVITY_MS),
    replicas,
  };
}

/** The TopicOptions every component passes to ensureTopic for this configuration. */
export function topicOptionsFor(config: ChannelConfig): TopicOptions {
  return {
    maxAgeMs: config.streamMaxAgeMs ?? DEFAULT_STREAM_MAX_AGE_MS,
    maxInactivityMs: config.maxInactivityMs ?? DEFAULT_MAX_INACTIVITY_MS,
    replicas: config.replicas ?? 1,
  };
}

/** Create (not connect) the channel the configuration names. */
export function createChannel(config: ChannelConfig, deps: { logger?: ChannelLogger; name?: string } = {}): Channel {
  const defaults = topicOptionsFor(config);
  switch (config.kind) {
    case 'inmemory':
      return new InMemoryChannel({ defaults });
    case 'nats':
      return new JetStreamChannel({ servers: config.natsUrl ?? DEFAULT_NATS_URL, defaults, logger: deps.logger, name: deps.name });
    case 'kafka':
      if (!config.kafka) throw new ChannelConfigError('the kafka channel needs KAFKA_BROKERS (and KAFKA_PASSWORD for SASL)');
      return new KafkaChannel({ ...config.kafka, defaults, logger: deps.logger, clientId: config.kafka.clientId ?? deps.name });
    default:
      throw new ChannelConfigError(`unknown channel kind ${JSON.stringify(config.kind)}: use ${CHANNEL_KINDS.join(', ')}`);
  }
}
