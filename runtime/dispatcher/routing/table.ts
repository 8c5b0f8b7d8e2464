/**
 * The routing table, pure: from manifest objects to what the dispatcher serves.
 *
 * - Brokers (eventing.knative.dev/v1; v1beta1 and v1alpha1 read as v1) of class `EventMeshBroker` or with no class
 *   annotation are served; a Broker of another class (e.g. Knative's MTChannelBasedBroker)
 *   belongs to another data plane and is left alone, and so are its Triggers.
 * - Triggers are validated with validateTriggerSpec and compiled; an invalid Trigger is
 *   reported in `problems` and skipped, the rest still load.
 * - Subscriptions (messaging.knative.dev/v1) are served from their channel's topic.
 * - Channels (any `*Channel` kind of messaging.knative.dev) name topics to ensure.
 * Objects of any other kind are ignored.
 */
import {
  BROKER_API_VERSION,
  DELIVERY_ORDER_ANNOTATION,
  KNATIVE_MESSAGING_GROUP,
  MAX_IN_FLIGHT_ANNOTATION,
  MAX_IN_FLIGHT_LIMIT,
  SUBSCRIPTION_API_VERSION,
  TRIGGER_API_VERSION,
  brokerClassOf,
  brokerTopic,
  channelTopic,
  isServedBrokerClass,
  subscriptionConsumer,
  triggerConsumer,
  validateDelivery,
  validateDestination,
  validateTriggerSpec,
  normalizeKnativeObject,
} from '../../../constructs/api';
import type { BrokerSpec, DeliveryOrder, DeliverySpec, Destination, KReference, SubscriptionSpec, TriggerSpec } from '../../../constructs/api';
import { resolveDeliveryPolicy } from '../delivery/policy';
import type { DeliveryPolicy } from '../delivery/policy';
import { compileTriggerFilter, FilterCompileError, FilterIndex } from '../filter';
import type { CompiledFilter } from '../filter';
import type { ManifestObject } from './manifests';

export const DEFAULT_NAMESPACE = 'default';
/** In-flight deliveries per unordered Trigger when the annotation is absent. */
export const DEFAULT_MAX_IN_FLIGHT = 32;
/**
 * Default max-in-flight of a Subscription whose subscriber is a Broker this dispatcher
 * serves (the application channel -> broker hop): each delivery is an in-process store on
 * the broker topic, so there is no subscriber to overload, and a small window makes the
 * hop trickle (each event waits for its PubAck before the next can be fetched).
 */
export const DEFAULT_BROKER_SUBSCRIPTION_MAX_IN_FLIGHT = 256;

export interface BrokerRoute {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly topic: string;
  readonly delivery?: DeliverySpec;
  readonly fingerprint: string;
}

export interface ConsumerSettings {
  readonly topic: string;
  readonly consumer: string;
  readonly order: DeliveryOrder;
  readonly maxInFlight: number;
}

export interface TriggerRoute extends ConsumerSettings {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly brokerKey: string;
  readonly spec: TriggerSpec;
  readonly filter: CompiledFilter;
  readonly subscriber: Destination;
  readonly delivery: DeliveryPolicy;
  readonly fingerprint: string;
}

export interface SubscriptionRoute extends ConsumerSettings {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly channel: KReference;
  readonly subscriber: Destination;
  readonly reply?: Destination;
  readonly delivery: DeliveryPolicy;
  readonly fingerprint: string;
}

export interface ChannelRoute {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly kind: string;
  readonly topic: string;
}

export interface RoutingProblem {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly message: string;
}

export interface RoutingTable {
  readonly brokers: ReadonlyMap<string, BrokerRoute>;
  readonly triggers: ReadonlyMap<string, TriggerRoute>;
  readonly subscriptions: ReadonlyMap<string, SubscriptionRoute>;
  readonly channels: ReadonlyMap<string, ChannelRoute>;
  /** Per broker key: an exact-match index over its Triggers' filters. */
  readonly indexes: ReadonlyMap<string, FilterIndex<TriggerRoute>>;
  /** Brokers left to another broker class (key -> class). */
  readonly foreignBrokers: ReadonlyMap<string, string>;
}

export interface BuildResult {
  readonly table: RoutingTable;
  readonly problems: RoutingProblem[];
}

export function routeKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Stable JSON: object keys sorted, so equal specs give equal fingerprints. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function ident(obj: ManifestObject) {
  return { namespace: obj.metadata?.namespace || DEFAULT_NAMESPACE, name: obj.metadata?.name ?? '' };
}

