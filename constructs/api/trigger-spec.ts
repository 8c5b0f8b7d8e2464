/**
 * The shapes of Knative's Trigger, Broker and Subscription specs as they appear in the
 * synthesized manifests, with the validation both the constructs (at synth time) and the
 * runtime (when it loads manifests) apply. One definition, no second copy.
 */
import { isValidFilterAttribute } from './attributes';
import { isIsoDuration } from './duration';

/** A reference to an addressable object (Knative `KReference`). */
export interface KReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** Where to send events: an object reference, a URI, or a reference plus a relative URI. */
export interface Destination {
  readonly ref?: KReference;
  readonly uri?: string;
}

export type BackoffPolicy = 'linear' | 'exponential';

/** Knative's `DeliverySpec`. Durations are ISO-8601 (`PT0.5S`). */
export interface DeliverySpec {
  readonly retry?: number;
  readonly backoffPolicy?: BackoffPolicy;
  readonly backoffDelay?: string;
  readonly timeout?: string;
  readonly deadLetterSink?: Destination;
}

/** The `filters` dialect of Knative's "new trigger filters" (CloudEvents Subscriptions API). */
export type SubscriptionsApiFilter =
  | { readonly exact: Readonly<Record<string, string>> }
  | { readonly prefix: Readonly<Record<string, string>> }
  | { readonly suffix: Readonly<Record<string, string>> }
  | { readonly all: readonly SubscriptionsApiFilter[] }
  | { readonly any: readonly SubscriptionsApiFilter[] }
  | { readonly not: SubscriptionsApiFilter }
  | { readonly cesql: string };

export interface TriggerFilter {
  /** Attribute name to value; all ANDed, exact and case-sensitive; `""` means "present". */
  readonly attributes?: Readonly<Record<string, string>>;
}

export interface TriggerSpec {
  readonly broker: string;
  readonly filter?: TriggerFilter;
  readonly filters?: readonly SubscriptionsApiFilter[];
  readonly subscriber: Destination;
  readonly delivery?: DeliverySpec;
}

export interface BrokerSpec {
  readonly delivery?: DeliverySpec;
}

export interface SubscriptionSpec {
  readonly channel: KReference;
  readonly subscriber: Destination;
  readonly reply?: Destination;
  readonly delivery?: DeliverySpec;
}

export type DeliveryOrder = 'ordered' | 'unordered';

/** One problem found in a spec: the field path and a message that says the fix. */
export interface SpecProblem {
  readonly field: string;
  readonly message: string;
}

const FILTER_DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'];

export function validateDestination(dest: Destination | undefined, field: string): SpecProblem[] {
  if (!dest || (!dest.ref && !dest.uri)) {
    return [{ field, message: `${field} needs a ref (a Service, Knative Service or Function) or a uri` }];
  }
  const problems: SpecProblem[] = [];
  if (dest.ref) {
    for (const key of ['apiVersion', 'kind', 'name'] as const) {
      if (!dest.ref[key]) problems.push({ field: `${field}.ref.${key}`, message: `${field}.ref.${key} is required` });
    }
  }
  if (dest.uri !== undefined) {
    const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(dest.uri);
    if (!absolute && !dest.ref) {
      problems.push({ field: `${field}.uri`, message: `${field}.uri must be an absolute URL such as "http://host/path", got "${dest.uri}"` });
    } else if (absolute) {
      try {
        new URL(dest.uri);
      } catch {
        problems.push({ field: `${field}.uri`, message: `${field}.uri is not a valid URL: "${dest.uri}"` });
      }
    }
  }
  return problems;
}

export function validateDelivery(delivery: DeliverySpec | undefined, field = 'delivery'): SpecProblem[] {
  if (!delivery) return [];
  const problems: SpecProblem[] = [];
  if (delivery.retry !== undefined && (!Number.isInteger(delivery.retry) || delivery.retry < 0)) {
    problems.push({ field: `${field}.retry`, message: `${field}.retry must be a whole number of at least 0, got ${delivery.retry}` });
  }
  if (delivery.backoffPolicy !== undefined && delivery.backoffPolicy !== 'linear' && delivery.backoffPolicy !== 'exponential') {
    problems.push({ field: `${field}.backoffPolicy`, message: `${field}.backoffPolicy must be "linear" or "exponential", got "${delivery.backoffPolicy}"` });
  }
  for (const key of ['backoffDelay', 'timeout'] as const) {
    const value = delivery[key];
    if (value !== undefined && !isIsoDuration(value)) {
      problems.push({ field: `${field}.${key}`, message: `${field}.${key} must be an ISO-8601 duration such as "PT0.2S" or "PT1M", got "${value}"` });
    }
  }
  if (delivery.deadLetterSink !== undefined) problems.push(...validateDestination(delivery.deadLetterSink, `${field}.deadLetterSink`));
  return problems;
}

export function validateFilterAttributes(attributes: Readonly<Record<string, string>> | undefined, field: string): SpecProblem[] {
  if (!attributes) return [];
  const problems: SpecProblem[] = [];
  for (const [name, value] of Object.entries(attributes)) {
    if (!isValidFilterAttribute(name)) {
      problems.push({ field: `${field}.${name}`, message: `attribute name "${name}" must match ^[a-z][a-z0-9]*$ (lower-case letters and digits, starting with a letter)` });
    }
    if (typeof value !== 'string') {
      problems.push({ field: `${field}.${name}`, message: `${field}.${name} must be a string, got ${JSON.stringify(value)}` });
    }
  }
  return problems;
}

export function validateSubscriptionsApiFilter(filter: SubscriptionsApiFilter, field: string): SpecProblem[] {
  const keys = Object.keys(filter ?? {});
  if (keys.length !== 1 || !FILTER_DIALECTS.includes(keys[0])) {
    return [{ field, message: `${field} must have exactly one of ${FILTER_DIALECTS.join(', ')}, got ${JSON.stringify(keys)}` }];
  }
  const f = filter as Record<string, unknown>;
  const key = keys[0];
  if (key === 'all' || key === 'any') {
    const list = f[key];
    if (!Array.isArray(list)) return [{ field: `${field}.${key}`, message: `${field}.${key} must be a list of filters` }];
    return list.flatMap((child, i) => validateSubscriptionsApiFilter(child, `${field}.${key}[${i}]`));
  }
  if (key === 'not') return validateSubscriptionsApiFilter(f.not as SubscriptionsApiFilter, `${field}.not`);
  if (key === 'cesql') {
    return typeof f.cesql === 'string' && f.cesql.trim() ? [] : [{ field: `${field}.cesql`, message: `${field}.cesql must be a non-empty CESQL expression` }];
  }
  const attrs = f[key] as Record<string, string>;
  const problems = validateFilterAttributes(attrs, `${field}.${key}`);
  if (key !== 'exact' && attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === '') problems.push({ field: `${field}.${key}.${name}`, message: `${field}.${key}.${name} must not be empty: a ${key} of "" matches everything` });
    }
  }
  return problems;
}

export function validateTriggerSpec(spec: TriggerSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (!spec.broker) problems.push({ field: 'spec.broker', message: 'spec.broker is required (the Broker in the same namespace, usually "default")' });
  problems.push(...validateFilterAttributes(spec.filter?.attributes, 'spec.filter.attributes'));
  (spec.filters ?? []).forEach((f, i) => problems.push(...validateSubscriptionsApiFilter(f, `spec.filters[${i}]`)));
  problems.push(...validateDestination(spec.subscriber, 'spec.subscriber'));
  problems.push(...validateDelivery(spec.delivery, 'spec.delivery'));
  return problems;
}
