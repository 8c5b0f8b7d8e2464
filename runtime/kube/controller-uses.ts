/**
 * What `event-mesh controller` reads and writes through the kube layer (pure data), from
 * which its RBAC rules are derived (KUBE_VERBS). Derived from CONTROLLER_ACCESS
 * (constructs/api/controller-access.ts), the one table the controller's guarded client
 * enforces and the constructs render its roles from; leader election adds its Lease uses.
 */
import { CONTROLLER_ACCESS } from '../../constructs/api';
import { kindFor } from './kinds';
import type { KubeOperation, KubeUse } from './kinds';

export const CONTROLLER_USES: readonly KubeUse[] = CONTROLLER_ACCESS
  .map((rule) => ({
    kind: kindFor(rule.resource.apiVersion, rule.resource.kind, rule.resource.namespaced),
    operations: rule.calls.filter((c): c is KubeOperation & typeof c => c !== 'lease'),
  }))
  .filter((use) => use.operations.length > 0);
