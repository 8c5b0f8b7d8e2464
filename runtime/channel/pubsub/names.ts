/**
 * Pub/Sub names of channel topics and consumers (pure). The mapping itself lives in
 * constructs/api/pubsub.ts, shared with the constructs and the Pulumi component.
 */
export { escapePubSubName, pubsubSubscriptionId, pubsubTopicId, PUBSUB_NAME_PREFIX } from '../../../constructs/api/pubsub';

/**
 * Every event is published with this ordering key, so a subscription with message ordering
 * sees its topic's order (as JetStream and a one-partition Kafka topic do). Ordering keys
 * are scoped to their topic; subscriptions without ordering ignore it.
 */
export const ORDERING_KEY = 'event-mesh';
