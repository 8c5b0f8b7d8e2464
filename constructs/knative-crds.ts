/**
 * Knative-compatible Broker, Trigger (eventing.knative.dev/v1, also served as v1beta1 and
 * v1alpha1 for Kyma 1.x manifests), Subscription and Channel (messaging.knative.dev/v1). The schemas follow Knative's field names so existing manifests,
 * `kn` and `kubectl wait --for=condition=Ready` keep working; only install them on a cluster
 * that does not run Knative Eventing already.
 */
import { Construct } from 'constructs';
import { KNATIVE_EVENTING_GROUP, KNATIVE_EVENTING_OLDER_VERSIONS, KNATIVE_MESSAGING_GROUP } from './api';
import { AGE_COLUMN, CustomResourceDefinition, READY_COLUMNS } from './custom-resource-definition';
import { addressable, arr, delivery, destination, int, kReference, knativeStatus, obj, openObject, str, stringMap, type JsonSchema } from './json-schema';

const CATEGORIES = ['all', 'knative', 'eventing'];
const MESSAGING_CATEGORIES = ['all', 'knative', 'messaging'];

const root = (description: string, spec: JsonSchema, status: JsonSchema): JsonSchema =>
  obj(description, {
    apiVersion: str('API version of this object.'),
    kind: str('Kind of this object.'),
    metadata: { type: 'object' },
    spec,
    status,
  }, ['spec']);

/** Attribute name → value; the synth-time and runtime checks enforce `^[a-z][a-z0-9]*$` on names. */
const attributeMap = (description: string): JsonSchema => ({ ...stringMap(description), minProperties: 1 });

/**
 * One filter of the CloudEvents Subscriptions API dialect. `all`, `any` and `not` nest
 * filters to any depth, which a structural schema cannot spell out: below them the shape is
 * preserved as-is and checked by validateTriggerSpec (synth time) and the dispatcher (load).
 */
const subscriptionsApiFilter: JsonSchema = {
  ...obj('Exactly one dialect: exact, prefix, suffix, all, any, not or cesql.', {
    exact: attributeMap('Attributes that must equal these values.'),
    prefix: attributeMap('Attributes that must start with these values.'),
    suffix: attributeMap('Attributes that must end with these values.'),
    all: arr('Filters that must all match.', openObject('A nested filter.')),
    any: arr('Filters of which at least one must match.', openObject('A nested filter.')),
    not: openObject('A filter that must not match.'),
    cesql: str('A CloudEvents SQL expression.', { minLength: 1 }),
  }),
  minProperties: 1,
  maxProperties: 1,
};

export class BrokerCrd extends CustomResourceDefinition {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      group: KNATIVE_EVENTING_GROUP,
      version: 'v1',
      olderVersions: KNATIVE_EVENTING_OLDER_VERSIONS,
      kind: 'Broker',
      plural: 'brokers',
      categories: CATEGORIES,
      printerColumns: [{ name: 'URL', type: 'string', jsonPath: '.status.address.url' }, AGE_COLUMN, ...READY_COLUMNS],
      schema: root('Broker: a namespace\'s event bus; Triggers select events from it.', obj('Desired state.', {
        config: kReference('Configuration of the broker class (a ConfigMap).'),
        delivery: delivery('Default delivery of the broker\'s Triggers.'),
      }), knativeStatus({
        address: addressable,
        addresses: arr('All addresses of the broker.', addressable),
        deadLetterSinkUri: str('The resolved dead letter sink.'),
        deadLetterSinkCACerts: str('CA certificates of the dead letter sink.'),
      })),
    });
  }
}

