/** The Broker's condition set and reasons (pure constants). */
export const BROKER_CONDITIONS = ['Addressable', 'DeliveryValid'] as const;

export const BrokerReason = {
  /** spec.delivery is invalid; the dispatcher ignores it. */
  InvalidDelivery: 'InvalidDelivery',
} as const;
