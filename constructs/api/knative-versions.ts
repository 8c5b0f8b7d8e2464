/**
 * Older Knative Eventing versions (pure). Kyma 1.x users wrote `eventing.knative.dev/v1alpha1`
 * (and later v1beta1) Triggers and Brokers; their shape is the v1 shape, so the CRDs serve
 * them with conversion None, and every reader (dispatcher, dev mode, controller) looks at
 * them as v1 through normalizeKnativeObject. The one v1alpha1 field v1 dropped,
 * `spec.filter.sourceAndType`, becomes the equivalent `spec.filter.attributes`.
 */
import { BROKER_API_VERSION, KNATIVE_EVENTING_GROUP, TRIGGER_API_VERSION } from './names';

/** Served besides v1 (the storage version) for Broker and Trigger. */
export const KNATIVE_EVENTING_OLDER_VERSIONS: readonly string[] = ['v1beta1', 'v1alpha1'];

const OLDER_API_VERSIONS = new Set(KNATIVE_EVENTING_OLDER_VERSIONS.map((v) => `${KNATIVE_EVENTING_GROUP}/${v}`));

/** True for an older served apiVersion of eventing.knative.dev (v1alpha1, v1beta1). */
export function isOlderKnativeEventingVersion(apiVersion: unknown): boolean {
  return typeof apiVersion === 'string' && OLDER_API_VERSIONS.has(apiVersion);
}

interface Versioned {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly spec?: unknown;
}

/** v1alpha1's `filter.sourceAndType` ("Any" or empty meant any value) as v1 `filter.attributes`. */
function triggerSpecAsV1(spec: unknown): unknown {
  if (!spec || typeof spec !== 'object') return spec;
  const s = spec as { filter?: { sourceAndType?: { type?: string; source?: string }; attributes?: Record<string, string> } };
  const sat = s.filter?.sourceAndType;
  if (!sat || typeof sat !== 'object') return spec;
  const attributes: Record<string, string> = { ...(s.filter?.attributes ?? {}) };
  if (sat.type && sat.type !== 'Any') attributes.type = sat.type;
  if (sat.source && sat.source !== 'Any') attributes.source = sat.source;
  const { sourceAndType: _dropped, ...filter } = s.filter ?? {};
  return { ...s, filter: { ...filter, attributes } };
}

/** A v1alpha1 / v1beta1 Broker or Trigger as the v1 object it is; anything else unchanged (same reference). */
export function normalizeKnativeObject<T extends Versioned>(obj: T): T {
  if (!obj || !isOlderKnativeEventingVersion(obj.apiVersion)) return obj;
  if (obj.kind === 'Trigger') return { ...obj, apiVersion: TRIGGER_API_VERSION, spec: triggerSpecAsV1(obj.spec) };
  if (obj.kind === 'Broker') return { ...obj, apiVersion: BROKER_API_VERSION };
  return obj;
}
