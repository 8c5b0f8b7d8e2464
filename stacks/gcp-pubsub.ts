/**
 * The Google Cloud side of the mesh's Pub/Sub channel (Pulumi component; declares resources,
 * no other I/O): a Google service account the mesh acts as, with only `roles/pubsub.publisher`
 * and `roles/pubsub.subscriber` on the project, plus — because the runtime creates topics and
 * subscriptions on demand — a custom role with exactly the permissions that needs
 * (docs/pubsub.md § Permissions; `createResources: false` drops it when topics and
 * subscriptions are created elsewhere); the GKE Workload Identity binding of the mesh's
 * Kubernetes ServiceAccounts to it; and optionally the channel and broker topics.
 * No key is ever created: pods authenticate through Workload Identity.
 */
import * as pulumi from '@pulumi/pulumi';
import * as projects from '@pulumi/gcp/projects';
import * as pubsub from '@pulumi/gcp/pubsub';
import * as serviceaccount from '@pulumi/gcp/serviceaccount';
import {
  DEFAULT_INTEGRATION_NAMESPACE,
  DEFAULT_SYSTEM_NAMESPACE,
  GCP_PROJECT_ID,
  applicationChannelName,
  brokerTopic,
  channelTopic,
  pubsubKubernetesServiceAccounts,
  pubsubTopicId,
  workloadIdentityMember,
} from '../constructs/api';
import { DEFAULT_GCP_ACCOUNT_ID } from './gcp-account';

/** The predefined roles the mesh's service account gets on the project: nothing else. */
export const PUBSUB_PREDEFINED_ROLES = ['roles/pubsub.publisher', 'roles/pubsub.subscriber'] as const;
/** What the runtime needs beyond them to create its topics and subscriptions on demand. */
export const PUBSUB_RESOURCE_PERMISSIONS = [
  'pubsub.topics.get', 'pubsub.topics.create', 'pubsub.topics.update',
  'pubsub.subscriptions.get', 'pubsub.subscriptions.create', 'pubsub.subscriptions.update',
] as const;
/** The custom role's ID (letters, digits, "_" and "."). */
export const PUBSUB_CUSTOM_ROLE_ID = 'eventMeshPubSubResources';
export const WORKLOAD_IDENTITY_USER_ROLE = 'roles/iam.workloadIdentityUser';

/** Topics to create up front, named as the runtime names them (api/pubsub pubsubTopicId). */
export interface PubSubTopics {
  /** Applications whose channel is Pub/Sub: one topic for `channel.<integration-ns>.<app>` each. */
  readonly applications?: readonly string[];
  /** Brokers whose events are stored on Pub/Sub (the default channel is Pub/Sub). */
  readonly brokers?: readonly { readonly namespace: string; readonly name: string }[];
  /** How long topics keep events, e.g. "86400s". @default - Pub/Sub's default (none) */
  readonly messageRetentionDuration?: string;
}

export interface GcpPubSubArgs {
  /** The Google Cloud project of the topics (and of the GKE cluster's workload pool). */
  readonly project: string;
  /** The service account's ID (6–30 characters). @default "event-mesh" */
  readonly accountId?: string;
  /**
   * Grant the custom role that lets the runtime create topics and subscriptions. Set false
   * when they are created elsewhere (e.g. by `topics` here, plus subscriptions by hand).
   * @default true
   */
  readonly createResources?: boolean;
  /** The mesh's namespaces (its Kubernetes ServiceAccounts live there). @default event-mesh-system, kyma-integration */
  readonly systemNamespace?: string;
  readonly integrationNamespace?: string;
  /** Topics to create up front. @default - none (the runtime creates them) */
  readonly topics?: PubSubTopics;
}

const ACCOUNT_ID = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

/** The topic IDs for `topics` (application channels, then brokers). */
export function pubsubTopicIds(topics: PubSubTopics | undefined, integrationNamespace = DEFAULT_INTEGRATION_NAMESPACE): string[] {
  if (!topics) return [];
  return [
    ...(topics.applications ?? []).map((app) => pubsubTopicId(channelTopic(integrationNamespace, applicationChannelName(app)))),
    ...(topics.brokers ?? []).map((b) => pubsubTopicId(brokerTopic(b.namespace, b.name))),
  ];
}

