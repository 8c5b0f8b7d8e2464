/**
 * Which of a DesiredState's writes would change anything (pure): an apply whose fields the
 * observed object already has, a status equal to the observed one, or a delete of an object
 * that is gone are skipped, so a second pass over a converged cluster writes nothing.
 */
import type { ManifestObject } from '../dispatcher/routing/manifests';
import { objectKey, refKey, type ObjectRef, type ObservedObject } from './objects';
import type { DesiredState } from './reconcile-all';
import { statusChanged } from './status';

export type Write =
  | { readonly op: 'apply'; readonly key: string; readonly object: ManifestObject }
  | { readonly op: 'status'; readonly key: string; readonly ref: ObjectRef; readonly status: Record<string, unknown> }
  | { readonly op: 'delete'; readonly key: string; readonly ref: ObjectRef };

/** True when every field of `desired` is in `actual` with the same value (arrays element by element). */
export function contains(actual: unknown, desired: unknown): boolean {
  if (desired === undefined) return true;
  if (Array.isArray(desired)) {
    return Array.isArray(actual) && actual.length === desired.length && desired.every((d, i) => contains(actual[i], d));
  }
  if (desired && typeof desired === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(desired as Record<string, unknown>).every(([k, v]) => contains((actual as Record<string, unknown>)[k], v));
  }
  return actual === desired;
}

export function pendingWrites(desired: DesiredState, observed: readonly ManifestObject[]): Write[] {
  const byKey = new Map<string, ObservedObject>();
  for (const obj of observed) byKey.set(objectKey(obj), obj as ObservedObject);
  const writes: Write[] = [];
  for (const object of desired.apply) {
    const key = objectKey(object);
    const current = byKey.get(key);
    const { __origin: _, ...fields } = object;
    if (!current || !contains(current, fields)) writes.push({ op: 'apply', key: `apply:${key}`, object: fields });
  }
  for (const { ref, status } of desired.status) {
    const key = refKey(ref);
    const current = byKey.get(key);
    if (current && statusChanged(current.status, status)) writes.push({ op: 'status', key: `status:${key}`, ref, status });
  }
  for (const ref of desired.delete) {
    const key = refKey(ref);
    if (byKey.has(key)) writes.push({ op: 'delete', key: `delete:${key}`, ref });
  }
  return writes;
}
