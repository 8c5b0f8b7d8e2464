/**
 * Subscription status (pure), for Subscriptions on our Channels (annotated with the channel
 * kind) or on a Channel that does not exist: ChannelReady and ReferencesResolved, with the
 * resolved URIs in `physicalSubscription` as Knative writes them.
 */
import { CHANNEL_KIND_ANNOTATION, KNATIVE_MESSAGING_GROUP, destinationUrl, type Destination, type SubscriptionSpec } from '../../../constructs/api';
import { ConditionSet } from '../conditions';
import { addressingOf, type ControllerContext } from '../context';
import type { ObservedIndex, ObservedObject } from '../objects';
import type { StatusUpdate } from '../result';
import { statusUpdate } from '../status';
import { SUBSCRIPTION_CONDITIONS, SubscriptionReason } from './conditions';

function resolve(dest: Destination | undefined, namespace: string, ctx: ControllerContext, field: string): { url?: string; error?: string } {
  if (!dest) return {};
  try {
    return { url: destinationUrl(dest, namespace, addressingOf(ctx)) };
  } catch (err) {
    return { error: `${field}: ${(err as Error).message}` };
  }
}

/** undefined when the Subscription's channel belongs to another implementation. */
export function reconcileSubscription(sub: ObservedObject, index: ObservedIndex, ctx: ControllerContext, problems: readonly string[]): StatusUpdate | undefined {
  const namespace = sub.metadata?.namespace ?? 'default';
  const spec = (sub.spec ?? {}) as Partial<SubscriptionSpec>;
  const channelRef = spec.channel;
  const channelNamespace = channelRef?.namespace ?? namespace;
  const channel = channelRef?.name ? index.get(KNATIVE_MESSAGING_GROUP, channelRef.kind ?? 'Channel', channelNamespace, channelRef.name) : undefined;
  if (channel && channel.metadata?.annotations?.[CHANNEL_KIND_ANNOTATION] === undefined) return undefined;

  const set = new ConditionSet(SUBSCRIPTION_CONDITIONS, sub.status, ctx.now);
  if (channel) set.markTrue('ChannelReady');
  else set.markFalse('ChannelReady', SubscriptionReason.ChannelNotFound, `${channelRef?.kind ?? 'Channel'} "${channelRef?.name ?? ''}" not found in namespace "${channelNamespace}"`);

  const subscriber = spec.subscriber ? resolve(spec.subscriber, namespace, ctx, 'spec.subscriber') : { error: 'spec.subscriber is required' };
  const reply = resolve(spec.reply, namespace, ctx, 'spec.reply');
  const deadLetter = resolve(spec.delivery?.deadLetterSink, namespace, ctx, 'spec.delivery.deadLetterSink');
  const error = subscriber.error ?? reply.error ?? deadLetter.error;
  if (error) set.markFalse('ReferencesResolved', SubscriptionReason.UnresolvedSubscriber, error);
  else if (problems.length) set.markFalse('ReferencesResolved', SubscriptionReason.InvalidSpec, problems.join('; '));
  else set.markTrue('ReferencesResolved');

  const physical = Object.fromEntries(Object.entries({ subscriberUri: subscriber.url, replyUri: reply.url, deadLetterSinkUri: deadLetter.url }).filter(([, v]) => v !== undefined));
  return statusUpdate(sub, set, Object.keys(physical).length ? { physicalSubscription: physical } : {});
}
