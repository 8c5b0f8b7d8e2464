/**
 * Everything `event-mesh controller` does to the API server, as one table (pure constants).
 * The controller's shell only calls the API through a client guarded by this table (a call
 * outside it throws), and the constructs render the controller's RBAC from it, so the
 * ClusterRole and Roles grant exactly what the code calls, nothing more.
 */
import {
  KNATIVE_EVENTING_GROUP, KNATIVE_MESSAGING_GROUP, KYMA_APPLICATION_GROUP, KYMA_SOURCES_GROUP,
} from './names';

/** What the controller does with a resource; each maps to the HTTP verbs it needs. */
export type ControllerCall = 'watch' | 'apply' | 'patchStatus' | 'delete' | 'lease';

/**
 * RBAC verbs per call. A server-side apply is a PATCH, and one that creates the object is
 * also authorized as `create`; a status write is a PATCH of the `/status` subresource; a
 * watch is a list then a watch; a Lease is read, created once and renewed with updates.
 */
export const CALL_VERBS: Readonly<Record<ControllerCall, readonly string[]>> = {
  watch: ['list', 'watch'],
  apply: ['create', 'patch'],
  patchStatus: ['patch'],
  delete: ['delete'],
  lease: ['get', 'create', 'update'],
};

/** Where a rule applies: every namespace (ClusterRole), or one of the mesh's namespaces (Role). */
export type AccessScope = 'cluster' | 'integration' | 'system';

export interface ControllerResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly group: string;
  /** Lower-case plural, as RBAC names it. */
  readonly resource: string;
  readonly namespaced: boolean;
}

export interface ControllerAccessRule {
  readonly resource: ControllerResource;
  readonly scope: AccessScope;
  readonly calls: readonly ControllerCall[];
  /** Only when the adapters are Knative Services. @default false */
  readonly knativeServingOnly?: boolean;
}

const r = (apiVersion: string, kind: string, resource: string, namespaced = true): ControllerResource => ({
  apiVersion, kind, resource, namespaced, group: apiVersion.includes('/') ? apiVersion.split('/')[0] : '',
});

