/**
 * The controller's view of Kubernetes objects (pure): the fields it reads beyond a manifest's
 * (uid, generation, ownerReferences, status), references, keys, and an index of what was
 * observed, looked up by kind, namespace and name.
 */
import { normalizeKnativeObject } from '../../constructs/api';
import type { ManifestObject } from '../dispatcher/routing/manifests';
import type { ObjectRef } from '../kube/kinds';

export type { ObjectRef } from '../kube/kinds';

export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/** A ManifestObject as it comes from the API server. */
export interface ObservedObject extends ManifestObject {
  readonly metadata?: ManifestObject['metadata'] & {
    readonly uid?: string;
    readonly generation?: number;
    readonly resourceVersion?: string;
    readonly deletionTimestamp?: string;
    readonly ownerReferences?: readonly OwnerReference[];
  };
  readonly status?: Record<string, unknown>;
}

export function refOf(obj: ManifestObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata?.name ?? '',
  };
}

/** `group/kind/namespace/name`: the version is left out, so v1alpha1 and v1 of one object are one key. */
export function refKey(ref: { apiVersion?: string; kind?: string; namespace?: string; name?: string }): string {
  return `${groupOf(ref.apiVersion)}/${ref.kind ?? ''}/${ref.namespace ?? ''}/${ref.name ?? ''}`;
}

export function objectKey(obj: ManifestObject): string {
  return refKey({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata?.namespace, name: obj.metadata?.name });
}

/** The group of an apiVersion ("" for the core group). */
export function groupOf(apiVersion: string | undefined): string {
  const v = apiVersion ?? '';
  return v.includes('/') ? v.slice(0, v.indexOf('/')) : '';
}

/** What the controller observed, indexed. Later duplicates of one object win. */
export class ObservedIndex {
  private readonly byKey = new Map<string, ObservedObject>();
  private readonly byKind = new Map<string, ObservedObject[]>();

  constructor(objects: readonly ManifestObject[]) {
    for (const raw of objects) {
      if (!raw || typeof raw !== 'object' || typeof raw.kind !== 'string' || !raw.metadata?.name) continue;
      // v1alpha1 / v1beta1 Brokers and Triggers are read as the v1 objects they are.
      const obj = normalizeKnativeObject(raw);
      this.byKey.set(objectKey(obj), obj as ObservedObject);
    }
    for (const obj of this.byKey.values()) {
      const list = this.byKind.get(obj.kind as string) ?? [];
      list.push(obj);
      this.byKind.set(obj.kind as string, list);
    }
    for (const list of this.byKind.values()) list.sort((a, b) => objectKey(a).localeCompare(objectKey(b)));
  }

  /** Objects of a group and kind ("" is the core group), sorted by namespace and name. */
  all(group: string, kind: string): ObservedObject[] {
    return (this.byKind.get(kind) ?? []).filter((o) => groupOf(o.apiVersion) === group);
  }

  get(group: string, kind: string, namespace: string | undefined, name: string): ObservedObject | undefined {
    return this.byKey.get(`${group}/${kind}/${namespace ?? ''}/${name}`);
  }
}
