/**
 * The Kubernetes client the controller and the dispatcher use (I/O): informers, server-side
 * apply with a field manager, status subresource writes, delete, and plain get / create /
 * replace for Leases. Every call is recorded as (group, resource, verb), so a test can show
 * that the RBAC rules grant what the code really calls.
 */
import type { ManifestObject } from '../dispatcher/routing/manifests';
import { Informer } from './informer';
import type { InformerOptions, WatchHandler } from './informer';
import { collectionPath, groupOf, kindFor, kubeVerbsFor, objectPath } from './kinds';
import type { KubeKind, KubeOperation, KubeVerbs, ObjectRef } from './kinds';
import { KubeApiError, Transport } from './transport';
import type { TransportOptions } from './transport';

export interface KubeClient {
  /** List, then watch; the handler sees every object once as ADDED, then changes. */
  watch(kind: KubeKind, handler: WatchHandler, options?: InformerOptions): Promise<{ stop(): void; synced: Promise<void> }>;
  /** From the cache of the newest informer of this kind ([] when none runs). */
  list(kind: KubeKind): ManifestObject[];
  /** Server-side apply (PATCH application/apply-patch+yaml, force) as `fieldManager`; the object as stored. */
  apply(obj: ManifestObject, fieldManager: string): Promise<ManifestObject>;
  /** Server-side apply of `status` through the status subresource. */
  patchStatus(kind: KubeKind, ref: ObjectRef, status: Record<string, unknown>, fieldManager: string): Promise<void>;
  /** Delete (background propagation: the garbage collector removes dependents); a missing object is not an error. */
  delete(kind: KubeKind, ref: ObjectRef): Promise<void>;
  /** The object, or undefined when it does not exist. */
  get(kind: KubeKind, ref: ObjectRef): Promise<ManifestObject | undefined>;
  /** Create; rejects with KubeApiError 409 when it exists. */
  create(kind: KubeKind, obj: ManifestObject): Promise<ManifestObject>;
  /** Update (PUT) with the object's metadata.resourceVersion; rejects with KubeApiError 409 on a conflict. */
  replace(kind: KubeKind, obj: ManifestObject): Promise<ManifestObject>;
  /** What this client has called so far, as RBAC rules. */
  used(): KubeVerbs[];
  /** Stop every informer. */
  close(): Promise<void>;
}

export interface KubeClientOptions extends TransportOptions, Pick<InformerOptions, 'initialBackoffMs' | 'maxBackoffMs' | 'watchTimeoutSeconds' | 'onError'> {}

const APPLY_PATCH = 'application/apply-patch+yaml';

function refOf(obj: ManifestObject): ObjectRef {
  const m = obj.metadata ?? {};
  if (!obj.apiVersion || !obj.kind || !m.name) throw new Error(`cannot write an object without apiVersion, kind and metadata.name: ${JSON.stringify(obj).slice(0, 120)}`);
  return { apiVersion: obj.apiVersion, kind: obj.kind, namespace: m.namespace, name: m.name };
}

/** Only what the API server should see: no `__origin`, and (for apply) no status. */
function wire(obj: ManifestObject, dropStatus: boolean): Record<string, unknown> {
  const { __origin: _origin, ...rest } = obj as ManifestObject & { status?: unknown };
  if (dropStatus) delete (rest as { status?: unknown }).status;
  return rest;
}

export function createKubeClient(options: KubeClientOptions): KubeClient {
  const transport = new Transport(options);
  const informers = new Map<string, Informer[]>();
  const uses = new Map<string, { kind: KubeKind; operations: Set<KubeOperation> }>();
  const record = (kind: KubeKind, op: KubeOperation) => {
    const key = `${groupOf(kind.apiVersion)}|${kind.plural}`;
    const entry = uses.get(key) ?? { kind, operations: new Set<KubeOperation>() };
    entry.operations.add(op);
    uses.set(key, entry);
  };
  const kindKey = (k: KubeKind) => `${k.apiVersion}|${k.plural}`;

  return {
    async watch(kind, handler, watchOptions = {}) {
      record(kind, 'watch');
      const informer = new Informer(transport, kind, handler, { ...options, ...watchOptions });
      const list = informers.get(kindKey(kind)) ?? [];
      informers.set(kindKey(kind), [...list, informer]);
      informer.start();
      return {
        synced: informer.synced,
        stop: () => {
          const rest = (informers.get(kindKey(kind)) ?? []).filter((i) => i !== informer);
          informers.set(kindKey(kind), rest);
          void informer.stop();
        },
      };
    },

    list(kind) {
      const list = informers.get(kindKey(kind)) ?? [];
      return list.length > 0 ? list[list.length - 1].list() : [];
    },

    async apply(obj, fieldManager) {
      const ref = refOf(obj);
      const kind = kindFor(ref.apiVersion, ref.kind, ref.namespace !== undefined);
      record(kind, 'apply');
      const q = new URLSearchParams({ fieldManager, force: 'true' });
      const res = await transport.request('PATCH', `${objectPath(kind, ref)}?${q}`, wire(obj, true), APPLY_PATCH);
      return res.body as ManifestObject;
    },

    async patchStatus(kind, ref, status, fieldManager) {
      record(kind, 'patchStatus');
      const q = new URLSearchParams({ fieldManager, force: 'true' });
      const body = { apiVersion: kind.apiVersion, kind: kind.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) }, status };
      await transport.request('PATCH', `${objectPath(kind, ref)}/status?${q}`, body, APPLY_PATCH);
    },

    async delete(kind, ref) {
      record(kind, 'delete');
      try {
        await transport.request('DELETE', objectPath(kind, ref), { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' });
      } catch (err) {
        if (err instanceof KubeApiError && err.statusCode === 404) return;
        throw err;
      }
    },

    async get(kind, ref) {
      record(kind, 'get');
      try {
        return (await transport.request('GET', objectPath(kind, ref))).body as ManifestObject;
      } catch (err) {
        if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
        throw err;
      }
    },

    async create(kind, obj) {
      record(kind, 'create');
      return (await transport.request('POST', collectionPath(kind, obj.metadata?.namespace), wire(obj, false))).body as ManifestObject;
    },

    async replace(kind, obj) {
      record(kind, 'replace');
      return (await transport.request('PUT', objectPath(kind, refOf(obj)), wire(obj, false))).body as ManifestObject;
    },

    used() {
      return kubeVerbsFor([...uses.values()].map((u) => ({ kind: u.kind, operations: [...u.operations] })));
    },

    async close() {
      const all = [...informers.values()].flat();
      informers.clear();
      await Promise.all(all.map((i) => i.stop()));
    },
  };
}
