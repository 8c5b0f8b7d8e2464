import { backoffMs, retryWaitMs } from '../../runtime/dispatcher/delivery/backoff';
import { resolveDeliveryPolicy, DEFAULT_DELIVERY } from '../../runtime/dispatcher/delivery/policy';
import { isRetryable, parseRetryAfter, describeOutcome } from '../../runtime/dispatcher/delivery/retry';
import { deadLetterEvent, prepareReply, stampForBroker, brokerTtl } from '../../runtime/dispatcher/events';

describe('backoff', () => {
  it('linear: delay × n, n = 1 for the first retry', () => {
    expect([1, 2, 3].map((n) => backoffMs('linear', 100, n))).toEqual([100, 200, 300]);
  });
  it('exponential: delay × 2^n', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs('exponential', 100, n))).toEqual([200, 400, 800, 1600]);
  });
  it('is capped and never negative', () => {
    expect(backoffMs('exponential', 1000, 60, 5000)).toBe(5000);
    expect(backoffMs('linear', 0, 3)).toBe(0);
    expect(backoffMs('linear', 100, 0)).toBe(0);
    // No retry number (0) or no positive delay: no wait, for both policies (2^0 would be one delay).
    expect(backoffMs('exponential', 100, 0)).toBe(0);
    expect(backoffMs('exponential', -100, 2)).toBe(0);
    expect(backoffMs('linear', -100, 2)).toBe(0);
  });
  it('Retry-After raises the wait, never lowers it', () => {
    expect(retryWaitMs('linear', 100, 1, 3000)).toBe(3000);
    expect(retryWaitMs('linear', 5000, 1, 1000)).toBe(5000);
  });
});

describe('retry classification', () => {
  const r = (status: number) => ({ kind: 'response' as const, status });
  it.each([500, 502, 503, 504, 404, 408, 409, 429])('retries %d', (s) => expect(isRetryable(r(s))).toBe(true));
  it.each([200, 202, 204, 400, 401, 403, 405, 410, 413, 415, 422, 302])('does not retry %d', (s) => expect(isRetryable(r(s))).toBe(false));
  it('retries timeouts and connection errors', () => {
    expect(isRetryable({ kind: 'timeout' })).toBe(true);
    expect(isRetryable({ kind: 'network', message: 'ECONNREFUSED' })).toBe(true);
    expect(describeOutcome({ kind: 'network', message: 'ECONNREFUSED' })).toMatch(/ECONNREFUSED/);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2024-01-01T00:00:00Z');
  it('reads seconds and HTTP dates, caps them', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 00:00:05 GMT', now)).toBe(0);
    expect(parseRetryAfter('3600', now, 60_000)).toBe(60_000);
  });
  it('ignores absent or junk values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('delivery policy', () => {
  it('falls back field by field to the Broker, then to the defaults', () => {
    const p = resolveDeliveryPolicy({ retry: 2 }, { retry: 5, backoffPolicy: 'linear', backoffDelay: 'PT1S', deadLetterSink: { uri: 'http://dls' } });
    expect(p).toEqual({ retry: 2, backoffPolicy: 'linear', backoffDelayMs: 1000, timeoutMs: DEFAULT_DELIVERY.timeoutMs, deadLetterSink: { uri: 'http://dls' } });
    expect(resolveDeliveryPolicy(undefined)).toEqual(DEFAULT_DELIVERY);
    expect(resolveDeliveryPolicy({ timeout: 'PT0.5S' }).timeoutMs).toBe(500);
  });
});

describe('event conversions', () => {
  const base = { specversion: '1.0', id: 'a', source: 's', type: 't' };
  it('ingress stamps arrival time and a default TTL, keeping a valid one', () => {
    const now = new Date('2024-05-01T10:00:00.000Z');
    expect(stampForBroker(base, now)).toEqual({ ...base, knativearrivaltime: '2024-05-01T10:00:00.000Z', knativebrokerttl: 255 });
    expect(stampForBroker({ ...base, knativebrokerttl: '7' }, now).knativebrokerttl).toBe(7);
    expect(stampForBroker({ ...base, knativebrokerttl: 'x' }, now).knativebrokerttl).toBe(255);
    expect(brokerTtl({ knativebrokerttl: 3 })).toBe(3);
  });
  it('replies get the original TTL minus one; 0 is dropped', () => {
    expect(prepareReply({ ...base, knativebrokerttl: 5 }, { ...base, id: 'r', knativebrokerttl: 255 })).toEqual({ forward: true, event: { ...base, id: 'r', knativebrokerttl: 4 } });
    expect(prepareReply({ ...base, knativebrokerttl: 1 }, base)).toEqual({ forward: false, ttl: 0 });
  });
  it('dead-letter extensions', () => {
    const body = Buffer.alloc(3000, 'x');
    const dl = deadLetterEvent({ ...base, knativeerrorcode: 'old' }, 'http://sub/x', 503, body);
    expect(dl.knativeerrordest).toBe('http://sub/x');
    expect(dl.knativeerrorcode).toBe('503');
    expect(Buffer.from(dl.knativeerrordata as string, 'base64').length).toBe(1024);
    const noResponse = deadLetterEvent(base, 'http://sub', undefined, 'timed out');
    expect(noResponse.knativeerrorcode).toBeUndefined();
    expect(Buffer.from(noResponse.knativeerrordata as string, 'base64').toString()).toBe('timed out');
    expect(deadLetterEvent(base, 'http://sub', 400, new Uint8Array()).knativeerrordata).toBeUndefined();
  });
});
