/**
 * Retry waits, pure. Knative's DeliverySpec formulas, with `n` the number of the retry
 * that is about to happen, starting at 1 (the first retry after the first failed attempt):
 *
 *   linear:       wait(n) = backoffDelay × n        (d, 2d, 3d, …)
 *   exponential:  wait(n) = backoffDelay × 2^n      (2d, 4d, 8d, …)
 *
 * The wait is capped at `maxWaitMs`. A Retry-After from the subscriber (already capped by
 * the caller) raises the wait to at least that long; it never shortens it.
 */
import type { BackoffPolicy } from '../../../constructs/api';

/** Upper bound on any one wait: an absurd backoffDelay or 2^n must not park a message for days. */
export const MAX_BACKOFF_MS = 60 * 60_000;

export function backoffMs(policy: BackoffPolicy, delayMs: number, retry: number, maxWaitMs = MAX_BACKOFF_MS): number {
  if (!(retry >= 1) || !(delayMs > 0)) return 0;
  const raw = policy === 'linear' ? delayMs * retry : delayMs * Math.pow(2, retry);
  return Math.min(raw, maxWaitMs);
}

/** The wait before retry `retry`, honouring a Retry-After (ms) when the subscriber sent one. */
export function retryWaitMs(policy: BackoffPolicy, delayMs: number, retry: number, retryAfterMs?: number, maxWaitMs = MAX_BACKOFF_MS): number {
  const base = backoffMs(policy, delayMs, retry, maxWaitMs);
  return retryAfterMs === undefined ? base : Math.max(base, Math.min(retryAfterMs, maxWaitMs));
}
