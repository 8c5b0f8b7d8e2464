/**
 * Which Brokers belong to this mesh (pure). One predicate shared by the constructs' routing
 * ConfigMap, the dispatcher's routing table and the controller: a Broker of class
 * `EventMeshBroker`, or one with no class annotation at all, is ours; any other class (e.g.
 * Knative's `MTChannelBasedBroker`) belongs to another data plane and is left alone.
 */
import { BROKER_CLASS, BROKER_CLASS_ANNOTATION } from './names';

/** Is a Broker with these annotations ours? Class `EventMeshBroker`, or no class annotation at all. */
export function isServedBrokerClass(annotations: Readonly<Record<string, string>> | undefined): boolean {
  const cls = annotations?.[BROKER_CLASS_ANNOTATION];
  return cls === undefined || cls === '' || cls === BROKER_CLASS;
}

/** The class annotation's value ("" when absent). */
export function brokerClassOf(annotations: Readonly<Record<string, string>> | undefined): string {
  return annotations?.[BROKER_CLASS_ANNOTATION] ?? '';
}
