/**
 * The Google Cloud Pub/Sub channel backend (pure: declares Kubernetes objects, no I/O): the
 * channel template its Channels carry, the PUBSUB_* environment of the runtime, and the
 * credentials by reference — GKE Workload Identity (ServiceAccounts annotated with the Google
 * service account, the recommended way) or a Secret holding a key file mounted read-only.
 */
import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { GCP_PROJECT_ID, GKE_WORKLOAD_IDENTITY_ANNOTATION, PUBSUB_ADAPTER_SERVICE_ACCOUNT } from './api';
import type { ChannelBackend, ChannelMount, ChannelTemplate } from './channel-backend';
import { configError, shown } from './errors';
import { meshLabels } from './mesh-labels';
import { requireDnsLabel } from './prop-checks';

/** Where a key file Secret is mounted (read-only) in runtime containers. */
export const PUBSUB_KEY_MOUNT_PATH = '/var/run/secrets/event-mesh/pubsub';
/** The file name of the mounted key (GOOGLE_APPLICATION_CREDENTIALS points at it). */
export const PUBSUB_KEY_FILE = 'key.json';

/** A Secret (created out of band) holding a Google service account key file. */
export interface PubSubKeySecret {
  /** The Secret's name; it must exist in the system and the integration namespace. */
  readonly name: string;
  /** The key in the Secret whose value is the JSON key file. @default "key.json" */
  readonly key?: string;
}

export interface PubSubChannelOptions {
  /** The Google Cloud project of the topics and subscriptions (PUBSUB_PROJECT). */
  readonly project: string;
  /**
   * The Google service account (email) the adapters and the dispatcher act as through GKE
   * Workload Identity: their Kubernetes ServiceAccounts get the `iam.gke.io/gcp-service-account`
   * annotation, no key exists anywhere. The recommended way (the `GcpPubSub` Pulumi component
   * creates the account and the binding).
   * @default - none; then `keySecret` must be set
   */
  readonly gcpServiceAccount?: string;
  /**
   * A Secret holding a service account key file, mounted read-only with
   * GOOGLE_APPLICATION_CREDENTIALS pointing at it. Only the Secret's name is rendered.
   * @default - none; use `gcpServiceAccount` (Workload Identity)
   */
  readonly keySecret?: PubSubKeySecret;
}

export interface PubSubChannelProps extends PubSubChannelOptions {
  /** The integration namespace (where the Pub/Sub adapters' ServiceAccount is rendered). */
  readonly integrationNamespace: string;
}

/** A Google service account email. */
const GSA_EMAIL = /^[a-z][-a-z0-9]{4,28}[a-z0-9]@[a-z0-9][-a-z0-9.:]*\.gserviceaccount\.com$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * Google Cloud Pub/Sub as a channel implementation. The adapters of Pub/Sub applications run
 * as the `event-mesh-pubsub-adapter` ServiceAccount rendered here; the dispatcher's
 * ServiceAccount gets the same Workload Identity annotation.
 */
export class PubSubChannel extends Construct implements ChannelBackend {
  public readonly kind = 'pubsub' as const;
  public readonly channelTemplate: ChannelTemplate;
  public readonly project: string;
  /** Undefined when a key Secret is used. */
  public readonly gcpServiceAccount?: string;
  /** Undefined with Workload Identity. */
  public readonly keySecret?: Required<PubSubKeySecret>;
  public readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
  public readonly adapterServiceAccount: kplus.ServiceAccount;

  constructor(scope: Construct, id: string, props: PubSubChannelProps) {
    super(scope, id);
    if (typeof props.project !== 'string' || !GCP_PROJECT_ID.test(props.project)) {
      throw configError(this, `pubsub project must be a Google Cloud project ID (6 to 30 lower-case letters, digits and "-", starting with a letter), got ${shown(props.project)}`,
        'set pubsub.project to the project of the topics, e.g. "my-project"');
    }
    this.project = props.project;
    if (props.gcpServiceAccount !== undefined && props.keySecret !== undefined) {
      throw configError(this, 'pubsub sets both gcpServiceAccount and keySecret',
        'keep gcpServiceAccount (GKE Workload Identity, recommended) and drop keySecret, or the other way round');
    }
    if (props.gcpServiceAccount === undefined && props.keySecret === undefined) {
      throw configError(this, 'pubsub has no credentials',
        'set pubsub.gcpServiceAccount to a Google service account email (GKE Workload Identity, recommended) or pubsub.keySecret to a Secret holding a key file');
    }
    if (props.gcpServiceAccount !== undefined) {
      if (typeof props.gcpServiceAccount !== 'string' || !GSA_EMAIL.test(props.gcpServiceAccount)) {
        throw configError(this, `pubsub gcpServiceAccount must be a Google service account email, got ${shown(props.gcpServiceAccount)}`,
          'set it to e.g. "event-mesh@my-project.iam.gserviceaccount.com"');
      }
      this.gcpServiceAccount = props.gcpServiceAccount;
    }
    if (props.keySecret !== undefined) {
      const key = props.keySecret.key ?? PUBSUB_KEY_FILE;
      if (!SECRET_KEY.test(key)) {
        throw configError(this, `pubsub keySecret.key must be a Secret key (letters, digits, "-", "_", "."), got ${shown(key)}`, 'set it to the key holding the JSON key file, e.g. "key.json"');
      }
      this.keySecret = { name: requireDnsLabel(this, 'pubsub keySecret.name', props.keySecret.name, 253), key };
    }
    this.serviceAccountAnnotations = this.gcpServiceAccount ? { [GKE_WORKLOAD_IDENTITY_ANNOTATION]: this.gcpServiceAccount } : {};
    // The knative-gcp channel kind: the Channel CR says where the topic lives, never a credential.
    this.channelTemplate = { apiVersion: 'messaging.cloud.google.com/v1beta1', kind: 'Channel', spec: { project: this.project } };

    this.adapterServiceAccount = new kplus.ServiceAccount(this, 'AdapterServiceAccount', {
      metadata: { name: PUBSUB_ADAPTER_SERVICE_ACCOUNT, namespace: props.integrationNamespace, labels: meshLabels(PUBSUB_ADAPTER_SERVICE_ACCOUNT, 'adapter') },
      automountToken: false,
    });
    for (const [k, v] of Object.entries(this.serviceAccountAnnotations)) ApiObject.of(this.adapterServiceAccount).metadata.addAnnotation(k, v);
  }

  public env(): Record<string, kplus.EnvValue> {
    return {
      PUBSUB_PROJECT: kplus.EnvValue.fromValue(this.project),
      ...(this.keySecret ? { GOOGLE_APPLICATION_CREDENTIALS: kplus.EnvValue.fromValue(`${PUBSUB_KEY_MOUNT_PATH}/${PUBSUB_KEY_FILE}`) } : {}),
    };
  }

  public mounts(scope: Construct): ChannelMount[] {
    if (!this.keySecret) return [];
    const secret = kplus.Secret.fromSecretName(scope, 'PubSubKeySecret', this.keySecret.name);
    const volume = kplus.Volume.fromSecret(scope, 'PubSubKeyVolume', secret, {
      name: 'pubsub-key',
      items: { [this.keySecret.key]: { path: PUBSUB_KEY_FILE } },
      defaultMode: 0o440,
    });
    return [{ path: PUBSUB_KEY_MOUNT_PATH, volume, readOnly: true }];
  }
}
