/**
 * The controller's port to the API server (types and a guard; the guard does no I/O of its
 * own). The shell talks to the Kubernetes I/O layer (runtime/kube) only through
 * `guardClient`, which refuses any call CONTROLLER_ACCESS does not list and records every
 * call made, so the RBAC the constructs render (from the same table) is what the code uses.
 */
import { CONTROLLER_ACCESS, findAccess, type ControllerCall } from '../../constructs/api';
import type { KubeClient, KubeKind } from '../kube';

/** What the controller needs of runtime/kube's client. */
export type ControllerKubeClient = Pick<KubeClient, 'watch' | 'list' | 'apply' | 'patchStatus' | 'delete'>;

/** A kind the controller watches, and the one namespace it watches it in (if only one). */
export interface WatchedKind extends KubeKind {
  readonly namespace?: string;
}

export interface GuardOptions {
  readonly integrationNamespace: string;
  readonly systemNamespace: string;
  readonly knativeServing?: boolean;
}

/** One call the shell made: `<call> <group>/<kind> [namespace]`. */
export type RecordedCall = { call: ControllerCall; apiVersion: string; kind: string; namespace?: string };

export class AccessDeniedError extends Error {
  constructor(call: ControllerCall, apiVersion: string | undefined, kind: string | undefined, namespace: string | undefined) {
    super(`the controller may not ${call} ${kind} (${apiVersion}) in ${namespace ? `namespace "${namespace}"` : 'the cluster'}: CONTROLLER_ACCESS (constructs/api/controller-access.ts) does not list it`);
    this.name = 'AccessDeniedError';
  }
}

/** The kinds the controller watches, from the table (integration-scoped ones in that namespace only). */
export function watchedKinds(options: GuardOptions): WatchedKind[] {
  return CONTROLLER_ACCESS
    .filter((rule) => rule.calls.includes('watch') && (!rule.knativeServingOnly || options.knativeServing))
    .map((rule) => ({
      apiVersion: rule.resource.apiVersion,
      kind: rule.resource.kind,
      plural: rule.resource.resource,
      namespaced: rule.resource.namespaced,
      ...(rule.scope === 'integration' ? { namespace: options.integrationNamespace } : rule.scope === 'system' ? { namespace: options.systemNamespace } : {}),
    }));
}

/** The table's KubeKind for an object's apiVersion and kind (its plural), if the controller knows it. */
export function kindOf(apiVersion: string | undefined, kind: string | undefined): KubeKind | undefined {
  const rule = CONTROLLER_ACCESS.find((r) => r.resource.apiVersion === apiVersion && r.resource.kind === kind);
  return rule && { apiVersion: rule.resource.apiVersion, kind: rule.resource.kind, plural: rule.resource.resource, namespaced: rule.resource.namespaced };
}

export function guardClient(client: ControllerKubeClient, options: GuardOptions): ControllerKubeClient & { readonly calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const namespaces = { integration: options.integrationNamespace, system: options.systemNamespace };
  const check = (call: ControllerCall, apiVersion: string | undefined, kind: string | undefined, namespace: string | undefined) => {
    if (!findAccess(call, apiVersion, kind, namespace, namespaces, options)) throw new AccessDeniedError(call, apiVersion, kind, namespace);
    calls.push({ call, apiVersion: apiVersion ?? '', kind: kind ?? '', ...(namespace ? { namespace } : {}) });
  };
  return {
    calls,
    async watch(kind, handler, watchOptions) {
      check('watch', kind.apiVersion, kind.kind, watchOptions?.namespace);
      return client.watch(kind, handler, watchOptions);
    },
    list: (kind) => client.list(kind),
    async apply(obj, fieldManager) {
      check('apply', obj.apiVersion, obj.kind, obj.metadata?.namespace);
      return client.apply(obj, fieldManager);
    },
    async patchStatus(kind, ref, status, fieldManager) {
      check('patchStatus', kind.apiVersion, kind.kind, ref.namespace);
      return client.patchStatus(kind, ref, status, fieldManager);
    },
    async delete(kind, ref) {
      check('delete', kind.apiVersion, kind.kind, ref.namespace);
      return client.delete(kind, ref);
    },
  };
}
