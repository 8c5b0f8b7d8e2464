/**
 * The `pulumi up` program: a full Event Mesh environment from stack config. With a Kafka
 * channel it first declares Azure Event Hubs and the `knative-kafka` Secrets, then the mesh,
 * whose Kafka channel references those Secrets and whose pods wait for them.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { EventHubsKafka } from '../event-hubs-kafka';
import { EventMesh, synthesizeEventMesh, type SynthesizedEventMesh } from '../event-mesh';
import { GcpPubSub } from '../gcp-pubsub';
import { ConfigValidationError, type ProgramConfig } from './config';

export interface ProgramResult {
  readonly mesh: EventMesh;
  readonly eventHubs?: EventHubsKafka;
  readonly gcpPubSub?: GcpPubSub;
  readonly provider?: k8s.Provider;
  readonly outputs: {
    readonly channel: string;
    readonly adapterUrls: pulumi.Output<Record<string, string>>;
    readonly brokerIngressUrls: pulumi.Output<Record<string, string>>;
    readonly natsUrl: pulumi.Output<string | undefined>;
    readonly eventHubsNamespace?: pulumi.Output<string>;
    readonly kafkaBrokers?: pulumi.Output<string>;
    readonly eventHubNames?: pulumi.Output<string[]>;
    readonly gcpServiceAccount?: pulumi.Output<string>;
    readonly pubsubTopicIds?: pulumi.Output<string[]>;
  };
}

/** A value supplied after it is handed out: lets two components depend on each other's parts. */
export function lateBound<T>(): { readonly promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Synthesizes the mesh once up front, so construct errors are reported as config errors before anything is declared. */
export function planMesh(cfg: ProgramConfig, configNamespace = 'event-mesh'): SynthesizedEventMesh {
  try {
    return synthesizeEventMesh(cfg.mesh);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ConfigValidationError([
      {
        key: `${configNamespace}:* (checked by the EventMesh construct)`,
        message,
        fix: 'correct the setting the message names (under applications, triggers, namespaces, nats, kafka, addressing, image, logLevel, dataPlane or adapters)',
      },
    ]);
  }
}

export function deployEventMeshEnvironment(cfg: ProgramConfig, configNamespace?: string): ProgramResult {
  const plan = planMesh(cfg, configNamespace);
  const provider = cfg.kubeContext ? new k8s.Provider('kubernetes', { context: cfg.kubeContext }) : undefined;
  const gcpPubSub = cfg.usesPubSub ? deployGcpPubSub(cfg, plan) : undefined;
  const pubsubDependsOn = gcpPubSub ? [...gcpPubSub.workloadIdentityBindings, ...gcpPubSub.projectMembers] : [];
  const pubsubOutputs = gcpPubSub ? { gcpServiceAccount: gcpPubSub.serviceAccountEmail, pubsubTopicIds: gcpPubSub.topicIds } : {};

  if (!cfg.usesKafka || !plan.kafka) {
    const mesh = new EventMesh('event-mesh', { ...cfg.mesh, provider, ...(gcpPubSub ? { workloadDependsOn: pubsubDependsOn } : {}) });
    return { mesh, provider, gcpPubSub, outputs: { ...meshOutputs(cfg, mesh), ...pubsubOutputs } };
  }

  // The Secrets live in the mesh's system and integration Namespaces, which the mesh creates;
  // the mesh's pods need the Secrets. So: Namespaces → Secrets → everything else, with the
  // Namespaces handed to the Secrets once the mesh has declared them.
  const azure = cfg.azure ?? {};
  const { systemNamespace, integrationNamespace } = plan.addressing;
  const secretNamespaces = [...new Set([systemNamespace, integrationNamespace])];
  const meshNamespaces = lateBound<pulumi.Resource[]>();
  const retentionInHours = plan.kafka.retentionMs !== undefined ? Math.max(1, Math.ceil(plan.kafka.retentionMs / 3_600_000)) : undefined;

  const eventHubs = new EventHubsKafka('event-hubs', {
    location: azure.location,
    existingResourceGroupName: azure.existingResourceGroup,
    resourceGroupNameToCreate: azure.resourceGroupName,
    sku: azure.sku,
    capacity: azure.capacity,
    namespaceName: azure.namespaceName,
    tags: azure.tags,
    eventHubs:
      azure.eventHubs === false
        ? undefined
        : {
            applications: plan.kafka.applications,
            brokers: plan.kafka.brokers,
            integrationNamespace,
            partitionCount: azure.eventHubs?.partitionCount ?? plan.kafka.numPartitions,
            retentionInHours: azure.eventHubs?.retentionInHours ?? retentionInHours,
          },
    kubernetes: {
      namespaces: secretNamespaces,
      secretName: plan.kafka.secretName,
      provider,
      dependsOn: meshNamespaces.promise,
    },
  });

  const mesh = new EventMesh('event-mesh', { ...cfg.mesh, provider, workloadDependsOn: [...eventHubs.secrets, ...pubsubDependsOn] });
  meshNamespaces.resolve(secretNamespaces.map((ns) => mesh.namespaceResources[ns]).filter((r): r is pulumi.CustomResource => r !== undefined));

  return {
    mesh,
    eventHubs,
    gcpPubSub,
    provider,
    outputs: {
      ...meshOutputs(cfg, mesh),
      ...pubsubOutputs,
      eventHubsNamespace: eventHubs.namespaceName,
      kafkaBrokers: eventHubs.brokers,
      eventHubNames: eventHubs.eventHubNames,
    },
  };
}

/**
 * The Google side of the Pub/Sub channel. The mesh's props already carry the service
 * account's email (config.ts derives it from project and account ID, as Google does); the
 * created account's email is checked against it, so a mismatch fails `pulumi up`.
 */
function deployGcpPubSub(cfg: ProgramConfig, plan: SynthesizedEventMesh): GcpPubSub {
  const gcp = cfg.gcp!;
  const { systemNamespace, integrationNamespace } = plan.addressing;
  const applications = (cfg.mesh.applications ?? []).filter((a) => (a.channel ?? cfg.channel) === 'pubsub').map((a) => a.name);
  const gcpPubSub = new GcpPubSub('gcp-pubsub', {
    project: gcp.project,
    accountId: gcp.accountId,
    createResources: gcp.createResources,
    systemNamespace,
    integrationNamespace,
    topics: gcp.topics === false ? undefined : { applications, brokers: plan.defaultChannel === 'pubsub' ? plan.brokers : [] },
  });
  const wired = cfg.mesh.pubsub?.gcpServiceAccount;
  gcpPubSub.serviceAccountEmail.apply((email) => {
    if (email !== undefined && email !== wired) {
      throw new pulumi.ResourceError(`the Google service account is ${email}, but the mesh's ServiceAccounts were annotated with ${wired}`, gcpPubSub);
    }
  });
  return gcpPubSub;
}

function meshOutputs(cfg: ProgramConfig, mesh: EventMesh): ProgramResult['outputs'] {
  return {
    channel: cfg.channel,
    adapterUrls: mesh.adapterUrls,
    brokerIngressUrls: mesh.brokerIngressUrls,
    natsUrl: mesh.natsUrl,
  };
}
