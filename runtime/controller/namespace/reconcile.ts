/**
 * Namespaces asking for a Broker (pure): a Namespace labelled `knative-eventing-injection=enabled`
 * or `eventing.knative.dev/injection=enabled` gets a `default` Broker of our class when it has
 * none. Like Knative's namespace controller, the controller only ever creates it: an existing
 * `default` Broker (of any class) is never applied over, and none is ever deleted.
 */
import { DEFAULT_BROKER_NAME, INJECTION_LABELS, KNATIVE_EVENTING_GROUP, brokerObject } from '../../../constructs/api';
import type { ManifestObject } from '../../dispatcher/routing/manifests';
import type { ObservedIndex, ObservedObject } from '../objects';

export function wantsBroker(namespace: ObservedObject): boolean {
  const labels = namespace.metadata?.labels ?? {};
  return Object.entries(INJECTION_LABELS).some(([key, value]) => labels[key] === value);
}

/** The `default` Broker to create in `namespace`, or undefined when it has one (or does not ask). */
export function reconcileNamespace(namespace: ObservedObject, index: ObservedIndex): ManifestObject | undefined {
  const name = namespace.metadata?.name;
  if (!name || namespace.metadata?.deletionTimestamp || !wantsBroker(namespace)) return undefined;
  if (index.get(KNATIVE_EVENTING_GROUP, 'Broker', name, DEFAULT_BROKER_NAME)) return undefined;
  return brokerObject({ name: DEFAULT_BROKER_NAME, namespace: name });
}
