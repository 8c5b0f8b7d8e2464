/**
 * The Kubernetes kinds the mesh reads and writes, their REST paths, and the RBAC verbs
 * each use needs (pure). KUBE_VERBS is what the controller's and dispatcher's roles must
 * grant: the RBAC test compares the rendered roles with it.
 */
import {
  APPLICATION_API_VERSION,
  BROKER_API_VERSION,
  CHANNEL_API_VERSION,
  HTTP_SOURCE_API_VERSION,
  KYMA_APPLICATION_GROUP,
  SUBSCRIPTION_API_VERSION,
  TRIGGER_API_VERSION,
} from '../../constructs/api';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface KubeKind {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const kind = (apiVersion: string, k: string, plural: string, namespaced = true): KubeKind => ({ apiVersion, kind: k, plural, namespaced });

export const KINDS = {
  namespace: kind('v1', 'Namespace', 'namespaces', false),
  service: kind('v1', 'Service', 'services'),
  serviceAccount: kind('v1', 'ServiceAccount', 'serviceaccounts'),
  configMap: kind('v1', 'ConfigMap', 'configmaps'),
  deployment: kind('apps/v1', 'Deployment', 'deployments'),
  networkPolicy: kind('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies'),
  podDisruptionBudget: kind('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  lease: kind('coordination.k8s.io/v1', 'Lease', 'leases'),
  broker: kind(BROKER_API_VERSION, 'Broker', 'brokers'),
  trigger: kind(TRIGGER_API_VERSION, 'Trigger', 'triggers'),
  subscription: kind(SUBSCRIPTION_API_VERSION, 'Subscription', 'subscriptions'),
  channel: kind(CHANNEL_API_VERSION, 'Channel', 'channels'),
  httpSource: kind(HTTP_SOURCE_API_VERSION, 'HTTPSource', 'httpsources'),
  application: kind(APPLICATION_API_VERSION, 'Application', 'applications', false),
  applicationMapping: kind(`${KYMA_APPLICATION_GROUP}/v1alpha1`, 'ApplicationMapping', 'applicationmappings'),
} as const satisfies Record<string, KubeKind>;

/** `""` for the core group, else the part before the slash. */
export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/** The lower-case plural Kubernetes uses for a kind (Policy -> policies, Ingress -> ingresses). */
export function pluralOf(kindName: string): string {
  const k = kindName.toLowerCase();
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  if (/(s|x|ch|sh)$/.test(k)) return `${k}es`;
  return `${k}s`;
}

/** A known kind by apiVersion + kind, else one derived from the object (namespaced when it has a namespace). */
export function kindFor(apiVersion: string, kindName: string, namespaced: boolean): KubeKind {
  const known = Object.values(KINDS).find((k) => k.apiVersion === apiVersion && k.kind === kindName);
  return known ?? kind(apiVersion, kindName, pluralOf(kindName), namespaced);
}

/** `/api/v1` or `/apis/<group>/<version>`. */
function groupPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** Collection path: all namespaces when `namespace` is undefined. */
export function collectionPath(k: KubeKind, namespace?: string): string {
  return k.namespaced && namespace ? `${groupPath(k.apiVersion)}/namespaces/${encodeURIComponent(namespace)}/${k.plural}` : `${groupPath(k.apiVersion)}/${k.plural}`;
}

export function objectPath(k: KubeKind, ref: { namespace?: string; name: string }): string {
  if (k.namespaced && !ref.namespace) throw new Error(`${k.kind} ${ref.name}: metadata.namespace is required (${k.kind} is namespaced)`);
  return `${collectionPath(k, ref.namespace)}/${encodeURIComponent(ref.name)}`;
}

export interface KubeVerbs {
  readonly group: string;
  readonly resource: string;
  readonly verbs: string[];
}

/** The RBAC verbs of each client operation. */
export const OPERATION_VERBS = {
  watch: ['list', 'watch'],
  get: ['get'],
  create: ['create'],
  replace: ['update'],
  /** Server-side apply is a PATCH that creates the object when it is missing. */
  apply: ['create', 'patch'],
  patchStatus: ['patch'],
  delete: ['delete'],
} as const;
export type KubeOperation = keyof typeof OPERATION_VERBS;

export interface KubeUse {
  readonly kind: KubeKind;
  readonly operations: readonly KubeOperation[];
}

/** Merge uses into one sorted verbs list per group/resource (`<plural>/status` for patchStatus). */
export function kubeVerbsFor(uses: readonly KubeUse[]): KubeVerbs[] {
  const out = new Map<string, { group: string; resource: string; verbs: Set<string> }>();
  const add = (group: string, resource: string, verbs: readonly string[]) => {
    const key = `${group}|${resource}`;
    const entry = out.get(key) ?? { group, resource, verbs: new Set<string>() };
    for (const v of verbs) entry.verbs.add(v);
    out.set(key, entry);
  };
  for (const u of uses) {
    for (const op of u.operations) {
      add(groupOf(u.kind.apiVersion), op === 'patchStatus' ? `${u.kind.plural}/status` : u.kind.plural, OPERATION_VERBS[op]);
    }
  }
  return [...out.values()]
    .map((e) => ({ group: e.group, resource: e.resource, verbs: [...e.verbs].sort() }))
    .sort((a, b) => (a.group === b.group ? a.resource.localeCompare(b.resource) : a.group.localeCompare(b.group)));
}

/** runLeaderElection: read, create and renew its Lease. */
export const LEADER_ELECTION_USES: readonly KubeUse[] = [{ kind: KINDS.lease, operations: ['get', 'create', 'replace'] }];

/** The dispatcher in cluster routing mode: informers on what buildRoutingTable reads. */
export const DISPATCHER_USES: readonly KubeUse[] = [KINDS.broker, KINDS.trigger, KINDS.subscription, KINDS.channel].map((k) => ({ kind: k, operations: ['watch'] }));

export const DISPATCHER_KUBE_VERBS: readonly KubeVerbs[] = kubeVerbsFor(DISPATCHER_USES);
export const LEADER_ELECTION_KUBE_VERBS: readonly KubeVerbs[] = kubeVerbsFor(LEADER_ELECTION_USES);
