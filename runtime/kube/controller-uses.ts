/**
 * What `event-mesh controller` reads and writes through the kube layer (pure data), from
 * which its RBAC rules are derived (KUBE_VERBS). The controller's owner edits this list
 * when its reconcilers start or stop using a kind or an operation.
 */
import { KINDS } from './kinds';
import type { KubeUse } from './kinds';

export const CONTROLLER_USES: readonly KubeUse[] = [
  { kind: KINDS.application, operations: ['watch'] },
  { kind: KINDS.applicationMapping, operations: ['watch', 'patchStatus'] },
  { kind: KINDS.namespace, operations: ['watch', 'apply'] },
  { kind: KINDS.httpSource, operations: ['watch', 'apply', 'patchStatus', 'delete'] },
  { kind: KINDS.deployment, operations: ['watch', 'apply', 'delete'] },
  { kind: KINDS.service, operations: ['watch', 'apply', 'delete'] },
  { kind: KINDS.networkPolicy, operations: ['watch', 'apply', 'delete'] },
  { kind: KINDS.channel, operations: ['watch', 'apply', 'delete'] },
  { kind: KINDS.subscription, operations: ['watch', 'apply', 'patchStatus', 'delete'] },
  { kind: KINDS.broker, operations: ['watch', 'apply', 'patchStatus'] },
  { kind: KINDS.trigger, operations: ['watch', 'patchStatus'] },
];
