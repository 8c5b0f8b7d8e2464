import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { KAFKA_SECRET_KEYS, KAFKA_SECRET_NAME, parseGoDuration, type KafkaProvider } from './api';
import type { ChannelBackend, ChannelTemplate } from './channel-backend';
import { configError, shown } from './errors';
import { meshLabels } from './mesh-labels';
import { requireDnsLabel, requireInteger } from './prop-checks';

const PROVIDERS: readonly KafkaProvider[] = ['azure', 'confluent', 'local'];

/**
 * Connection values for a Secret rendered into the manifests. Only for throwaway clusters:
 * the password ends up in the YAML (base64 is an encoding, not encryption).
 */
export interface KafkaLiteralSecret {
  /** Bootstrap host, e.g. `my-namespace.servicebus.windows.net`. */
  readonly brokersHostname: string;
  /** Bootstrap port; Event Hubs uses 9093. */
  readonly brokersPort: number;
  /** The Kafka cluster's name (the Event Hubs namespace). */
  readonly namespace: string;
  /** @default "$ConnectionString" (what Event Hubs expects) */
  readonly username?: string;
  /** The password, e.g. the Event Hubs connection string. */
  readonly password: string;
}

export interface KafkaChannelOptions {
  /**
   * The Secret (keys in KAFKA_SECRET_KEYS) holding the connection. By default it must
   * already exist in every namespace whose pods use Kafka (the system namespace and the
   * integration namespace): create it out of band, with Sealed/External Secrets, or with
   * the Pulumi component. Containers read it through secretKeyRef, so no credential is
   * ever rendered.
   * @default "knative-kafka"
   */
  readonly secretName?: string;
  /** Who runs the Kafka cluster. @default "azure" */
  readonly provider?: KafkaProvider;
  /** Use TLS to the brokers. @default true, false for provider "local" */
  readonly tls?: boolean;
  /** Partitions of each topic (ordering holds per partition key). @default 10 */
  readonly numPartitions?: number;
  /** Copies of each partition (Event Hubs ignores it). @default 3, 1 for provider "local" */
  readonly replicationFactor?: number;
  /**
   * Render the Secret from literal values instead of referencing an existing one. The
   * password then appears in the synthesized YAML (base64-encoded, which is no protection):
   * use only for local clusters and demos.
   * @default - reference the existing Secret, render nothing secret
   */
  readonly insecureLiteralSecret?: KafkaLiteralSecret;
}

export interface KafkaChannelProps extends KafkaChannelOptions {
  /** Namespaces whose pods connect to Kafka (where a literal Secret is rendered). */
  readonly namespaces: readonly string[];
  /** How long topics keep events, Go duration syntax (from the mesh's stream policy). @default "24h" */
  readonly retention?: string;
}

/**
 * Kafka (Azure Event Hubs, Confluent Cloud or a local cluster) as a channel implementation:
 * the KafkaChannel template its Channels carry and the KAFKA_* environment of the runtime,
 * every credential through a secretKeyRef to the `knative-kafka` Secret.
 */
export class KafkaChannel extends Construct implements ChannelBackend {
  public readonly kind = 'kafka' as const;
  public readonly channelTemplate: ChannelTemplate;
  public readonly secretName: string;
  public readonly provider: KafkaProvider;
  public readonly tls: boolean;

  constructor(scope: Construct, id: string, props: KafkaChannelProps) {
    super(scope, id);
    this.provider = props.provider ?? 'azure';
    if (!PROVIDERS.includes(this.provider)) {
      throw configError(this, `kafka provider must be one of ${PROVIDERS.join(', ')}, got ${shown(this.provider)}`,
        'set provider to "azure" for Event Hubs, "confluent" for Confluent Cloud or "local"');
    }
    const local = this.provider === 'local';
    this.secretName = requireDnsLabel(this, 'kafka secretName', props.secretName ?? KAFKA_SECRET_NAME);
    this.tls = props.tls ?? !local;
    const retentionMs = parseGoDuration(props.retention ?? '24h');
    this.channelTemplate = {
      apiVersion: 'messaging.knative.dev/v1beta1',
      kind: 'KafkaChannel',
      spec: {
        numPartitions: requireInteger(this, 'kafka numPartitions', props.numPartitions ?? 10, 1),
        replicationFactor: requireInteger(this, 'kafka replicationFactor', props.replicationFactor ?? (local ? 1 : 3), 1),
        ...(retentionMs ? { retentionDuration: `PT${Math.round(retentionMs / 1000)}S` } : {}),
      },
    };

    const literal = props.insecureLiteralSecret;
    if (literal) {
      if (!literal.password) {
        throw configError(this, 'kafka insecureLiteralSecret.password is empty', 'pass the password, or drop insecureLiteralSecret to reference an existing Secret');
      }
      if (typeof literal.brokersHostname !== 'string' || !/^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/.test(literal.brokersHostname)) {
        throw configError(this, `kafka insecureLiteralSecret.brokersHostname must be a host name, got ${shown(literal.brokersHostname)}`,
          'set it to the bootstrap host without scheme or port, e.g. "my-namespace.servicebus.windows.net"');
      }
      requireInteger(this, 'kafka insecureLiteralSecret.brokersPort', literal.brokersPort, 1, 65535);
      const values: Record<string, string> = {
        [KAFKA_SECRET_KEYS.brokers]: `${literal.brokersHostname}:${literal.brokersPort}`,
        [KAFKA_SECRET_KEYS.hostname]: literal.brokersHostname,
        [KAFKA_SECRET_KEYS.port]: String(literal.brokersPort),
        [KAFKA_SECRET_KEYS.namespace]: literal.namespace,
        [KAFKA_SECRET_KEYS.username]: literal.username ?? '$ConnectionString',
        [KAFKA_SECRET_KEYS.password]: literal.password,
        [KAFKA_SECRET_KEYS.provider]: this.provider,
      };
      const data = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
      for (const namespace of [...new Set(props.namespaces)]) {
        new ApiObject(this, `Secret-${namespace}`, {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'Opaque',
          metadata: { name: this.secretName, namespace, labels: meshLabels(this.secretName, 'kafka') },
          data,
        });
      }
    }
  }

  public env(scope: Construct): Record<string, kplus.EnvValue> {
    const secret = kplus.Secret.fromSecretName(scope, 'KafkaSecret', this.secretName);
    const fromSecret = (key: string, optional = false) => kplus.EnvValue.fromSecretValue({ secret, key }, { optional });
    return {
      KAFKA_BROKERS: fromSecret(KAFKA_SECRET_KEYS.brokers),
      // Optional: the runtime falls back to "$ConnectionString", Event Hubs' fixed user name.
      KAFKA_USERNAME: fromSecret(KAFKA_SECRET_KEYS.username, true),
      KAFKA_PASSWORD: fromSecret(KAFKA_SECRET_KEYS.password),
      KAFKA_TLS: kplus.EnvValue.fromValue(String(this.tls)),
    };
  }
}
