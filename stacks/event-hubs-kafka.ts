/**
 * Azure Event Hubs as the Kafka cluster behind the mesh's Kafka channel, and the
 * Kubernetes Secret `knative-kafka` the channel reads its connection from — in the mesh's
 * system namespace (dispatcher) and integration namespace (adapters), the namespaces whose
 * pods connect to Kafka.
 *
 * This follows Kyma's "Configure the Kafka Channel" steps (resource group → Event Hubs
 * namespace → credentials → Secret), with two changes for least privilege: the mesh gets
 * its own namespace authorization rule with only `Send` and `Listen` rights instead of
 * `RootManageSharedAccessKey`, and every credential stays a Pulumi secret end to end.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import * as eventhub from '@pulumi/azure-native/eventhub';
import * as resources from '@pulumi/azure-native/resources';
import {
  DEFAULT_INTEGRATION_NAMESPACE,
  DEFAULT_SYSTEM_NAMESPACE,
  KAFKA_SECRET_KEYS,
  KAFKA_SECRET_NAME,
  PART_OF,
  PART_OF_LABEL,
  applicationChannelName,
  brokerTopic,
  channelTopic,
} from '../constructs/api';

/** Event Hubs tiers with a Kafka endpoint. Basic has none. */
export type EventHubsKafkaSku = 'Standard' | 'Premium';
export const EVENT_HUBS_KAFKA_SKUS: readonly EventHubsKafkaSku[] = ['Standard', 'Premium'];

/** The Kafka endpoint of an Event Hubs namespace listens on 9093 (SASL_SSL). */
export const EVENT_HUBS_KAFKA_PORT = 9093;
/** The Kafka SASL/PLAIN user name Event Hubs expects with a connection-string password. */
export const EVENT_HUBS_KAFKA_USERNAME = '$ConnectionString';
/** Tag on every Azure resource of the component (value "event-mesh"). */
export const AZURE_PART_OF_TAG = 'part-of';
/** The authorization rule the mesh uses: Send and Listen only. */
export const MESH_AUTHORIZATION_RULE = 'event-mesh';

/** Per-tier limits the component checks before Azure does (Event Hubs quotas). */
const TIER_LIMITS: Record<EventHubsKafkaSku, { maxPartitions: number; maxRetentionHours: number; maxEventHubs: number }> = {
  Standard: { maxPartitions: 32, maxRetentionHours: 7 * 24, maxEventHubs: 10 },
  Premium: { maxPartitions: 100, maxRetentionHours: 90 * 24, maxEventHubs: 1000 },
};

/**
 * Event Hubs (Kafka topics) to create up front, named as the runtime names its topics
 * (api/wiring channelTopic, brokerTopic). Without them the runtime creates its topics on
 * first use, with Event Hubs' defaults.
 */
export interface EventHubsTopics {
  /** Applications whose channel is Kafka: one Event Hub `channel.<integration-ns>.<app>` each. */
  readonly applications?: readonly string[];
  /** Brokers whose events are stored on Kafka (the default channel is Kafka): one Event Hub `broker.<ns>.<broker>` each. */
  readonly brokers?: readonly { readonly namespace: string; readonly name: string }[];
  /** Where the applications' channels live. @default "kyma-integration" */
  readonly integrationNamespace?: string;
  /** @default 2 */
  readonly partitionCount?: number;
  /** How long events are kept. @default 24 */
  readonly retentionInHours?: number;
}

/** The Event Hub names for `topics`, in order: application channels, then brokers. */
export function eventHubNames(topics: EventHubsTopics | undefined): string[] {
  if (!topics) return [];
  const integrationNamespace = topics.integrationNamespace ?? DEFAULT_INTEGRATION_NAMESPACE;
  return [
    ...(topics.applications ?? []).map((app) => channelTopic(integrationNamespace, applicationChannelName(app))),
    ...(topics.brokers ?? []).map((b) => brokerTopic(b.namespace, b.name)),
  ];
}

