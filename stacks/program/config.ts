/**
 * The program's stack configuration (`pulumi config`), read into typed values and checked
 * before any resource is declared. Every problem names the config key and says how to fix
 * it; all problems are reported at once.
 */
import type { EventMeshProps, MeshTriggerOptions } from '../../constructs/event-mesh';
import type { ApplicationOptions } from '../../constructs/application';
import type { NatsJetStreamOptions } from '../../constructs/nats-jetstream';
import type { KafkaChannelOptions } from '../../constructs/kafka-channel';
import type { ChannelKind, MeshAddressing } from '../../constructs/api';
import type { RuntimeImageOptions } from '../../constructs/runtime-image';
import type { LogLevel } from '../../constructs/runtime-settings';
import type { EventHubsKafkaSku } from '../event-hubs-kafka';
import { DEFAULT_GCP_ACCOUNT_ID, gcpServiceAccountEmail } from '../gcp-account';

/** Channels the program deploys to a cluster ("inmemory" is for `event-mesh dev` only). */
export type ProgramChannel = Extract<ChannelKind, 'nats' | 'kafka' | 'pubsub'>;
export const PROGRAM_CHANNELS: readonly ProgramChannel[] = ['nats', 'kafka', 'pubsub'];

/** Google Cloud settings of the Pub/Sub channel (the GcpPubSub component). */
export interface GcpConfig {
  /** The project of the topics and of the GKE cluster's workload pool. */
  readonly project: string;
  /** The Google service account's ID. @default "event-mesh" */
  readonly accountId?: string;
  /** Let the runtime create topics and subscriptions (grants the custom role). @default true */
  readonly createResources?: boolean;
  /** Create the channel and broker topics up front. @default true */
  readonly topics?: boolean;
}

export interface AzureConfig {
  /** Azure region, e.g. "westeurope". Required unless `existingResourceGroup` is set. */
  readonly location?: string;
  /** Use this existing resource group (its location is used when `location` is unset). */
  readonly existingResourceGroup?: string;
  /** Name of the resource group to create. @default auto-named */
  readonly resourceGroupName?: string;
  /** @default "Standard" */
  readonly sku?: EventHubsKafkaSku;
  /** Throughput (Standard) or processing (Premium) units. @default 1 */
  readonly capacity?: number;
  /** Event Hubs namespace name (globally unique). @default auto-named */
  readonly namespaceName?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Create the Event Hubs (topics) up front: one per Kafka application channel and per broker
   * when Kafka is the default channel. `false` leaves topic creation to the runtime.
   * @default { partitionCount: the Kafka channel's numPartitions, retentionInHours: the stream maxAge }
   */
  readonly eventHubs?: false | { readonly partitionCount?: number; readonly retentionInHours?: number };
}

export interface ProgramConfig {
  /** The mesh's default channel. */
  readonly channel: ProgramChannel;
  /** Props of the EventMesh construct / component, from config. */
  readonly mesh: EventMeshProps;
  /** kubeconfig context to deploy to. @default - the current context */
  readonly kubeContext?: string;
  /** Azure settings; set when some channel is Kafka. */
  readonly azure?: AzureConfig;
  /** True when the default channel or some application uses Kafka (Event Hubs are created). */
  readonly usesKafka: boolean;
  /** Google Cloud settings; set when some channel is Pub/Sub. */
  readonly gcp?: GcpConfig;
  /** True when the default channel or some application uses Pub/Sub (the GcpPubSub component is created). */
  readonly usesPubSub: boolean;
}

/** What the program reads config from: `pulumi.Config` satisfies it. */
export interface ConfigSource {
  /** The config namespace (the project name), e.g. "event-mesh". */
  readonly name: string;
  get(key: string): string | undefined;
}

/** A configuration problem: the key (`<project>:<key>[.path]`), what is wrong and the fix. */
export interface ConfigProblem {
  readonly key: string;
  readonly message: string;
  readonly fix: string;
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `invalid stack configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}\n    fix: ${p.fix}`).join('\n'),
    );
    this.name = 'ConfigValidationError';
  }
}

