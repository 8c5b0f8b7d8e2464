/**
 * Building and comparing status content (pure): `observedGeneration`, conditions and the
 * kind's own fields, and whether a status differs from what the object already has (the
 * shell writes status only then).
 */
import { stableJson } from '../dispatcher/routing/table';
import type { ConditionSet } from './conditions';
import { refOf, type ObservedObject } from './objects';
import type { StatusUpdate } from './result';

export function statusUpdate(obj: ObservedObject, set: ConditionSet, fields: Record<string, unknown> = {}): StatusUpdate {
  const generation = obj.metadata?.generation;
  const status: Record<string, unknown> = {
    ...(typeof generation === 'number' ? { observedGeneration: generation } : {}),
    conditions: set.conditions(),
  };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) status[key] = value;
  return { ref: refOf(obj), status };
}

/** True when writing `status` would change the object's status. */
export function statusChanged(current: unknown, status: Record<string, unknown>): boolean {
  return stableJson(current ?? {}) !== stableJson(status);
}
