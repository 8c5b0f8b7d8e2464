/**
 * What `event-mesh dev` and `event-mesh status` run against a manifest directory (pure):
 * the controller's reconcileAll over the directory's objects, its applies and deletes
 * folded into an in-memory object set and its status written onto the objects, repeated
 * until nothing changes (a fixpoint) — the same reconcile a cluster runs, with the
 * directory as the API server. Adapters that dev runs locally count as the available
 * replicas of their Deployments.
 */
import { adapterName } from '../../constructs/api';
import { reconcileAll } from '../controller/reconcile-all';
import type { ControllerContext, DesiredState } from '../controller/reconcile-all';
import { objectKey, refKey } from '../controller/objects';
import type { ManifestObject } from '../dispatcher/routing/manifests';
import { stableJson } from '../dispatcher/routing/table';

export interface DevObjectSet {
  /** The directory's objects with what reconcile applied, minus what it deleted, with status. */
  readonly objects: ManifestObject[];
  /** The last pass's output (its status entries are the status table). */
  readonly desired: DesiredState;
  /** Passes it took; `converged` false when it gave up at the limit. */
  readonly passes: number;
  readonly converged: boolean;
}

export interface DevObjectSetOptions {
  /** Applications whose adapter runs locally: their Deployments count as available. */
  readonly runningAdapters?: ReadonlySet<string>;
  /** @default 8 */
  readonly maxPasses?: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Server-side apply's effect, close enough: maps merge, lists and scalars are replaced. */
function merge(base: unknown, patch: unknown): unknown {
  if (!isObj(base) || !isObj(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = merge(base[k], v);
  return out;
}

const AVAILABLE = { availableReplicas: 1, readyReplicas: 1, conditions: [{ type: 'Available', status: 'True', reason: 'RunningLocally' }] };

function withLocalAdapters(objects: ManifestObject[], running: ReadonlySet<string>): ManifestObject[] {
  if (running.size === 0) return objects;
  const names = new Set([...running].map(adapterName));
  return objects.map((o) => (o.kind === 'Deployment' && names.has(o.metadata?.name ?? '') ? ({ ...o, status: AVAILABLE } as ManifestObject) : o));
}

/** One pass folded in: applies merged over (or added to) the set, deletes removed, status set. */
export function foldDesired(objects: readonly ManifestObject[], desired: DesiredState): ManifestObject[] {
  const byKey = new Map<string, ManifestObject>();
  for (const o of objects) byKey.set(objectKey(o), o);
  for (const obj of desired.apply) {
    const key = objectKey(obj);
    const before = byKey.get(key);
    byKey.set(key, before ? (merge(before, obj) as ManifestObject) : obj);
  }
  for (const ref of desired.delete) byKey.delete(refKey(ref));
  for (const s of desired.status) {
    const key = refKey(s.ref);
    const obj = byKey.get(key);
    if (obj) byKey.set(key, { ...obj, status: s.status } as ManifestObject);
  }
  return [...byKey.values()];
}

export function devObjectSet(fileObjects: readonly ManifestObject[], ctx: ControllerContext, options: DevObjectSetOptions = {}): DevObjectSet {
  const fixed = ctx.now();
  const passCtx: ControllerContext = { ...ctx, now: () => fixed };
  const running = options.runningAdapters ?? new Set<string>();
  const max = options.maxPasses ?? 8;
  let objects = withLocalAdapters([...fileObjects], running);
  let last = stableJson(objects);
  for (let pass = 1; ; pass++) {
    const desired = reconcileAll(objects, passCtx);
    const next = withLocalAdapters(foldDesired(objects, desired), running);
    const text = stableJson(next);
    if (text === last || pass >= max) return { objects: next, desired, passes: pass, converged: text === last };
    objects = next;
    last = text;
  }
}