/** Config keys the program reads. Anything else under the project's namespace is reported as a typo. */
export const CONFIG_KEYS = [
  'channel', 'applications', 'namespaces', 'triggers', 'nats', 'kafka', 'addressing', 'image', 'logLevel',
  'dataPlane', 'adapters', 'kubeContext', 'azure', 'gcp',
] as const;

const APPLICATION_KEYS = ['name', 'namespaces', 'channel', 'description', 'labels', 'events', 'adapter', 'auth'];
const TRIGGER_KEYS = ['name', 'namespace', 'broker', 'filter', 'filters', 'subscriber', 'delivery', 'requireBroker', 'labels'];
const NATS_KEYS = ['image', 'replicas', 'persistence', 'resources', 'channel', 'networkPolicy'];
/** The program runs Kafka on Event Hubs: the provider and the Secret are its business. */
const KAFKA_KEYS = ['numPartitions', 'replicationFactor'];
const ADDRESSING_KEYS = ['systemNamespace', 'integrationNamespace', 'clusterDomain'];
const IMAGE_KEYS = ['name', 'tag', 'pullPolicy'];
const AZURE_KEYS = ['location', 'existingResourceGroup', 'resourceGroupName', 'sku', 'capacity', 'namespaceName', 'tags', 'eventHubs'];
const EVENT_HUBS_KEYS = ['partitionCount', 'retentionInHours'];
const GCP_KEYS = ['project', 'accountId', 'createResources', 'topics'];
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

type Json = unknown;