/** Is this Broker ours? The one predicate, from constructs/api (re-exported for existing importers). */
export { isServedBrokerClass };

/** Delivery order and max-in-flight from a Trigger's annotations; a message when invalid. */
export function consumerAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
  defaultMaxInFlight = DEFAULT_MAX_IN_FLIGHT,
): { order: DeliveryOrder; maxInFlight: number } | string {
  const orderText = annotations?.[DELIVERY_ORDER_ANNOTATION];
  if (orderText !== undefined && orderText !== 'ordered' && orderText !== 'unordered') {
    return `annotation ${DELIVERY_ORDER_ANNOTATION} must be "ordered" or "unordered", got "${orderText}"`;
  }
  const order: DeliveryOrder = orderText === 'ordered' ? 'ordered' : 'unordered';
  const mifText = annotations?.[MAX_IN_FLIGHT_ANNOTATION];
  let maxInFlight = defaultMaxInFlight;
  if (mifText !== undefined) {
    const n = Number(String(mifText).trim());
    if (!/^\d+$/.test(String(mifText).trim()) || n < 1 || n > MAX_IN_FLIGHT_LIMIT) {
      return `annotation ${MAX_IN_FLIGHT_ANNOTATION} must be a whole number from 1 to ${MAX_IN_FLIGHT_LIMIT}, got "${mifText}"`;
    }
    maxInFlight = n;
  }
  return { order, maxInFlight: order === 'ordered' ? 1 : maxInFlight };
}

function isChannelKind(obj: ManifestObject): boolean {
  return typeof obj.apiVersion === 'string' && obj.apiVersion.startsWith(`${KNATIVE_MESSAGING_GROUP}/`) && typeof obj.kind === 'string' && obj.kind.endsWith('Channel');
}