export class TriggerCrd extends CustomResourceDefinition {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      group: KNATIVE_EVENTING_GROUP,
      version: 'v1',
      olderVersions: KNATIVE_EVENTING_OLDER_VERSIONS,
      kind: 'Trigger',
      plural: 'triggers',
      categories: CATEGORIES,
      printerColumns: [
        { name: 'BROKER', type: 'string', jsonPath: '.spec.broker' },
        { name: 'SUBSCRIBER_URI', type: 'string', jsonPath: '.status.subscriberUri' },
        AGE_COLUMN,
        ...READY_COLUMNS,
      ],
      schema: root('Trigger: delivers the events of a Broker that pass its filter to a subscriber.', obj('Desired state.', {
        broker: str('The Broker in the same namespace, usually "default".', { minLength: 1 }),
        filter: obj('Exact match on event attributes (all ANDed).', {
          attributes: stringMap('Attribute name to value; "" means the attribute must be present.'),
          sourceAndType: obj('Deprecated (v1alpha1): type and source to match ("Any" matches any); read as attributes.', {
            type: str('Event type, or "Any".'),
            source: str('Event source, or "Any".'),
          }),
        }),
        filters: arr('CloudEvents Subscriptions API filters (all ANDed); take precedence over filter.', subscriptionsApiFilter),
        subscriber: destination('Where matching events are delivered.'),
        delivery: delivery('How matching events are delivered.'),
      }, ['broker', 'subscriber']), knativeStatus({
        subscriberUri: str('The resolved subscriber URI.'),
        subscriberCACerts: str('CA certificates of the subscriber.'),
        deadLetterSinkUri: str('The resolved dead letter sink.'),
        deadLetterSinkCACerts: str('CA certificates of the dead letter sink.'),
      })),
    });
  }
}

export class SubscriptionCrd extends CustomResourceDefinition {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      group: KNATIVE_MESSAGING_GROUP,
      version: 'v1',
      kind: 'Subscription',
      plural: 'subscriptions',
      shortNames: ['sub'],
      categories: MESSAGING_CATEGORIES,
      printerColumns: [AGE_COLUMN, ...READY_COLUMNS],
      schema: root('Subscription: forwards the events of a Channel to a subscriber.', obj('Desired state.', {
        channel: kReference('The Channel to subscribe to.', false),
        subscriber: destination('Where the channel\'s events are delivered.'),
        reply: destination('Where the subscriber\'s replies are sent.'),
        delivery: delivery('How events are delivered to the subscriber.'),
      }, ['channel']), knativeStatus({
        physicalSubscription: obj('The resolved addresses.', {
          subscriberUri: str('Resolved subscriber URI.'),
          subscriberCACerts: str('CA certificates of the subscriber.'),
          replyUri: str('Resolved reply URI.'),
          replyCACerts: str('CA certificates of the reply destination.'),
          deadLetterSinkUri: str('Resolved dead letter sink URI.'),
          deadLetterSinkCACerts: str('CA certificates of the dead letter sink.'),
        }),
      })),
    });
  }
}

export class ChannelCrd extends CustomResourceDefinition {
  constructor(scope: Construct, id: string) {
    const subscriberSpec = obj('A resolved subscriber of the channel (written by the Subscription controller).', {
      uid: str('UID of the Subscription.'),
      generation: int('Generation of the Subscription.'),
      subscriberUri: str('Where events go.'),
      subscriberCACerts: str('CA certificates of the subscriber.'),
      replyUri: str('Where replies go.'),
      replyCACerts: str('CA certificates of the reply destination.'),
      delivery: delivery('Delivery to this subscriber.'),
    });
    super(scope, id, {
      group: KNATIVE_MESSAGING_GROUP,
      version: 'v1',
      kind: 'Channel',
      plural: 'channels',
      shortNames: ['ch'],
      categories: MESSAGING_CATEGORIES,
      printerColumns: [{ name: 'URL', type: 'string', jsonPath: '.status.address.url' }, AGE_COLUMN, ...READY_COLUMNS],
      schema: root('Channel: a durable, ordered stream of events with its own subscribers.', obj('Desired state.', {
        channelTemplate: obj('The channel implementation that backs this channel.', {
          apiVersion: str('API version of the implementation, e.g. messaging.knative.dev/v1beta1.', { minLength: 1 }),
          kind: str('Kind of the implementation, e.g. KafkaChannel.', { minLength: 1 }),
          spec: openObject('Implementation-specific settings.'),
        }, ['apiVersion', 'kind']),
        subscribers: arr('Resolved subscribers.', subscriberSpec),
        delivery: delivery('Default delivery of the channel\'s subscribers.'),
      }), knativeStatus({
        address: addressable,
        addresses: arr('All addresses of the channel.', addressable),
        channel: kReference('The backing channel object.'),
        deadLetterSinkUri: str('The resolved dead letter sink.'),
        deadLetterSinkCACerts: str('CA certificates of the dead letter sink.'),
        subscribers: arr('Status of each subscriber.', obj('One subscriber\'s status.', {
          uid: str('UID of the Subscription.'),
          observedGeneration: int('Generation last seen.'),
          ready: str('True, False or Unknown.'),
          message: str('Details.'),
        })),
      })),
    });
  }
}
