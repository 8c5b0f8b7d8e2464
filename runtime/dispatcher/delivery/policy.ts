/**
 * The effective delivery policy of a Trigger or Subscription, pure: its own
 * spec.delivery, field by field falling back to the Broker's, then to the defaults of
 * Knative's config-br-defaults (10 retries, exponential, PT0.2S).
 */
import { parseIsoDuration } from '../../../constructs/api';
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
  retry: 10,
  backoffPolicy: 'exponential',
  backoffDelayMs: 200,
  timeoutMs: 30_000,
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