export interface EventHubsKafkaArgs {
  /**
   * Use this existing resource group. When unset, the component creates one
   * (named `resourceGroupNameToCreate`, or auto-named).
   */
  readonly existingResourceGroupName?: pulumi.Input<string>;
  /** Name of the resource group to create (ignored with `existingResourceGroupName`). @default auto-named */
  readonly resourceGroupNameToCreate?: string;
  /** Azure region. @default the created group's location / the existing group's location */
  readonly location?: pulumi.Input<string>;
  /** Event Hubs tier: Standard or Premium (Basic has no Kafka endpoint). @default "Standard" */
  readonly sku?: EventHubsKafkaSku;
  /** Throughput units (Standard) or processing units (Premium). @default 1 */
  readonly capacity?: number;
  /** Event Hubs namespace name (globally unique, 6-50 characters). @default auto-named */
  readonly namespaceName?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** Create one Event Hub per application channel (and per Kafka-backed broker). */
  readonly eventHubs?: EventHubsTopics;
  /** Where to put the `knative-kafka` Secret. */
  readonly kubernetes?: {
    /**
     * Namespaces whose pods connect to Kafka: the mesh's system namespace (dispatcher) and its
     * integration namespace (adapters). One Secret is created in each.
     * @default ["event-mesh-system", "kyma-integration"]
     */
    readonly namespaces?: readonly string[];
    /** Must match the mesh's `kafka.secretName`. @default "knative-kafka" */
    readonly secretName?: string;
    readonly provider?: k8s.Provider;
    /**
     * What the Secrets wait for — typically the mesh's Namespace objects
     * (`EventMesh.namespaceResources`), since they live in namespaces the mesh creates.
     */
    readonly dependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
  };
}

/** Problems with arguments Azure would reject or Kafka cannot use (the component throws them as a ResourceError). */
export function validateEventHubsKafkaArgs(args: EventHubsKafkaArgs): string[] {
  const problems: string[] = [];
  const sku = (args.sku ?? 'Standard') as string;
  if (sku === 'Basic') {
    problems.push('sku "Basic" has no Kafka endpoint: the Kafka channel needs Event Hubs Standard or Premium. Set sku to "Standard" (or "Premium").');
  } else if (!EVENT_HUBS_KAFKA_SKUS.includes(sku as EventHubsKafkaSku)) {
    problems.push(`sku must be "Standard" or "Premium", got "${sku}"`);
  }
  if (args.capacity !== undefined && (!Number.isInteger(args.capacity) || args.capacity < 1)) {
    problems.push(`capacity must be a whole number of at least 1 (throughput or processing units), got ${args.capacity}`);
  }
  for (const [key, value] of Object.entries(args.tags ?? {})) {
    if (/[<>%&\\?/]/.test(key) || key.length > 512) problems.push(`tags: "${key}" is not a valid Azure tag name (at most 512 characters, none of < > % & \\ ? /)`);
    if (typeof value !== 'string' || value.length > 256) problems.push(`tags.${key} must be a string of at most 256 characters`);
  }
  for (const ns of args.kubernetes?.namespaces ?? []) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63) problems.push(`kubernetes.namespaces: "${ns}" is not a valid namespace name`);
  }
  if (args.kubernetes?.namespaces !== undefined && args.kubernetes.namespaces.length === 0) {
    problems.push('kubernetes.namespaces is empty: list the namespaces whose pods use Kafka (the mesh system and integration namespaces)');
  }
  if (args.namespaceName !== undefined && !/^[a-zA-Z][a-zA-Z0-9-]{4,48}[a-zA-Z0-9]$/.test(args.namespaceName)) {
    problems.push(`namespaceName "${args.namespaceName}" must be 6-50 letters, digits and hyphens, start with a letter and end with a letter or digit`);
  } else if (args.namespaceName !== undefined && /-(sb|mgmt)$/i.test(args.namespaceName)) {
    problems.push(`namespaceName "${args.namespaceName}" must not end with "-sb" or "-mgmt" (reserved by Azure)`);
  }
  const limits = TIER_LIMITS[sku as EventHubsKafkaSku];
  const hubs = args.eventHubs;
  if (limits && hubs) {
    const { partitionCount, retentionInHours } = hubs;
    if (partitionCount !== undefined && (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > limits.maxPartitions)) {
      problems.push(`eventHubs.partitionCount must be 1-${limits.maxPartitions} on ${sku}, got ${partitionCount}`);
    }
    if (retentionInHours !== undefined && (!Number.isInteger(retentionInHours) || retentionInHours < 1 || retentionInHours > limits.maxRetentionHours)) {
      problems.push(`eventHubs.retentionInHours must be 1-${limits.maxRetentionHours} on ${sku}, got ${retentionInHours}`);
    }
    const names = eventHubNames(hubs);
    if (names.length > limits.maxEventHubs) {
      problems.push(`${names.length} Event Hubs are needed (one per Kafka application channel and broker), but ${sku} allows ${limits.maxEventHubs} per namespace: use Premium, or leave eventHubs unset and let the runtime create its topics`);
    }
    const seen = new Set<string>();
    for (const hub of names) {
      if (seen.has(hub)) problems.push(`Event Hub "${hub}" is listed twice in eventHubs`);
      seen.add(hub);
    }
  }
  return problems;
}