class Reader {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly source: ConfigSource) {}

  key(path: string): string {
    return `${this.source.name}:${path}`;
  }

  problem(path: string, message: string, fix: string): void {
    this.problems.push({ key: this.key(path), message, fix });
  }

  setCmd(path: string, example: string): string {
    return path.includes('.') || path.includes('[')
      ? `pulumi config set --path '${this.key(path)}' ${example}`
      : `pulumi config set ${this.key(path)} ${example}`;
  }

  string(key: string): string | undefined {
    const v = this.source.get(key);
    return v === undefined || v === '' ? undefined : v;
  }

  /** A structured value (set with --path or as JSON). */
  object(key: string, example: string): Json | undefined {
    const raw = this.source.get(key);
    if (raw === undefined || raw === '') return undefined;
    try {
      return JSON.parse(raw) as Json;
    } catch {
      this.problem(key, `is not structured data (got ${JSON.stringify(raw.slice(0, 80))})`,
        `set it with --path, e.g. ${this.setCmd(`${key}${example}`, '<value>')}, or as JSON in Pulumi.<stack>.yaml`);
      return undefined;
    }
  }

  isRecord(v: Json): v is Record<string, Json> {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  }

  record(path: string, v: Json, allowed: readonly string[]): Record<string, Json> | undefined {
    if (v === undefined) return undefined;
    if (!this.isRecord(v)) {
      this.problem(path, `must be an object, got ${JSON.stringify(v)}`, `set its fields with --path, e.g. ${this.setCmd(`${path}.${allowed[0]}`, '<value>')}`);
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) this.problem(`${path}.${k}`, 'is not a known setting', `remove it (known: ${allowed.join(', ')})`);
    }
    return v;
  }

  list(path: string, v: Json): Json[] | undefined {
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      this.problem(path, `must be a list, got ${JSON.stringify(v)}`, `set items with --path, e.g. ${this.setCmd(`${path}[0]`, '<value>')}`);
      return undefined;
    }
    return v;
  }

  stringField(path: string, v: Json, required: boolean, example: string): string | undefined {
    if (v === undefined || v === null) {
      if (required) this.problem(path, 'is required', this.setCmd(path, example));
      return undefined;
    }
    if (typeof v !== 'string' || v === '') {
      this.problem(path, `must be a non-empty string, got ${JSON.stringify(v)}`, this.setCmd(path, example));
      return undefined;
    }
    return v;
  }

  stringList(path: string, v: Json, example: string): string[] | undefined {
    const items = this.list(path, v);
    if (!items) return undefined;
    return items.filter((item, i) => this.stringField(`${path}[${i}]`, item, true, example) !== undefined) as string[];
  }

  integer(path: string, v: Json, min: number, example: string): number | undefined {
    if (v === undefined) return undefined;
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
      this.problem(path, `must be a whole number of at least ${min}, got ${JSON.stringify(v)}`, this.setCmd(path, example));
      return undefined;
    }
    return n;
  }

  oneOf<T extends string>(path: string, v: Json, allowed: readonly T[], fallback: T | undefined): T | undefined {
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      this.problem(path, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(v)}`, this.setCmd(path, allowed[0]));
      return fallback;
    }
    return v as T;
  }
}

/** Reads and checks the stack configuration. Throws ConfigValidationError listing every problem. */
export function readProgramConfig(source: ConfigSource, allKeys?: readonly string[]): ProgramConfig {
  const r = new Reader(source);

  for (const fullKey of allKeys ?? []) {
    const [ns, ...rest] = fullKey.split(':');
    const key = rest.join(':');
    if (ns === source.name && !(CONFIG_KEYS as readonly string[]).includes(key)) {
      r.problem(key, 'is not a setting this program reads', `remove it with pulumi config rm ${fullKey} (known: ${CONFIG_KEYS.join(', ')})`);
    }
  }

  const channel = r.oneOf('channel', r.string('channel'), PROGRAM_CHANNELS, 'nats') ?? 'nats';

  const applications: ApplicationOptions[] = [];
  (r.list('applications', r.object('applications', '[0].name')) ?? []).forEach((raw, i) => {
    const path = `applications[${i}]`;
    const app = r.record(path, raw, APPLICATION_KEYS);
    if (!app) return;
    const name = r.stringField(`${path}.name`, app.name, true, 'commerce');
    const namespaces = r.stringList(`${path}.namespaces`, app.namespaces, 'prod');
    const appChannel = r.oneOf(`${path}.channel`, app.channel, PROGRAM_CHANNELS, undefined);
    if (name === undefined) return;
    applications.push({ ...(app as unknown as ApplicationOptions), name, ...(namespaces ? { namespaces } : {}), ...(appChannel ? { channel: appChannel } : {}) });
  });
  const seenApps = new Set<string>();
  applications.forEach((a, i) => {
    if (seenApps.has(a.name)) r.problem(`applications[${i}].name`, `"${a.name}" is listed twice`, 'give every application a unique name');
    seenApps.add(a.name);
  });

  const namespaces = r.stringList('namespaces', r.object('namespaces', '[0]'), 'prod');

  const triggers: MeshTriggerOptions[] = [];
  (r.list('triggers', r.object('triggers', '[0].name')) ?? []).forEach((raw, i) => {
    const path = `triggers[${i}]`;
    const t = r.record(path, raw, TRIGGER_KEYS);
    if (!t) return;
    const name = r.stringField(`${path}.name`, t.name, true, 'order-created');
    r.stringField(`${path}.namespace`, t.namespace, false, 'prod');
    r.stringField(`${path}.broker`, t.broker, false, 'default');
    if (t.filter !== undefined) r.record(`${path}.filter`, t.filter, Object.keys(r.isRecord(t.filter) ? t.filter : {}));
    if (t.subscriber === undefined || !r.isRecord(t.subscriber)) {
      r.problem(`${path}.subscriber`, 'is required: where the trigger delivers events (a ref or a uri)',
        `${r.setCmd(`${path}.subscriber.ref.name`, 'orders')} (with .ref.apiVersion v1 and .ref.kind Service), or set ${path}.subscriber.uri`);
    }
    if (name !== undefined) triggers.push({ ...(t as unknown as MeshTriggerOptions), name });
  });

  const nats = r.record('nats', r.object('nats', '.persistence.size'), NATS_KEYS) as NatsJetStreamOptions | undefined;
  if (nats) r.integer('nats.replicas', nats.replicas, 1, '3');
  const kafkaRaw = r.record('kafka', r.object('kafka', '.numPartitions'), KAFKA_KEYS);
  if (kafkaRaw) {
    r.integer('kafka.numPartitions', kafkaRaw.numPartitions, 1, '10');
    r.integer('kafka.replicationFactor', kafkaRaw.replicationFactor, 1, '3');
  }
  const addressing = r.record('addressing', r.object('addressing', '.systemNamespace'), ADDRESSING_KEYS) as MeshAddressing | undefined;
  if (addressing) for (const k of ADDRESSING_KEYS) r.stringField(`addressing.${k}`, (addressing as Record<string, Json>)[k], false, k === 'clusterDomain' ? 'cluster.local' : 'event-mesh-system');
  const image = r.record('image', r.object('image', '.tag'), IMAGE_KEYS) as RuntimeImageOptions | undefined;
  const logLevel = r.oneOf('logLevel', r.string('logLevel'), LOG_LEVELS, undefined);
  const dataPlane = r.record('dataPlane', r.object('dataPlane', '.replicas'), ['replicas', 'resources', 'networkPolicy']);
  const adapters = r.record('adapters', r.object('adapters', '.replicas'), ['workload', 'replicas', 'resources', 'networkPolicy', 'auth', 'ingress']);
  const kubeContext = r.string('kubeContext');

  const usesKafka = channel === 'kafka' || applications.some((a) => a.channel === 'kafka');
  const azureRaw = r.record('azure', r.object('azure', '.location'), AZURE_KEYS);
  let azure: AzureConfig | undefined;
  if (azureRaw) {
    const location = r.stringField('azure.location', azureRaw.location, false, 'westeurope');
    const existingResourceGroup = r.stringField('azure.existingResourceGroup', azureRaw.existingResourceGroup, false, 'my-rg');
    const resourceGroupName = r.stringField('azure.resourceGroupName', azureRaw.resourceGroupName, false, 'event-mesh-rg');
    if (existingResourceGroup && resourceGroupName) {
      r.problem('azure.resourceGroupName', `is set together with azure.existingResourceGroup ("${existingResourceGroup}")`,
        'set existingResourceGroup to use a group you have, or resourceGroupName to create one, not both');
    }
    if (usesKafka && !location && !existingResourceGroup) {
      r.problem('azure.location', 'is required to create the resource group and the Event Hubs namespace', r.setCmd('azure.location', 'westeurope'));
    }
    let sku: EventHubsKafkaSku | undefined;
    if (azureRaw.sku === 'Basic') {
      r.problem('azure.sku', '"Basic" has no Kafka endpoint: the Kafka channel needs Event Hubs Standard or Premium', r.setCmd('azure.sku', 'Standard'));
    } else {
      sku = r.oneOf<EventHubsKafkaSku>('azure.sku', azureRaw.sku, ['Standard', 'Premium'], undefined);
    }
    const capacity = r.integer('azure.capacity', azureRaw.capacity, 1, '1');
    const namespaceName = r.stringField('azure.namespaceName', azureRaw.namespaceName, false, 'my-event-mesh');
    let tags: Record<string, string> | undefined;
    if (azureRaw.tags !== undefined) {
      const t = r.record('azure.tags', azureRaw.tags, Object.keys(r.isRecord(azureRaw.tags) ? azureRaw.tags : {}));
      if (t) {
        tags = {};
        for (const [k, v] of Object.entries(t)) {
          if (typeof v === 'string') tags[k] = v;
          else r.problem(`azure.tags.${k}`, `must be a string, got ${JSON.stringify(v)}`, r.setCmd(`azure.tags.${k}`, 'value'));
        }
      }
    }
    let eventHubs: AzureConfig['eventHubs'];
    if (azureRaw.eventHubs === false || azureRaw.eventHubs === 'false') {
      eventHubs = false;
    } else if (azureRaw.eventHubs !== undefined) {
      const e = r.record('azure.eventHubs', azureRaw.eventHubs, EVENT_HUBS_KEYS);
      if (e) {
        eventHubs = {
          partitionCount: r.integer('azure.eventHubs.partitionCount', e.partitionCount, 1, '4'),
          retentionInHours: r.integer('azure.eventHubs.retentionInHours', e.retentionInHours, 1, '24'),
        };
      }
    }
    azure = { location, existingResourceGroup, resourceGroupName, sku, capacity, namespaceName, tags, eventHubs };
  } else if (usesKafka) {
    r.problem('azure', `is required when a channel is Kafka (${channel === 'kafka' ? 'channel is "kafka"' : 'an application uses channel "kafka"'}): the program creates Event Hubs for it`,
      `${r.setCmd('azure.location', 'westeurope')} (and optionally azure.sku, azure.existingResourceGroup)`);
  }

  const usesPubSub = channel === 'pubsub' || applications.some((a) => a.channel === 'pubsub');
  const gcpRaw = r.record('gcp', r.object('gcp', '.project'), GCP_KEYS);
  let gcp: GcpConfig | undefined;
  if (gcpRaw) {
    const project = r.stringField('gcp.project', gcpRaw.project, usesPubSub, 'my-project');
    const accountId = r.stringField('gcp.accountId', gcpRaw.accountId, false, 'event-mesh');
    const flag = (key: 'createResources' | 'topics'): boolean | undefined => {
      const v = gcpRaw[key];
      if (v === undefined) return undefined;
      if (v === true || v === 'true') return true;
      if (v === false || v === 'false') return false;
      r.problem(`gcp.${key}`, `must be true or false, got ${JSON.stringify(v)}`, r.setCmd(`gcp.${key}`, 'false'));
      return undefined;
    };
    const createResources = flag('createResources');
    const topics = flag('topics');
    if (project !== undefined) gcp = { project, accountId, createResources, topics };
  } else if (usesPubSub) {
    r.problem('gcp', `is required when a channel is Pub/Sub (${channel === 'pubsub' ? 'channel is "pubsub"' : 'an application uses channel "pubsub"'}): the program creates the Google service account and its Workload Identity binding`,
      r.setCmd('gcp.project', 'my-project'));
  }

  if (r.problems.length > 0) throw new ConfigValidationError(r.problems);

  const mesh: EventMeshProps = {
    defaultChannel: channel,
    ...(addressing ? { addressing } : {}),
    ...(applications.length ? { applications } : {}),
    ...(namespaces?.length ? { namespaces } : {}),
    ...(triggers.length ? { triggers } : {}),
    ...(nats ? { nats } : {}),
    ...(usesKafka ? { kafka: { ...(kafkaRaw as KafkaChannelOptions | undefined), provider: 'azure' as const } } : {}),
    // Workload Identity with the Google service account the GcpPubSub component creates (no key anywhere).
    ...(usesPubSub && gcp ? { pubsub: { project: gcp.project, gcpServiceAccount: gcpServiceAccountEmail(gcp.project, gcp.accountId ?? DEFAULT_GCP_ACCOUNT_ID) } } : {}),
    ...(image ? { image } : {}),
    ...(logLevel ? { logLevel } : {}),
    ...(dataPlane ? { dataPlane: dataPlane as EventMeshProps['dataPlane'] } : {}),
    ...(adapters ? { adapters: adapters as EventMeshProps['adapters'] } : {}),
  };
  return { channel, mesh, kubeContext, azure: usesKafka ? azure : undefined, usesKafka, gcp: usesPubSub ? gcp : undefined, usesPubSub };
}
