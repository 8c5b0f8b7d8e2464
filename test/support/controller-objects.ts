/**
 * Builders for the objects the controller observes (pure test helpers): API-server-shaped
 * Applications, mappings, Namespaces, Brokers, Triggers, Subscriptions and the like, with
 * uid, generation and status where the API server would set them.
 */
import {
  APPLICATION_API_VERSION, BROKER_API_VERSION, BROKER_CLASS_ANNOTATION, CHANNEL_API_VERSION, CHANNEL_KIND_ANNOTATION,
  HTTP_SOURCE_API_VERSION, SUBSCRIPTION_API_VERSION, TRIGGER_API_VERSION, applicationMappingObject,
} from '../../constructs/api';
import type { ObservedObject } from '../../runtime/controller/objects';

type Meta = NonNullable<ObservedObject['metadata']>;
type Options = { labels?: Record<string, string>; annotations?: Record<string, string>; status?: Record<string, unknown>; generation?: number; uid?: string; spec?: unknown };

function object(apiVersion: string, kind: string, name: string, namespace: string | undefined, o: Options = {}): ObservedObject {
  const metadata: Meta = {
    name,
    ...(namespace ? { namespace } : {}),
    uid: o.uid ?? `uid-${kind.toLowerCase()}-${namespace ?? ''}-${name}`,
    generation: o.generation ?? 1,
    ...(o.labels ? { labels: o.labels } : {}),
    ...(o.annotations ? { annotations: o.annotations } : {}),
  };
  return { apiVersion, kind, metadata, ...(o.spec !== undefined ? { spec: o.spec } : {}), ...(o.status ? { status: o.status } : {}) };
}

export const application = (name: string, o: Options = {}) => object(APPLICATION_API_VERSION, 'Application', name, undefined, { spec: {}, ...o });
export const mapping = (application: string, namespace: string, o: Options = {}) => {
  const m = applicationMappingObject({ application, namespace });
  return object(m.apiVersion, m.kind, application, namespace, { labels: m.metadata.labels, spec: m.spec, ...o });
};
export const namespace = (name: string, o: Options = {}) => object('v1', 'Namespace', name, undefined, o);
export const broker = (namespace: string, name = 'default', o: Options & { class?: string } = {}) =>
  object(BROKER_API_VERSION, 'Broker', name, namespace, {
    spec: {},
    ...o,
    annotations: { ...(o.class !== undefined ? { [BROKER_CLASS_ANNOTATION]: o.class } : {}), ...o.annotations },
  });
export const trigger = (namespace: string, name: string, spec: unknown, o: Options = {}) => object(TRIGGER_API_VERSION, 'Trigger', name, namespace, { spec, ...o });
export const channel = (namespace: string, name: string, o: Options = {}) =>
  object(CHANNEL_API_VERSION, 'Channel', name, namespace, { spec: {}, annotations: { [CHANNEL_KIND_ANNOTATION]: 'nats' }, ...o });
export const subscription = (namespace: string, name: string, spec: unknown, o: Options = {}) => object(SUBSCRIPTION_API_VERSION, 'Subscription', name, namespace, { spec, ...o });
export const httpSource = (namespace: string, name: string, source: string, o: Options = {}) => object(HTTP_SOURCE_API_VERSION, 'HTTPSource', name, namespace, { spec: { source }, ...o });
export const deployment = (namespace: string, name: string, available: boolean | undefined, o: Options = {}) =>
  object('apps/v1', 'Deployment', name, namespace, {
    spec: {},
    ...(available === undefined ? {} : { status: { availableReplicas: available ? 1 : 0, conditions: [{ type: 'Available', status: available ? 'True' : 'False' }] } }),
    ...o,
  });
export const service = (namespace: string, name: string, o: Options = {}) => object('v1', 'Service', name, namespace, { spec: {}, ...o });
export const knativeService = (namespace: string, name: string, ready: 'True' | 'False' | 'Unknown', reason?: string) =>
  object('serving.knative.dev/v1', 'Service', name, namespace, { spec: {}, status: { conditions: [{ type: 'Ready', status: ready, ...(reason ? { reason } : {}) }] } });

/** A fixed clock. */
export const clock = (iso: string) => () => new Date(iso);
