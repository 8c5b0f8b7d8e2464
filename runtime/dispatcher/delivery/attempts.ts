/**
 * Delivering one event to one Target with retries (I/O): attempt, classify, wait with
 * backoff (honouring Retry-After), until success, a final failure or retries run out.
 */
import { ChannelFullError, ChannelUnavailableError } from '../../channel/channel';
import { encodeBinary } from '../../cloudevents';
import type { CloudEventJson } from '../../cloudevents';
import type { BrokerStore } from '../ingress/broker-store';
import { retryWaitMs } from './backoff';
import { DeliveryAborted, HttpSender } from './http-sender';
import type { AttemptResult } from './http-sender';
import type { DeliveryPolicy } from './policy';
import { isRetryable, isSuccess, parseRetryAfter } from './retry';
import type { Target } from './targets';
import { UndeliverableEventError } from './undeliverable';

/** encodeBinary, or UndeliverableEventError when the event cannot be serialized at all. */
function encodeForDelivery(event: CloudEventJson): ReturnType<typeof encodeBinary> {
  try {
    return encodeBinary(event);
  } catch (err) {
    throw new UndeliverableEventError('unencodable', `the event could not be encoded for delivery: ${(err as Error)?.message ?? String(err)}`);
  }
}

export interface AttemptDeps {
  readonly sender: HttpSender;
  readonly store: BrokerStore;
  /** Aborts backoff waits and in-flight requests (shutdown past its grace). */
  readonly signal: AbortSignal;
  /** Aborts backoff waits only (shutdown started: do not start another attempt). */
  readonly stopWaiting?: AbortSignal;
  readonly maxRetryAfterMs?: number;
  /** How a backoff wait is waited out. @default sleep (a timer that the signals cut short) */
  readonly sleep?: (ms: number, signals: (AbortSignal | undefined)[]) => Promise<void>;
}

export interface DeliveryOutcome {
  readonly ok: boolean;
  /** The last attempt's result. */
  readonly last: AttemptResult;
  readonly attempts: number;
  /** The failure was final (a non-retried status or an unresolvable destination). */
  readonly final: boolean;
}

const STORED: AttemptResult = Object.freeze({ outcome: Object.freeze({ kind: 'response', status: 202 }) });

/**
 * One attempt at `target`. `raw`, when given, is a JSON text of exactly `event` (as read
 * from a channel): a broker target stores it with the stamp appended, not re-serialized.
 * Throws UndeliverableEventError when the event cannot be serialized (retrying cannot help).
 */
export async function attemptOnce(target: Target, event: CloudEventJson, timeoutMs: number, deps: AttemptDeps, raw?: Uint8Array): Promise<AttemptResult> {
  switch (target.kind) {
    case 'http':
      return deps.sender.post(target.url, encodeForDelivery(event), timeoutMs, deps.signal);
    case 'broker':
      try {
        await deps.store.storeOne(target.namespace, target.broker, event, raw);
        return STORED;
      } catch (err) {
        if (err instanceof ChannelUnavailableError) return { outcome: { kind: 'response', status: 503, retryAfter: String(err.retryAfterSeconds) }, body: Buffer.from(err.message) };
        if (err instanceof ChannelFullError) return { outcome: { kind: 'response', status: 507 }, body: Buffer.from(err.message) };
        // Serializing the stamped event failed (a stack overflow): no retry can change that.
        if (err instanceof RangeError) throw new UndeliverableEventError('unencodable', `the event could not be encoded for the broker: ${err.message}`);
        return { outcome: { kind: 'network', message: (err as Error)?.message ?? String(err) } };
      }
    case 'unresolvable':
      return { outcome: { kind: 'response', status: 400 }, body: Buffer.from(target.message) };
  }
}

export function sleep(ms: number, signals: (AbortSignal | undefined)[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const live = signals.filter((s): s is AbortSignal => s !== undefined);
    if (live.some((s) => s.aborted)) return reject(new DeliveryAborted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DeliveryAborted());
    };
    const timer = setTimeout(() => {
      for (const s of live) s.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    for (const s of live) s.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Up to 1 + policy.retry attempts. `onRetry` is called before each retry, `onAttempt` after
 * every attempt with its duration in milliseconds. Throws DeliveryAborted when shutdown
 * interrupts it (the caller releases the message). `raw`: see attemptOnce.
 */
export async function deliverWithRetries(
  target: Target,
  event: CloudEventJson,
  policy: DeliveryPolicy,
  deps: AttemptDeps,
  onRetry?: (retry: number, previous: AttemptResult) => void,
  raw?: Uint8Array,
  onAttempt?: (result: AttemptResult, ms: number) => void,
): Promise<DeliveryOutcome> {
  for (let attempt = 0; ; attempt++) {
    const started = onAttempt ? performance.now() : 0;
    const last = await attemptOnce(target, event, policy.timeoutMs, deps, raw);
    onAttempt?.(last, performance.now() - started);
    const { outcome } = last;
    if (outcome.kind === 'response' && isSuccess(outcome.status)) return { ok: true, last, attempts: attempt + 1, final: false };
    const retryable = target.kind !== 'unresolvable' && isRetryable(outcome);
    if (!retryable || attempt >= policy.retry) return { ok: false, last, attempts: attempt + 1, final: !retryable };
    const retryAfter = outcome.kind === 'response' ? parseRetryAfter(outcome.retryAfter, Date.now(), deps.maxRetryAfterMs) : undefined;
    const wait = retryWaitMs(policy.backoffPolicy, policy.backoffDelayMs, attempt + 1, retryAfter);
    onRetry?.(attempt + 1, last);
    if (wait > 0) await (deps.sleep ?? sleep)(wait, [deps.signal, deps.stopWaiting]);
    else if (deps.signal.aborted || deps.stopWaiting?.aborted) throw new DeliveryAborted();
  }
}
