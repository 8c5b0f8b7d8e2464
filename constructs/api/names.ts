/**
 * API groups, kinds, labels and annotations shared by the constructs, the Pulumi
 * components and the runtime. Pure constants: importing this pulls in no cdk8s.
 */

export const KNATIVE_EVENTING_GROUP = 'eventing.knative.dev';
export const KNATIVE_MESSAGING_GROUP = 'messaging.knative.dev';
export const KYMA_SOURCES_GROUP = 'sources.kyma-project.io';
export const KYMA_APPLICATION_GROUP = 'applicationconnector.kyma-project.io';

export const BROKER_API_VERSION = `${KNATIVE_EVENTING_GROUP}/v1`;
export const TRIGGER_API_VERSION = `${KNATIVE_EVENTING_GROUP}/v1`;
export const SUBSCRIPTION_API_VERSION = `${KNATIVE_MESSAGING_GROUP}/v1`;
export const CHANNEL_API_VERSION = `${KNATIVE_MESSAGING_GROUP}/v1`;
export const HTTP_SOURCE_API_VERSION = `${KYMA_SOURCES_GROUP}/v1alpha1`;
export const APPLICATION_API_VERSION = `${KYMA_APPLICATION_GROUP}/v1alpha1`;
/** Kyma 1.x's binding of an Application to a namespace (named after the application, created in that namespace). */
export const APPLICATION_MAPPING_API_VERSION = `${KYMA_APPLICATION_GROUP}/v1alpha1`;

/**
 * Application annotations for what the Application CR's spec cannot say: the channel kind of
 * its events (`nats`, `kafka`, `inmemory`) and its adapter's options (JSON of
 * HttpAdapterOptions). The Application construct writes them when those props are set, so the
 * controller renders the same adapter the construct did.
 */
export const APPLICATION_CHANNEL_ANNOTATION = 'event-mesh.dev/channel.kind';
export const APPLICATION_ADAPTER_ANNOTATION = 'event-mesh.dev/adapter';

/** Knative's annotation that selects which data plane owns a Broker. */
export const BROKER_CLASS_ANNOTATION = 'eventing.knative.dev/broker.class';
/** Our broker class: a real Knative installation leaves Brokers of this class alone. */
export const BROKER_CLASS = 'EventMeshBroker';

/** Trigger annotations for delivery ordering (Knative's Kafka broker uses the same idea). */
export const DELIVERY_ORDER_ANNOTATION = 'event-mesh.dev/delivery.order';
export const MAX_IN_FLIGHT_ANNOTATION = 'event-mesh.dev/delivery.max-in-flight';
/** Highest max-in-flight a Trigger may ask for: checked at synth time and when the dispatcher loads routing. */
export const MAX_IN_FLIGHT_LIMIT = 1000;

/** Channel annotation naming the channel implementation that backs it. */
export const CHANNEL_KIND_ANNOTATION = 'event-mesh.dev/channel.kind';

/** Both namespace labels Knative has used to ask for a `default` Broker. */
export const INJECTION_LABELS: Readonly<Record<string, string>> = {
  'knative-eventing-injection': 'enabled',
  'eventing.knative.dev/injection': 'enabled',
};

export const SOURCE_LABEL = 'eventing.knative.dev/source';
export const APPLICATION_LABEL = 'event-mesh.dev/application';
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
export const PART_OF = 'event-mesh';

export const DEFAULT_BROKER_NAME = 'default';
export const DEFAULT_INTEGRATION_NAMESPACE = 'kyma-integration';
export const DEFAULT_SYSTEM_NAMESPACE = 'event-mesh-system';

/** The kinds of channel implementation the mesh ships. */
export type ChannelKind = 'nats' | 'kafka' | 'inmemory';
export const CHANNEL_KINDS: readonly ChannelKind[] = ['nats', 'kafka', 'inmemory'];

/** Extension attributes the data plane adds, as Knative does. */
export const EXT_ARRIVAL_TIME = 'knativearrivaltime';
export const EXT_BROKER_TTL = 'knativebrokerttl';
export const EXT_ERROR_DEST = 'knativeerrordest';
export const EXT_ERROR_CODE = 'knativeerrorcode';
export const EXT_ERROR_DATA = 'knativeerrordata';
export const DEFAULT_BROKER_TTL = 255;

/** The Secret the Kafka channel reads its connection from, and its keys. */
export const KAFKA_SECRET_NAME = 'knative-kafka';
export const KAFKA_SECRET_KEYS = {
  /** `host:port`, ready for a Kafka client. */
  brokers: 'brokers',
  hostname: 'brokers.hostname',
  port: 'brokers.port',
  namespace: 'namespace',
  username: 'username',
  password: 'password',
  /** azure | confluent | local */
  provider: 'provider',
} as const;
export type KafkaProvider = 'azure' | 'confluent' | 'local';

/** ConfigMap the dispatcher reads Brokers, Triggers, Subscriptions and Channels from. */
export const ROUTING_CONFIGMAP = 'event-mesh-routing';
export const ROUTING_CONFIGMAP_KEY = 'routing.yaml';
export const ROUTING_MOUNT_PATH = '/etc/event-mesh/routing';
