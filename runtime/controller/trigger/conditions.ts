/** The Trigger's condition set and reasons (pure constants). */
export const TRIGGER_CONDITIONS = ['BrokerReady', 'SubscriberResolved', 'DependencyReady', 'SpecValid'] as const;

export const TriggerReason = {
  /** spec.broker names no Broker in the Trigger's namespace. */
  BrokerDoesNotExist: 'BrokerDoesNotExist',
  /** The Broker exists but is not Ready. */
  BrokerNotReady: 'BrokerNotReady',
  /** The subscriber (or dead letter sink) cannot be turned into a URL. */
  UnresolvedSubscriber: 'UnresolvedSubscriber',
  /** The `knative.dev/dependency` annotation is not a {apiVersion, kind, name} reference. */
  InvalidDependency: 'InvalidDependency',
  /** The dependency named by `knative.dev/dependency` does not exist. */
  DependencyDoesNotExist: 'DependencyDoesNotExist',
  /** The dependency exists but is not Ready. */
  DependencyNotReady: 'DependencyNotReady',
  /** The dependency is of a kind this controller does not watch. */
  DependencyNotObserved: 'DependencyNotObserved',
  /** The dispatcher cannot load the Trigger (filter, delivery or annotations): the message names the field. */
  InvalidSpec: 'InvalidSpec',
} as const;