/** Problems with arguments GCP would reject (the component throws them as a ResourceError). */
export function validateGcpPubSubArgs(args: GcpPubSubArgs): string[] {
  const problems: string[] = [];
  if (typeof args.project !== 'string' || !GCP_PROJECT_ID.test(args.project)) {
    problems.push(`project must be a Google Cloud project ID (6-30 lower-case letters, digits and "-", starting with a letter), got ${JSON.stringify(args.project)}`);
  }
  if (args.accountId !== undefined && !ACCOUNT_ID.test(args.accountId)) {
    problems.push(`accountId must be 6-30 lower-case letters, digits and "-", starting with a letter, got ${JSON.stringify(args.accountId)}`);
  }
  for (const [field, ns] of [['systemNamespace', args.systemNamespace], ['integrationNamespace', args.integrationNamespace]] as const) {
    if (ns !== undefined && (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63)) problems.push(`${field}: "${ns}" is not a valid namespace name`);
  }
  const retention = args.topics?.messageRetentionDuration;
  if (retention !== undefined && !/^\d+(\.\d{1,9})?s$/.test(retention)) {
    problems.push(`topics.messageRetentionDuration must be seconds like "86400s", got ${JSON.stringify(retention)}`);
  }
  const seen = new Set<string>();
  for (const id of pubsubTopicIds(args.topics, args.integrationNamespace)) {
    if (seen.has(id)) problems.push(`topic "${id}" is listed twice in topics`);
    seen.add(id);
  }
  return problems;
}

export class GcpPubSub extends pulumi.ComponentResource {
  readonly serviceAccount: serviceaccount.Account;
  /** The Google service account's email: pass it as the EventMesh `pubsub.gcpServiceAccount`. */
  readonly serviceAccountEmail: pulumi.Output<string>;
  readonly projectMembers: readonly projects.IAMMember[];
  /** Undefined with `createResources: false`. */
  readonly customRole?: projects.IAMCustomRole;
  readonly workloadIdentityBindings: readonly serviceaccount.IAMMember[];
  /** `serviceAccount:<project>.svc.id.goog[<ns>/<ksa>]` for each mesh ServiceAccount. */
  readonly workloadIdentityMembers: pulumi.Output<string[]>;
  readonly topics: readonly pubsub.Topic[];
  readonly topicIds: pulumi.Output<string[]>;

  constructor(name: string, args: GcpPubSubArgs, opts?: pulumi.ComponentResourceOptions) {
    super('event-mesh:gcp:GcpPubSub', name, {}, opts);
    const problems = validateGcpPubSubArgs(args);
    if (problems.length > 0) throw new pulumi.ResourceError(`GcpPubSub "${name}": ${problems.join('; ')}`, this);
    const { project } = args;
    const systemNamespace = args.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE;
    const integrationNamespace = args.integrationNamespace ?? DEFAULT_INTEGRATION_NAMESPACE;

    this.serviceAccount = new serviceaccount.Account(`${name}-gsa`, {
      project,
      accountId: args.accountId ?? DEFAULT_GCP_ACCOUNT_ID,
      displayName: 'event-mesh Pub/Sub channel',
      description: 'Publishes and consumes the event mesh topics (GKE Workload Identity; no keys)',
    }, { parent: this });
    this.serviceAccountEmail = this.serviceAccount.email;
    const member = pulumi.interpolate`serviceAccount:${this.serviceAccount.email}`;

    const members = PUBSUB_PREDEFINED_ROLES.map((role) =>
      new projects.IAMMember(`${name}-${role.split('.').pop()}`, { project, role, member }, { parent: this }));
    if (args.createResources ?? true) {
      this.customRole = new projects.IAMCustomRole(`${name}-resources-role`, {
        project,
        roleId: PUBSUB_CUSTOM_ROLE_ID,
        title: 'event-mesh Pub/Sub resources',
        description: 'Create and update (never delete) the topics and subscriptions the event mesh runtime uses',
        permissions: [...PUBSUB_RESOURCE_PERMISSIONS],
        stage: 'GA',
      }, { parent: this });
      members.push(new projects.IAMMember(`${name}-resources`, { project, role: this.customRole.name, member }, { parent: this }));
    }
    this.projectMembers = members;

    const wiMembers = pubsubKubernetesServiceAccounts(systemNamespace, integrationNamespace)
      .map((ksa) => ({ ksa, member: workloadIdentityMember(project, ksa.namespace, ksa.name) }));
    this.workloadIdentityBindings = wiMembers.map(({ ksa, member: wiMember }) =>
      new serviceaccount.IAMMember(`${name}-wi-${ksa.namespace}-${ksa.name}`, {
        serviceAccountId: this.serviceAccount.name,
        role: WORKLOAD_IDENTITY_USER_ROLE,
        member: wiMember,
      }, { parent: this }));
    this.workloadIdentityMembers = pulumi.output(wiMembers.map((m) => m.member));

    const ids = pubsubTopicIds(args.topics, integrationNamespace);
    this.topics = ids.map((id) => new pubsub.Topic(`${name}-${id}`, {
      project,
      name: id,
      ...(args.topics?.messageRetentionDuration ? { messageRetentionDuration: args.topics.messageRetentionDuration } : {}),
    }, { parent: this }));
    this.topicIds = pulumi.output(ids);

    this.registerOutputs({
      serviceAccountEmail: this.serviceAccountEmail,
      workloadIdentityMembers: this.workloadIdentityMembers,
      topicIds: this.topicIds,
    });
  }
}