/** The Kafka host of an Event Hubs namespace, from its Service Bus endpoint (`https://<ns>.servicebus.windows.net:443/`). */
export function kafkaHostFromEndpoint(serviceBusEndpoint: string | undefined, namespaceName: string): string {
  if (serviceBusEndpoint) {
    try {
      const host = new URL(serviceBusEndpoint).hostname;
      if (host) return host;
    } catch {
      // fall through to the public-cloud default
    }
  }
  return `${namespaceName}.servicebus.windows.net`;
}

export class EventHubsKafka extends pulumi.ComponentResource {
  readonly resourceGroupName: pulumi.Output<string>;
  readonly namespace: eventhub.Namespace;
  readonly authorizationRule: eventhub.NamespaceAuthorizationRule;
  readonly eventHubs: readonly eventhub.EventHub[];
  /** The connection Secret, one per namespace in `kubernetes.namespaces`. */
  readonly secrets: readonly k8s.core.v1.Secret[];
  /** The Event Hubs namespace name (what Kafka calls the cluster). */
  readonly namespaceName: pulumi.Output<string>;
  /** `<namespace>.servicebus.windows.net`. */
  readonly brokersHost: pulumi.Output<string>;
  /** `<namespace>.servicebus.windows.net:9093`, ready for a Kafka client. */
  readonly brokers: pulumi.Output<string>;
  /** Name of the Kubernetes Secret (`knative-kafka`). */
  readonly secretName: pulumi.Output<string>;
  /** Namespaces holding the Secret. */
  readonly secretNamespaces: pulumi.Output<string[]>;
  /** The Send/Listen rule's primary connection string: the Kafka password. Always a Pulumi secret. */
  readonly connectionString: pulumi.Output<string>;
  readonly eventHubNames: pulumi.Output<string[]>;

