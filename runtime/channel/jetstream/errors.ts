/**
 * NATS errors of the JetStream channel, mapped to the channel contract's errors. Pure.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import { ChannelFullError, ChannelUnavailableError } from '../channel';

/** nats-core error classes, recognized by name (they come from a transitive package). */
const CONNECTION_ERRORS = new Set(['TimeoutError', 'ClosedConnectionError', 'DrainingConnectionError', 'ConnectionError', 'RequestError', 'NoRespondersError']);

export function errText(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== e.message ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}

export function isNoResponders(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'NoRespondersError' || /no responders/i.test(e.message)) return true;
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error && (cause.name === 'NoRespondersError' || /no responders/i.test(cause.message));
}

export function isFull(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if ((e instanceof JetStreamApiError || typeof (e as { code?: unknown }).code === 'number') && (e as unknown as { code: number }).code === 10047) return true; // insufficient resources
  if (/insufficient (storage|resources)|maximum (bytes|messages) exceeded|resource limits exceeded/i.test(e.message)) return true;
  // "storage … exceeded" without a `.*` pattern (quadratic on long messages).
  const text = e.message.toLowerCase();
  const storage = text.indexOf('storage ');
  return storage >= 0 && text.indexOf('exceeded', storage + 8) >= 0;
}

/** Map a NATS error to the channel contract's errors. */
export function mapNatsError(e: unknown, what: string): Error {
  if (e instanceof ChannelUnavailableError || e instanceof ChannelFullError) return e;
  if (isFull(e)) return new ChannelFullError(`${what}: JetStream storage is full (${errText(e)})`);
  if ((e instanceof Error && CONNECTION_ERRORS.has(e.name)) || isNoResponders(e) || e instanceof JetStreamApiError) {
    return new ChannelUnavailableError(`${what}: NATS JetStream is unavailable (${errText(e)})`, 1);
  }
  return new ChannelUnavailableError(`${what}: ${errText(e)}`, 1);
}
