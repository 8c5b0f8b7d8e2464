/** A Knative `messaging.knative.dev/v1` Subscription (a Channel's events to a subscriber) as a plain object (pure). */
import { meshLabels } from '../labels';
import { CHANNEL_API_VERSION, SUBSCRIPTION_API_VERSION } from '../names';
import type { DeliverySpec, Destination } from '../trigger-spec';
import type { ResourceObject } from './types';

export interface SubscriptionObjectArgs {
  readonly name: string;
  readonly namespace: string;
  /** The Channel (same namespace). */
  readonly channel: string;
  readonly subscriber: Destination;
  /** @default - none */
  readonly reply?: Destination;
  /** @default - none */
  readonly delivery?: DeliverySpec;
  /** @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

export function subscriptionObject(args: SubscriptionObjectArgs): ResourceObject {
  return {
    apiVersion: SUBSCRIPTION_API_VERSION,
    kind: 'Subscription',
    metadata: { name: args.name, namespace: args.namespace, labels: meshLabels(args.name, 'subscription', args.labels) },
    spec: {
      channel: { apiVersion: CHANNEL_API_VERSION, kind: 'Channel', name: args.channel },
      subscriber: args.subscriber,
      ...(args.reply ? { reply: args.reply } : {}),
      ...(args.delivery ? { delivery: args.delivery } : {}),
    },
  };
}
