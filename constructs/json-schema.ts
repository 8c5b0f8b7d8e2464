/**
 * OpenAPI v3 schema fragments for our CRDs, written with the field names the API server
 * reads (`x-kubernetes-preserve-unknown-fields`, not the camelCase of the generated k8s
 * types, which do not convert nested `items`). Every node is typed, as a structural schema
 * must be; unknown fields are preserved only where the shape is open by design.
 */
import { DEFAULT_BACKOFF_DELAY, DEFAULT_BACKOFF_POLICY, DEFAULT_DELIVERY_TEXT, DEFAULT_DELIVERY_TIMEOUT, DEFAULT_RETRY, ISO_DURATION_PATTERN } from './api';

export interface JsonSchema {
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly description?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: JsonSchema;
  readonly items?: JsonSchema;
  readonly enum?: readonly (string | number | boolean)[];
  readonly pattern?: string;
  readonly format?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly minProperties?: number;
  readonly maxProperties?: number;
  readonly default?: unknown;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
}

export const str = (description: string, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'string', description, ...extra });
export const int = (description: string, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'integer', description, ...extra });
export const bool = (description: string): JsonSchema => ({ type: 'boolean', description });
export const obj = (description: string, properties: Record<string, JsonSchema>, required?: string[]): JsonSchema => ({
  type: 'object',
  description,
  properties,
  ...(required && required.length ? { required } : {}),
});
export const arr = (description: string, items: JsonSchema, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'array', description, items, ...extra });
export const stringMap = (description: string): JsonSchema => ({ type: 'object', description, additionalProperties: { type: 'string' } });
/** An object whose shape belongs to someone else (a channel implementation's spec). */
export const openObject = (description: string): JsonSchema => ({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });

export const isoDuration = (description: string): JsonSchema => str(`${description} ISO-8601, e.g. PT0.5S.`, { pattern: ISO_DURATION_PATTERN });

/** Knative `KReference`. */
export const kReference = (description: string, withNamespace = true): JsonSchema =>
  obj(description, {
    apiVersion: str('API version of the referent, e.g. v1 or serving.knative.dev/v1.', { minLength: 1 }),
    kind: str('Kind of the referent, e.g. Service.', { minLength: 1 }),
    name: str('Name of the referent.', { minLength: 1 }),
    ...(withNamespace ? { namespace: str('Namespace of the referent; defaults to the namespace of the object holding it.') } : {}),
  }, ['apiVersion', 'kind', 'name']);

/** Knative `Destination`: a ref, a URI, or a URI relative to the ref. */
export const destination = (description: string): JsonSchema =>
  ({
    ...obj(description, {
      ref: kReference('The addressable object events go to.'),
      uri: str('An absolute URL, or a path relative to the ref.'),
      CACerts: str('PEM CA certificates to trust for TLS to this destination.'),
      audience: str('OIDC audience of the destination.'),
    }),
    minProperties: 1,
  });

/** Knative `DeliverySpec`. */
export const delivery = (description: string): JsonSchema =>
  obj(`${description} Defaults for unset fields (a Trigger first takes its Broker's): ${DEFAULT_DELIVERY_TEXT}.`, {
    deadLetterSink: destination('Where events go after the last retry failed. Default: none (the event is dropped and counted).'),
    retry: int(`Retries after the first attempt before the event goes to the dead letter sink. Default: ${DEFAULT_RETRY}.`, { minimum: 0 }),
    backoffPolicy: str(`How the delay grows between retries. Default: ${DEFAULT_BACKOFF_POLICY}.`, { enum: ['linear', 'exponential'] }),
    backoffDelay: isoDuration(`Base delay between retries. Default: ${DEFAULT_BACKOFF_DELAY}.`),
    timeout: isoDuration(`Timeout of each delivery attempt. Default: ${DEFAULT_DELIVERY_TIMEOUT}.`),
  });

/** Knative-style condition: the shape `kubectl wait --for=condition=Ready` and printer columns read. */
export const conditions: JsonSchema = arr('The latest observations of the resource\'s state.', obj('A Knative condition.', {
  type: str('Type of condition, e.g. Ready.'),
  status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
  severity: str('Error, Warning or Info; empty means Error.'),
  reason: str('One-word CamelCase reason for the last transition.'),
  message: str('Human-readable details about the last transition.'),
  lastTransitionTime: str('When the condition last changed.', { format: 'date-time' }),
}, ['type', 'status']));

/** The status every Knative-style resource carries, plus its own fields. */
export const knativeStatus = (extra: Record<string, JsonSchema> = {}): JsonSchema =>
  obj('Observed state, written by the controller.', {
    observedGeneration: int('The metadata.generation the controller last processed.'),
    conditions,
    annotations: stringMap('Additional status information.'),
    ...extra,
  });

export const addressable: JsonSchema = obj('The address events are posted to.', {
  name: str('Name of the address.'),
  url: str('The URL.'),
  CACerts: str('PEM CA certificates of the address.'),
  audience: str('OIDC audience of the address.'),
});