export const CONTROLLER_RESOURCES = {
  application: r(`${KYMA_APPLICATION_GROUP}/v1alpha1`, 'Application', 'applications', false),
  applicationMapping: r(`${KYMA_APPLICATION_GROUP}/v1alpha1`, 'ApplicationMapping', 'applicationmappings'),
  httpSource: r(`${KYMA_SOURCES_GROUP}/v1alpha1`, 'HTTPSource', 'httpsources'),
  broker: r(`${KNATIVE_EVENTING_GROUP}/v1`, 'Broker', 'brokers'),
  trigger: r(`${KNATIVE_EVENTING_GROUP}/v1`, 'Trigger', 'triggers'),
  channel: r(`${KNATIVE_MESSAGING_GROUP}/v1`, 'Channel', 'channels'),
  subscription: r(`${KNATIVE_MESSAGING_GROUP}/v1`, 'Subscription', 'subscriptions'),
  namespace: r('v1', 'Namespace', 'namespaces', false),
  deployment: r('apps/v1', 'Deployment', 'deployments'),
  service: r('v1', 'Service', 'services'),
  networkPolicy: r('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies'),
  podDisruptionBudget: r('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  knativeService: r('serving.knative.dev/v1', 'Service', 'services'),
  /** The adapters' serving and client certificates (adapter auth mtls via cert-manager). */
  certificate: r('cert-manager.io/v1', 'Certificate', 'certificates'),
  lease: r('coordination.k8s.io/v1', 'Lease', 'leases'),
} as const;

const R = CONTROLLER_RESOURCES;

/**
 * The table. Watches of user-namespace kinds and status writes are cluster-wide; what an
 * Application renders is written only in the integration namespace; the Lease only in the
 * system namespace. Namespaces get their injection labels by server-side apply, which the
 * API server authorizes as `create` too when the Namespace is missing.
 */
export const CONTROLLER_ACCESS: readonly ControllerAccessRule[] = [
  { resource: R.application, scope: 'cluster', calls: ['watch', 'patchStatus'] },
  { resource: R.applicationMapping, scope: 'cluster', calls: ['watch', 'patchStatus'] },
  { resource: R.httpSource, scope: 'cluster', calls: ['watch', 'patchStatus'] },
  { resource: R.broker, scope: 'cluster', calls: ['watch', 'apply', 'patchStatus'] },
  { resource: R.trigger, scope: 'cluster', calls: ['watch', 'patchStatus'] },
  { resource: R.channel, scope: 'cluster', calls: ['watch'] },
  { resource: R.subscription, scope: 'cluster', calls: ['watch', 'patchStatus'] },
  { resource: R.namespace, scope: 'cluster', calls: ['watch', 'apply'] },
  { resource: R.httpSource, scope: 'integration', calls: ['apply'] },
  { resource: R.channel, scope: 'integration', calls: ['apply'] },
  { resource: R.subscription, scope: 'integration', calls: ['apply', 'delete'] },
  { resource: R.deployment, scope: 'integration', calls: ['watch', 'apply'] },
  { resource: R.service, scope: 'integration', calls: ['watch', 'apply'] },
  { resource: R.networkPolicy, scope: 'integration', calls: ['apply'] },
  { resource: R.podDisruptionBudget, scope: 'integration', calls: ['apply'] },
  { resource: R.knativeService, scope: 'integration', calls: ['watch', 'apply'], knativeServingOnly: true },
  { resource: R.certificate, scope: 'integration', calls: ['apply'] },
  { resource: R.lease, scope: 'system', calls: ['lease'] },
];

/** One RBAC rule: a group, a resource (maybe `x/status`) and verbs, in one scope. */
export interface AccessGrant {
  readonly scope: AccessScope;
  readonly group: string;
  readonly resource: string;
  readonly verbs: readonly string[];
}

/**
 * The table as RBAC grants, merged per scope, group and resource: a status write needs
 * `patch` on `<resource>/status`, every other call its verbs on the resource itself.
 */
export function controllerGrants(options: { knativeServing?: boolean } = {}): AccessGrant[] {
  const merged = new Map<string, { scope: AccessScope; group: string; resource: string; verbs: Set<string> }>();
  const add = (scope: AccessScope, group: string, resource: string, verbs: readonly string[]) => {
    const key = `${scope}|${group}|${resource}`;
    const entry = merged.get(key) ?? { scope, group, resource, verbs: new Set<string>() };
    for (const v of verbs) entry.verbs.add(v);
    merged.set(key, entry);
  };
  for (const rule of CONTROLLER_ACCESS) {
    if (rule.knativeServingOnly && !options.knativeServing) continue;
    for (const call of rule.calls) {
      if (call === 'patchStatus') add(rule.scope, rule.resource.group, `${rule.resource.resource}/status`, CALL_VERBS.patchStatus);
      else add(rule.scope, rule.resource.group, rule.resource.resource, CALL_VERBS[call]);
    }
  }
  const order = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
  return [...merged.values()].map((e) => ({ ...e, verbs: [...e.verbs].sort((a, b) => order.indexOf(a) - order.indexOf(b)) }));
}

/** The access rule allowing `call` on `apiVersion`/`kind` in `namespace`, if any. */
export function findAccess(
  call: ControllerCall, apiVersion: string | undefined, kind: string | undefined, namespace: string | undefined,
  namespaces: { readonly integration: string; readonly system: string }, options: { knativeServing?: boolean } = {},
): ControllerAccessRule | undefined {
  const group = (apiVersion ?? '').includes('/') ? (apiVersion as string).split('/')[0] : '';
  return CONTROLLER_ACCESS.find((rule) => {
    if (rule.knativeServingOnly && !options.knativeServing) return false;
    if (!rule.calls.includes(call) || rule.resource.group !== group || rule.resource.kind !== kind) return false;
    if (rule.scope === 'cluster') return true;
    // Watches scoped to one namespace are only allowed when made in that namespace.
    return namespace === (rule.scope === 'integration' ? namespaces.integration : namespaces.system);
  });
}
