/**
 * The thin Kubernetes I/O layer: the only code that talks to the API server (and the only
 * code that imports @kubernetes/client-node, in transport.ts). Informers with list + watch,
 * server-side apply, status subresource writes, delete, Lease leader election, and the RBAC
 * verbs all of it needs. Everything that decides what to write is pure and lives elsewhere.
 */
import { CONTROLLER_USES } from './controller-uses';
import { DISPATCHER_USES, kubeVerbsFor, LEADER_ELECTION_USES } from './kinds';
import type { KubeVerbs } from './kinds';

export { createKubeClient } from './client';
export type { KubeClient, KubeClientOptions } from './client';
export { Informer } from './informer';
export type { InformerOptions, WatchEventType, WatchHandler } from './informer';
export {
  collectionPath,
  DISPATCHER_KUBE_VERBS,
  DISPATCHER_USES,
  groupOf,
  KINDS,
  kindFor,
  kubeVerbsFor,
  LEADER_ELECTION_KUBE_VERBS,
  LEADER_ELECTION_USES,
  objectPath,
  OPERATION_VERBS,
  pluralOf,
} from './kinds';
export type { KubeKind, KubeOperation, KubeUse, KubeVerbs, ObjectRef } from './kinds';
export { runLeaderElection } from './leader';
export type { LeaderElection, LeaderElectionOptions } from './leader';
export { KubeApiError } from './transport';
export type { TransportOptions } from './transport';
export { CONTROLLER_USES } from './controller-uses';

/** Every verb on every resource this layer and its callers (controller, dispatcher) use. */
export const KUBE_VERBS: readonly KubeVerbs[] = kubeVerbsFor([...CONTROLLER_USES, ...LEADER_ELECTION_USES, ...DISPATCHER_USES]);
/** What the controller's role must grant: its own uses and leader election. */
export const CONTROLLER_KUBE_VERBS: readonly KubeVerbs[] = kubeVerbsFor([...CONTROLLER_USES, ...LEADER_ELECTION_USES]);
