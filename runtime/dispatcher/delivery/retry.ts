/**
 * Which outcomes of one delivery attempt are retried, pure. As Knative's dispatcher:
 * connection errors, timeouts, 5xx, 404 (the subscriber is not there yet), 408, 409 and
 * 429 are retried; every other 4xx is final and goes straight to the dead-letter sink.
 */

/** What happened on one attempt: an HTTP status, or no response at all. */
export type AttemptOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly retryAfter?: string | null; readonly body?: Uint8Array }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network'; readonly message: string };

const RETRIED_4XX = new Set([404, 408, 409, 429]);

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

export function isRetryable(outcome: AttemptOutcome): boolean {
  if (outcome.kind !== 'response') return true;
  const { status } = outcome;
  if (isSuccess(status)) return false;
  if (status >= 500) return true;
  if (RETRIED_4XX.has(status)) return true;
  // 1xx/3xx (redirects are not followed): not a delivery; retrying will not change it.
  return false;
}

/** Default and maximum honoured Retry-After. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * A Retry-After header in milliseconds from `now`: delta-seconds or an HTTP date. Capped at
 * `capMs`; undefined when absent or unparseable; 0 for a date in the past.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now(), capMs = MAX_RETRY_AFTER_MS): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    // An HTTP date (IMF-fixdate, RFC 850 or asctime): Date.parse reads all three.
    if (!/[a-z]/i.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, capMs);
}

/** The status recorded in knativeerrorcode for an outcome without a response. */
export function outcomeStatus(outcome: AttemptOutcome): number | undefined {
  return outcome.kind === 'response' ? outcome.status : undefined;
}

export function describeOutcome(outcome: AttemptOutcome): string {
  switch (outcome.kind) {
    case 'response':
      return `HTTP ${outcome.status}`;
    case 'timeout':
      return 'timed out';
    case 'network':
      return `connection failed: ${outcome.message}`;
  }
}
