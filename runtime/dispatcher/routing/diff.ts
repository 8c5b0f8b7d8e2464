/**
 * What changed between two routing tables, pure. A route whose fingerprint is equal is
 * `unchanged` (its consumer keeps running); `changed` routes keep their durable consumer
 * name, so their position in the topic survives the change.
 */
import type { BrokerRoute, ConsumerSettings, RoutingTable, SubscriptionRoute, TriggerRoute } from './table';

export interface Keyed {
  readonly key: string;
  readonly fingerprint: string;
}

export interface RouteDiff<T extends Keyed> {
  readonly added: T[];
  readonly removed: T[];
  readonly changed: { readonly before: T; readonly after: T }[];
  readonly unchanged: T[];
}

export function diffRoutes<T extends Keyed>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>): RouteDiff<T> {
  const diff: RouteDiff<T> = { added: [], removed: [], changed: [], unchanged: [] };
  for (const [key, next] of after) {
    const prev = before.get(key);
    if (!prev) diff.added.push(next);
    else if (prev.fingerprint === next.fingerprint) diff.unchanged.push(prev);
    else diff.changed.push({ before: prev, after: next });
  }
  for (const [key, prev] of before) if (!after.has(key)) diff.removed.push(prev);
  return diff;
}

/** True when the consumer must be recreated (not just given the new route). */
export function consumerSettingsChanged(a: ConsumerSettings, b: ConsumerSettings): boolean {
  return a.topic !== b.topic || a.consumer !== b.consumer || a.order !== b.order || a.maxInFlight !== b.maxInFlight || !samePrefilter(a.prefilter, b.prefilter);
}

function samePrefilter(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a![k] === b![k]);
}

export interface RoutingDiff {
  readonly triggers: RouteDiff<TriggerRoute>;
  readonly subscriptions: RouteDiff<SubscriptionRoute>;
  readonly brokers: RouteDiff<BrokerRoute>;
}

export function diffRoutingTables(before: RoutingTable, after: RoutingTable): RoutingDiff {
  return {
    triggers: diffRoutes(before.triggers, after.triggers),
    subscriptions: diffRoutes(before.subscriptions, after.subscriptions),
    brokers: diffRoutes(before.brokers, after.brokers),
  };
}

export function isEmptyDiff(diff: RoutingDiff): boolean {
  return [diff.triggers, diff.subscriptions, diff.brokers].every((d) => d.added.length === 0 && d.removed.length === 0 && d.changed.length === 0);
}
