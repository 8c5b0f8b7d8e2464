/**
 * What a reconciler returns (pure data): objects to apply, objects to delete, status to
 * write, and notes for the log. Reconcilers never write; the shell does (runtime/controller/index.ts).
 */
import type { ManifestObject } from '../dispatcher/routing/manifests';
import type { ObjectRef } from './objects';

export interface StatusUpdate {
  ref: ObjectRef;
  status: Record<string, unknown>;
}

export interface Note {
  /** Notes with the same key are logged once per process. */
  key: string;
  level: 'info' | 'warn';
  message: string;
  ref?: ObjectRef;
}

export interface ReconcileResult {
  apply: ManifestObject[];
  delete: ObjectRef[];
  status: StatusUpdate[];
  notes: Note[];
}

export function emptyResult(): ReconcileResult {
  return { apply: [], delete: [], status: [], notes: [] };
}

export function mergeResults(into: ReconcileResult, from: ReconcileResult): ReconcileResult {
  into.apply.push(...from.apply);
  into.delete.push(...from.delete);
  into.status.push(...from.status);
  into.notes.push(...from.notes);
  return into;
}
