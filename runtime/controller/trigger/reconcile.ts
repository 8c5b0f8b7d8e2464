/**
 * Trigger status (pure). A Trigger on a Broker of another class is not ours (no status). On
 * a missing Broker it gets BrokerReady=False, reason BrokerDoesNotExist, instead of being
 * dropped silently. Otherwise: BrokerReady from the Broker's Ready, SubscriberResolved with
 * `subscriberUri` (and `deadLetterSinkUri`), DependencyReady from the `knative.dev/dependency`
 * annotation, SpecValid from the dispatcher's own loading of the Trigger (its RoutingProblems).
 */
import {
  DEFAULT_BROKER_NAME, KNATIVE_EVENTING_GROUP, destinationUrl, isServedBrokerClass,
  type DeliverySpec, type Destination, type TriggerSpec,
} from '../../../constructs/api';
import { ConditionSet, conditionOf, type Condition } from '../conditions';
import { addressingOf, type ControllerContext } from '../context';
import { groupOf, type ObservedIndex, type ObservedObject } from '../objects';
import type { StatusUpdate } from '../result';
import { statusUpdate } from '../status';
import { TRIGGER_CONDITIONS, TriggerReason } from './conditions';

export const DEPENDENCY_ANNOTATION = 'knative.dev/dependency';

export interface TriggerInputs {
  readonly index: ObservedIndex;
  readonly ctx: ControllerContext;
  /** Ready of each Broker of ours as computed in this pass, by `namespace/name`. */
  readonly brokerReady: ReadonlyMap<string, Condition>;
  /** What the dispatcher reports when it loads this Trigger ([] when it loads). */
  readonly problems: readonly string[];
}

function resolve(dest: Destination | undefined, namespace: string, ctx: ControllerContext): { url?: string; error?: string } {
  if (!dest) return { error: 'spec.subscriber is required' };
  try {
    return { url: destinationUrl(dest, namespace, addressingOf(ctx)) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** undefined when the Trigger belongs to another broker class. */
export function reconcileTrigger(trigger: ObservedObject, inputs: TriggerInputs): StatusUpdate | undefined {
  const { index, ctx } = inputs;
  const namespace = trigger.metadata?.namespace ?? 'default';
  const spec = (trigger.spec ?? {}) as Partial<TriggerSpec>;
  const brokerName = typeof spec.broker === 'string' && spec.broker ? spec.broker : DEFAULT_BROKER_NAME;
  const broker = index.get(KNATIVE_EVENTING_GROUP, 'Broker', namespace, brokerName);
  if (broker && !isServedBrokerClass(broker.metadata?.annotations)) return undefined;

  const set = new ConditionSet(TRIGGER_CONDITIONS, trigger.status, ctx.now);
  if (!broker) {
    set.markFalse('BrokerReady', TriggerReason.BrokerDoesNotExist, `Broker "${brokerName}" does not exist in namespace "${namespace}"`);
  } else {
    set.propagate('BrokerReady', inputs.brokerReady.get(`${namespace}/${brokerName}`),
      { reason: TriggerReason.BrokerNotReady, message: `Broker "${brokerName}" is not ready` });
  }

  const subscriber = resolve(spec.subscriber, namespace, ctx);
  const deadLetter = spec.delivery?.deadLetterSink
    ?? ((broker?.spec as { delivery?: DeliverySpec } | undefined)?.delivery?.deadLetterSink);
  const deadLetterSink = deadLetter ? resolve(deadLetter, namespace, ctx) : undefined;
  if (subscriber.error) set.markFalse('SubscriberResolved', TriggerReason.UnresolvedSubscriber, `spec.subscriber: ${subscriber.error}`);
  else if (deadLetterSink?.error) set.markFalse('SubscriberResolved', TriggerReason.UnresolvedSubscriber, `delivery.deadLetterSink: ${deadLetterSink.error}`);
  else set.markTrue('SubscriberResolved');

  markDependency(set, trigger, index);

  if (inputs.problems.length) set.markFalse('SpecValid', TriggerReason.InvalidSpec, inputs.problems.join('; '));
  else set.markTrue('SpecValid');

  return statusUpdate(trigger, set, { subscriberUri: subscriber.url, deadLetterSinkUri: deadLetterSink?.url });
}

function markDependency(set: ConditionSet, trigger: ObservedObject, index: ObservedIndex): void {
  const text = trigger.metadata?.annotations?.[DEPENDENCY_ANNOTATION];
  if (text === undefined) {
    set.markTrue('DependencyReady');
    return;
  }
  let ref: { apiVersion?: unknown; kind?: unknown; name?: unknown };
  try {
    ref = JSON.parse(text) as typeof ref;
  } catch {
    ref = {};
  }
  if (!ref || typeof ref.apiVersion !== 'string' || typeof ref.kind !== 'string' || typeof ref.name !== 'string') {
    set.markFalse('DependencyReady', TriggerReason.InvalidDependency, `annotation ${DEPENDENCY_ANNOTATION} must be JSON {"apiVersion","kind","name"}, got ${JSON.stringify(text)}`);
    return;
  }
  const namespace = trigger.metadata?.namespace ?? 'default';
  const group = groupOf(ref.apiVersion);
  const observedKind = index.all(group, ref.kind).length > 0 || WATCHED_DEPENDENCIES.has(`${group}/${ref.kind}`);
  if (!observedKind) {
    set.markUnknown('DependencyReady', TriggerReason.DependencyNotObserved, `the controller does not watch ${ref.kind} (${ref.apiVersion})`);
    return;
  }
  const dep = index.get(group, ref.kind, namespace, ref.name);
  if (!dep) {
    set.markFalse('DependencyReady', TriggerReason.DependencyDoesNotExist, `${ref.kind} "${ref.name}" does not exist in namespace "${namespace}"`);
    return;
  }
  const ready = conditionOf(dep);
  if (ready && ready.status !== 'True') set.markFalse('DependencyReady', TriggerReason.DependencyNotReady, `${ref.kind} "${ref.name}" is not ready${ready.reason ? ` (${ready.reason})` : ''}`);
  else set.markTrue('DependencyReady');
}

/** Kinds the controller watches, so "none observed" means "none exists". */
const WATCHED_DEPENDENCIES = new Set(['sources.kyma-project.io/HTTPSource', 'eventing.knative.dev/Broker', 'eventing.knative.dev/Trigger', 'messaging.knative.dev/Channel', 'messaging.knative.dev/Subscription']);
