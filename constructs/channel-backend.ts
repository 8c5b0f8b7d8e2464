import * as kplus from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { ChannelKind } from './api';

/** `spec.channelTemplate` of a Knative Channel: which implementation backs it. */
export interface ChannelTemplate {
  readonly apiVersion: string;
  readonly kind: string;
  /** @default - none */
  readonly spec?: Readonly<Record<string, unknown>>;
}

/**
 * A channel implementation as the rest of the mesh sees it: the template its Channels carry
 * and the environment a runtime container needs to reach it. Env values are literals or
 * secretKeyRefs, never a secret's value.
 */
export interface ChannelBackend {
  readonly kind: ChannelKind;
  readonly channelTemplate: ChannelTemplate;
  /** Env vars for a runtime container; `scope` is the workload (for imported Secrets). */
  env(scope: Construct): Record<string, kplus.EnvValue>;
  /** Annotations for the ServiceAccount of every pod using it (GKE Workload Identity). @default - none */
  readonly serviceAccountAnnotations?: Readonly<Record<string, string>>;
  /** The ServiceAccount this channel's adapters run as. @default - the namespace's default */
  readonly adapterServiceAccount?: kplus.IServiceAccount;
  /** Read-only mounts a runtime container needs (e.g. a key file Secret). @default - none */
  mounts?(scope: Construct): ChannelMount[];
}

/** A volume a channel needs in its runtime containers. */
export interface ChannelMount {
  readonly path: string;
  readonly volume: kplus.Volume;
  readonly readOnly: boolean;
}

/**
 * Events kept in the process's memory: nothing to deploy, nothing durable. Adapter and
 * dispatcher only see each other's events when they share a process, i.e. under
 * `event-mesh dev`; use it for development and tests, not in a cluster.
 */
export class InMemoryChannelBackend implements ChannelBackend {
  public readonly kind = 'inmemory' as const;
  public readonly channelTemplate: ChannelTemplate = { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' };

  public env(): Record<string, kplus.EnvValue> {
    return {};
  }
}
