/**
 * Google Cloud Pub/Sub names the runtime, the constructs and the Pulumi component share
 * (pure): topic and subscription IDs of channel topics and consumers, and the Kubernetes
 * ServiceAccounts that GKE Workload Identity binds to the mesh's Google service account.
 */
import { createHash } from 'node:crypto';
import { DISPATCHER_NAME } from './wiring';

/** A Google Cloud project ID (6–30 characters), optionally domain-scoped (`example.com:proj`). */
export const GCP_PROJECT_ID = /^([a-z0-9][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

/** Every topic and subscription the mesh creates starts with this (a letter, never "goog"). */
export const PUBSUB_NAME_PREFIX = 'em.';
/** Pub/Sub resource IDs are at most 255 characters. */
const MAX_ID = 255;
/** The ServiceAccount the adapters of Pub/Sub applications run as (integration namespace). */
export const PUBSUB_ADAPTER_SERVICE_ACCOUNT = 'event-mesh-pubsub-adapter';
/** The annotation GKE Workload Identity reads: the Google service account a pod acts as. */
export const GKE_WORKLOAD_IDENTITY_ANNOTATION = 'iam.gke.io/gcp-service-account';

/**
 * Escape a channel name for a Pub/Sub ID: `A-Z a-z 0-9 . _ + -` are kept, every other
 * byte of its UTF-8 becomes `%HH`. Injective (a `%` is escaped too), so two names never
 * share an ID; `~` never appears, which lets it separate parts.
 */
export function escapePubSubName(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._+-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** An ID of at most 255 characters: long ones keep their start and get a hash of the whole. */
function bounded(id: string): string {
  if (id.length <= MAX_ID) return id;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 20);
  return `${id.slice(0, MAX_ID - hash.length - 1)}~${hash}`;
}

/** The Pub/Sub topic ID of a channel topic (`channel.ns.app` → `em.channel.ns.app`). */
export function pubsubTopicId(topic: string): string {
  return bounded(`${PUBSUB_NAME_PREFIX}${escapePubSubName(topic)}`);
}

/**
 * The subscription ID of a durable consumer of a topic. Subscription IDs are global to the
 * project, so the topic is part of it. Message ordering cannot be changed on an existing
 * subscription: an ordered consumer has its own subscription (`~ordered`).
 */
export function pubsubSubscriptionId(topic: string, consumer: string, ordered = false): string {
  return bounded(`${PUBSUB_NAME_PREFIX}${escapePubSubName(topic)}~${escapePubSubName(consumer)}${ordered ? '~ordered' : ''}`);
}

/**
 * The Kubernetes ServiceAccounts whose pods talk to Pub/Sub: the dispatcher's in the system
 * namespace and the Pub/Sub adapters' one in the integration namespace. Workload Identity
 * binds exactly these to the Google service account.
 */
export function pubsubKubernetesServiceAccounts(systemNamespace: string, integrationNamespace: string): { namespace: string; name: string }[] {
  return [
    { namespace: systemNamespace, name: DISPATCHER_NAME },
    { namespace: integrationNamespace, name: PUBSUB_ADAPTER_SERVICE_ACCOUNT },
  ];
}

/** The IAM member of a Kubernetes ServiceAccount under GKE Workload Identity. */
export function workloadIdentityMember(project: string, namespace: string, serviceAccount: string): string {
  return `serviceAccount:${project}.svc.id.goog[${namespace}/${serviceAccount}]`;
}
