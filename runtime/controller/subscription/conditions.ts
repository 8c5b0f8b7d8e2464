/** The Subscription's condition set and reasons (pure constants). */
export const SUBSCRIPTION_CONDITIONS = ['ChannelReady', 'ReferencesResolved'] as const;

export const SubscriptionReason = {
  /** spec.channel names no Channel in the Subscription's namespace. */
  ChannelNotFound: 'ChannelNotFound',
  /** The subscriber or reply cannot be turned into a URL. */
  UnresolvedSubscriber: 'UnresolvedSubscriber',
  /** The dispatcher cannot load the Subscription (subscriber, reply, delivery or annotations). */
  InvalidSpec: 'InvalidSpec',
} as const;