export function buildRoutingTable(objects: readonly ManifestObject[]): BuildResult {
  const problems: RoutingProblem[] = [];
  const problem = (kind: string, obj: ManifestObject, message: string) => problems.push({ kind, ...ident(obj), message });

  // Later duplicates of the same object (e.g. both a manifest and the routing ConfigMap) win.
  const byIdentity = new Map<string, ManifestObject>();
  for (const raw of objects) {
    if (!raw || typeof raw !== 'object' || !raw.kind) continue;
    const obj = normalizeKnativeObject(raw); // v1alpha1 / v1beta1 Brokers and Triggers read as v1
    const { namespace, name } = ident(obj);
    byIdentity.set(`${obj.apiVersion}|${obj.kind}|${namespace}|${name}`, obj);
  }
  const all = [...byIdentity.values()].sort((a, b) => {
    const x = ident(a), y = ident(b);
    return x.namespace === y.namespace ? (x.name < y.name ? -1 : x.name > y.name ? 1 : 0) : x.namespace < y.namespace ? -1 : 1;
  });

  const brokers = new Map<string, BrokerRoute>();
  const foreignBrokers = new Map<string, string>();
  for (const obj of all.filter((o) => o.kind === 'Broker')) {
    if (obj.apiVersion !== BROKER_API_VERSION) {
      problem('Broker', obj, `unsupported apiVersion ${obj.apiVersion}; use ${BROKER_API_VERSION}`);
      continue;
    }
    const { namespace, name } = ident(obj);
    if (!name) {
      problem('Broker', obj, 'metadata.name is required');
      continue;
    }
    const key = routeKey(namespace, name);
    if (!isServedBrokerClass(obj.metadata?.annotations)) {
      foreignBrokers.set(key, brokerClassOf(obj.metadata?.annotations));
      continue;
    }
    const spec = (obj.spec ?? {}) as BrokerSpec;
    const deliveryProblems = validateDelivery(spec.delivery, 'spec.delivery');
    if (deliveryProblems.length > 0) {
      problem('Broker', obj, `spec.delivery ignored: ${deliveryProblems.map((p) => p.message).join('; ')}`);
    }
    const delivery = deliveryProblems.length > 0 ? undefined : spec.delivery;
    brokers.set(key, { key, namespace, name, topic: brokerTopic(namespace, name), delivery, fingerprint: stableJson({ delivery }) });
  }

  const triggers = new Map<string, TriggerRoute>();
  for (const obj of all.filter((o) => o.kind === 'Trigger')) {
    if (obj.apiVersion !== TRIGGER_API_VERSION) {
      problem('Trigger', obj, `unsupported apiVersion ${obj.apiVersion}; use ${TRIGGER_API_VERSION}`);
      continue;
    }
    const { namespace, name } = ident(obj);
    const spec = (obj.spec ?? {}) as TriggerSpec;
    if (!name) {
      problem('Trigger', obj, 'metadata.name is required');
      continue;
    }
    const specProblems = validateTriggerSpec(spec);
    if (specProblems.length > 0) {
      problem('Trigger', obj, specProblems.map((p) => p.message).join('; '));
      continue;
    }
    const brokerKey = routeKey(namespace, spec.broker);
    const broker = brokers.get(brokerKey);
    if (!broker) {
      if (!foreignBrokers.has(brokerKey)) problem('Trigger', obj, `spec.broker: Broker "${spec.broker}" not found in namespace "${namespace}"`);
      continue;
    }
    const settings = consumerAnnotations(obj.metadata?.annotations);
    if (typeof settings === 'string') {
      problem('Trigger', obj, settings);
      continue;
    }
    let filter: CompiledFilter;
    try {
      filter = compileTriggerFilter(spec);
    } catch (err) {
      if (!(err instanceof FilterCompileError)) throw err;
      problem('Trigger', obj, err.message);
      continue;
    }
    const key = routeKey(namespace, name);
    triggers.set(key, {
      key,
      namespace,
      name,
      brokerKey,
      topic: broker.topic,
      consumer: triggerConsumer(namespace, name),
      ...settings,
      spec,
      filter,
      subscriber: spec.subscriber,
      delivery: resolveDeliveryPolicy(spec.delivery, broker.delivery),
      fingerprint: stableJson({ spec, settings, brokerDelivery: broker.delivery }),
    });
  }

  const channels = new Map<string, ChannelRoute>();
  for (const obj of all.filter(isChannelKind)) {
    const { namespace, name } = ident(obj);
    if (!name) continue;
    const key = routeKey(namespace, name);
    channels.set(key, { key, namespace, name, kind: obj.kind as string, topic: channelTopic(namespace, name) });
  }

  const subscriptions = new Map<string, SubscriptionRoute>();
  for (const obj of all.filter((o) => o.kind === 'Subscription')) {
    if (obj.apiVersion !== SUBSCRIPTION_API_VERSION) {
      problem('Subscription', obj, `unsupported apiVersion ${obj.apiVersion}; use ${SUBSCRIPTION_API_VERSION}`);
      continue;
    }
    const { namespace, name } = ident(obj);
    const spec = (obj.spec ?? {}) as SubscriptionSpec;
    const found = [
      ...(spec.channel?.name ? [] : [{ message: 'spec.channel.name is required (the Channel to subscribe to)' }]),
      ...validateDestination(spec.subscriber, 'spec.subscriber'),
      ...(spec.reply ? validateDestination(spec.reply, 'spec.reply') : []),
      ...validateDelivery(spec.delivery, 'spec.delivery'),
    ];
    if (!name) found.push({ message: 'metadata.name is required' });
    if (found.length > 0) {
      problem('Subscription', obj, found.map((p) => p.message).join('; '));
      continue;
    }
    const feedsServedBroker = spec.subscriber.ref?.kind === 'Broker' && !spec.subscriber.uri && brokers.has(routeKey(spec.subscriber.ref.namespace ?? namespace, spec.subscriber.ref.name));
    const settings = consumerAnnotations(obj.metadata?.annotations, feedsServedBroker ? DEFAULT_BROKER_SUBSCRIPTION_MAX_IN_FLIGHT : DEFAULT_MAX_IN_FLIGHT);
    if (typeof settings === 'string') {
      problem('Subscription', obj, settings);
      continue;
    }
    const channelNs = spec.channel.namespace ?? namespace;
    const key = routeKey(namespace, name);
    subscriptions.set(key, {
      key,
      namespace,
      name,
      channel: spec.channel,
      topic: channelTopic(channelNs, spec.channel.name),
      consumer: subscriptionConsumer(namespace, name),
      ...settings,
      subscriber: spec.subscriber,
      ...(spec.reply ? { reply: spec.reply } : {}),
      delivery: resolveDeliveryPolicy(spec.delivery),
      fingerprint: stableJson({ spec, settings }),
    });
  }

  const indexes = new Map<string, FilterIndex<TriggerRoute>>();
  for (const broker of brokers.values()) {
    const own = [...triggers.values()].filter((t) => t.brokerKey === broker.key).map((t) => ({ item: t, filter: t.filter }));
    indexes.set(broker.key, new FilterIndex(own));
  }

  return { table: { brokers, triggers, subscriptions, channels, indexes, foreignBrokers }, problems };
}

export const EMPTY_ROUTING_TABLE: RoutingTable = buildRoutingTable([]).table;
