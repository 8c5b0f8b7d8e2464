/**
 * The effective delivery policy of a Trigger or Subscription, pure: its own
 * spec.delivery, field by field falling back to the Broker's, then to the defaults in
 * constructs/api/delivery-defaults.ts (Knative's config-br-defaults: 10 retries,
 * exponential, PT0.2S).
 */
import { DEFAULT_BACKOFF_DELAY, DEFAULT_BACKOFF_POLICY, DEFAULT_DELIVERY_TIMEOUT, DEFAULT_RETRY, parseIsoDuration } from '../../../constructs/api';
import type { BackoffPolicy, DeliverySpec, Destination } from '../../../constructs/api';

export interface DeliveryPolicy {
  /** Retries after the first attempt. */
  readonly retry: number;
  readonly backoffPolicy: BackoffPolicy;
  readonly backoffDelayMs: number;
  /** Per-attempt timeout. */
  readonly timeoutMs: number;
  readonly deadLetterSink?: Destination;
}

export const DEFAULT_DELIVERY: DeliveryPolicy = {
  retry: DEFAULT_RETRY,
  backoffPolicy: DEFAULT_BACKOFF_POLICY,
  backoffDelayMs: parseIsoDuration(DEFAULT_BACKOFF_DELAY)!,
  timeoutMs: parseIsoDuration(DEFAULT_DELIVERY_TIMEOUT)!,
};

export function resolveDeliveryPolicy(own: DeliverySpec | undefined, fallback?: DeliverySpec, defaults: DeliveryPolicy = DEFAULT_DELIVERY): DeliveryPolicy {
  const pick = <K extends keyof DeliverySpec>(key: K): DeliverySpec[K] => (own?.[key] !== undefined ? own[key] : fallback?.[key]);
  const duration = (value: string | undefined, dflt: number) => (value === undefined ? dflt : (parseIsoDuration(value) ?? dflt));
  const deadLetterSink = pick('deadLetterSink');
  return {
    retry: pick('retry') ?? defaults.retry,
    backoffPolicy: pick('backoffPolicy') ?? defaults.backoffPolicy,
    backoffDelayMs: duration(pick('backoffDelay'), defaults.backoffDelayMs),
    timeoutMs: Math.max(1, duration(pick('timeout'), defaults.timeoutMs)),
    ...(deadLetterSink ? { deadLetterSink } : {}),
  };
}