  constructor(name: string, args: EventHubsKafkaArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super('event-mesh:azure:EventHubsKafka', name, {}, opts);
    const problems = validateEventHubsKafkaArgs(args);
    if (problems.length > 0) {
      throw new pulumi.ResourceError(`EventHubsKafka "${name}": ${problems.join('; ')}`, this);
    }
    const sku: EventHubsKafkaSku = args.sku ?? 'Standard';
    // Azure tag names may not contain "/", so not the Kubernetes label key.
    const tags = { [AZURE_PART_OF_TAG]: PART_OF, ...(args.tags ?? {}) };

    let location: pulumi.Input<string> | undefined;
    if (args.existingResourceGroupName !== undefined) {
      this.resourceGroupName = pulumi.output(args.existingResourceGroupName);
      // Looks the group up during preview: a mistyped name fails before anything is created.
      location = args.location ?? resources.getResourceGroupOutput({ resourceGroupName: args.existingResourceGroupName }, { parent: this }).location;
    } else {
      const group = new resources.ResourceGroup(
        `${name}-rg`,
        { resourceGroupName: args.resourceGroupNameToCreate, location: args.location, tags },
        { parent: this },
      );
      this.resourceGroupName = group.name;
      location = args.location ?? group.location;
    }

    this.namespace = new eventhub.Namespace(
      `${name}-ns`,
      {
        resourceGroupName: this.resourceGroupName,
        namespaceName: args.namespaceName,
        location,
        sku: { name: sku, tier: sku, capacity: args.capacity ?? 1 },
        kafkaEnabled: true,
        minimumTlsVersion: '1.2',
        // The Kafka channel signs in with a SAS connection string.
        disableLocalAuth: false,
        tags,
      },
      { parent: this },
    );
    this.namespaceName = this.namespace.name;

    this.authorizationRule = new eventhub.NamespaceAuthorizationRule(
      `${name}-mesh`,
      {
        authorizationRuleName: MESH_AUTHORIZATION_RULE,
        namespaceName: this.namespace.name,
        resourceGroupName: this.resourceGroupName,
        rights: [eventhub.AccessRights.Send, eventhub.AccessRights.Listen],
      },
      { parent: this },
    );

    const keys = eventhub.listNamespaceKeysOutput(
      {
        authorizationRuleName: this.authorizationRule.name,
        namespaceName: this.namespace.name,
        resourceGroupName: this.resourceGroupName,
      },
      { parent: this },
    );
    this.connectionString = pulumi.secret(keys.primaryConnectionString);

    this.brokersHost = pulumi
      .all([this.namespace.serviceBusEndpoint, this.namespace.name])
      .apply(([endpoint, nsName]) => kafkaHostFromEndpoint(endpoint, nsName));
    this.brokers = pulumi.interpolate`${this.brokersHost}:${EVENT_HUBS_KAFKA_PORT}`;

    const hubs = args.eventHubs;
    const hubNames = eventHubNames(hubs);
    this.eventHubs = hubNames.map(
      (hubName) =>
        new eventhub.EventHub(
          `${name}-${hubName}`,
          {
            eventHubName: hubName,
            namespaceName: this.namespace.name,
            resourceGroupName: this.resourceGroupName,
            partitionCount: hubs?.partitionCount ?? 2,
            // API 2024-01-01: retention is `retentionDescription` (hours); messageRetentionInDays is its legacy, whole-day form.
            retentionDescription: {
              cleanupPolicy: eventhub.CleanupPolicyRetentionDescription.Delete,
              retentionTimeInHours: hubs?.retentionInHours ?? 24,
            },
          },
          { parent: this },
        ),
    );
    this.eventHubNames = pulumi.output(hubNames);

    const secretName = args.kubernetes?.secretName ?? KAFKA_SECRET_NAME;
    const secretNamespaces = [...new Set(args.kubernetes?.namespaces ?? [DEFAULT_SYSTEM_NAMESPACE, DEFAULT_INTEGRATION_NAMESPACE])];
    const stringData: Record<string, pulumi.Input<string>> = {
      [KAFKA_SECRET_KEYS.brokers]: this.brokers,
      [KAFKA_SECRET_KEYS.hostname]: this.brokersHost,
      [KAFKA_SECRET_KEYS.port]: String(EVENT_HUBS_KAFKA_PORT),
      [KAFKA_SECRET_KEYS.namespace]: this.namespace.name,
      [KAFKA_SECRET_KEYS.username]: EVENT_HUBS_KAFKA_USERNAME,
      [KAFKA_SECRET_KEYS.password]: this.connectionString,
      [KAFKA_SECRET_KEYS.provider]: 'azure',
    };
    this.secrets = secretNamespaces.map(
      (namespace) =>
        new k8s.core.v1.Secret(
          `${name}-${secretName}-${namespace}`,
          {
            metadata: {
              name: secretName,
              namespace,
              labels: { [PART_OF_LABEL]: PART_OF },
            },
            type: 'Opaque',
            stringData: pulumi.secret(stringData),
          },
          {
            parent: this,
            provider: args.kubernetes?.provider,
            dependsOn: args.kubernetes?.dependsOn,
            additionalSecretOutputs: ['data', 'stringData'],
          },
        ),
    );
    this.secretName = pulumi.output(secretName);
    this.secretNamespaces = pulumi.output(secretNamespaces);

    this.registerOutputs({
      resourceGroupName: this.resourceGroupName,
      namespaceName: this.namespaceName,
      brokersHost: this.brokersHost,
      brokers: this.brokers,
      secretName: this.secretName,
      secretNamespaces: this.secretNamespaces,
      connectionString: this.connectionString,
      eventHubNames: this.eventHubNames,
    });
  }
}
