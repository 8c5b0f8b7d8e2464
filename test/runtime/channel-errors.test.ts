/**
 * The channel contract's pure parts: its errors, how NATS errors map onto them (what the
 * adapter turns into 503 or 507), attribute reading, the bounded connection wait and
 * handler tracking for stop(grace).
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import { attributeString, awaitConnection, ChannelFullError, ChannelMessage, ChannelUnavailableError, runTracked } from '../../runtime/channel/channel';
import { errText, isFull, isNoResponders, mapNatsError } from '../../runtime/channel/jetstream/errors';

const named = (name: string, message = 'boom'): Error => Object.assign(new Error(message), { name });
const withCause = (message: string, cause: unknown): Error => new Error(message, { cause });
const withCode = (code: unknown, message = 'rejected'): Error => Object.assign(new Error(message), { code });
const apiError = (err_code: number, description = 'api said no') => new JetStreamApiError({ code: 400, err_code, description });

describe('errText', () => {
  test('an error reads as its message, with a different cause in parentheses', () => {
    expect(errText(new Error('publish failed'))).toBe('publish failed');
    expect(errText(withCause('publish failed', new Error('socket closed')))).toBe('publish failed (socket closed)');
  });
  test('a cause repeating the message, or a cause that is not an error, is not repeated', () => {
    expect(errText(withCause('same', new Error('same')))).toBe('same');
    expect(errText(withCause('publish failed', 'a string cause'))).toBe('publish failed');
  });
  test('anything else reads as its string form', () => {
    expect(errText('plain')).toBe('plain');
    expect(errText(42)).toBe('42');
    expect(errText(undefined)).toBe('undefined');
  });
});

describe('isNoResponders', () => {
  test('recognized by name or message, on the error or its cause', () => {
    expect(isNoResponders(named('NoRespondersError', 'x'))).toBe(true);
    expect(isNoResponders(new Error('503: No Responders available'))).toBe(true);
    expect(isNoResponders(withCause('request failed', named('NoRespondersError', 'x')))).toBe(true);
    expect(isNoResponders(withCause('request failed', new Error('no responders')))).toBe(true);
  });
  test('other errors, non-errors and non-error causes are not', () => {
    expect(isNoResponders(new Error('timeout'))).toBe(false);
    expect(isNoResponders(withCause('request failed', new Error('timeout')))).toBe(false);
    expect(isNoResponders(withCause('request failed', 'no responders'))).toBe(false);
    expect(isNoResponders({ name: 'NoRespondersError', message: 'no responders' })).toBe(false);
    expect(isNoResponders('no responders')).toBe(false);
  });
});

describe('isFull', () => {
  test('JetStream error code 10047 (insufficient resources), on an API error or any error with that numeric code', () => {
    expect(isFull(apiError(10047))).toBe(true);
    expect(isFull(withCode(10047))).toBe(true);
    expect(isFull(withCode(10077))).toBe(false);
    expect(isFull(withCode('10047'))).toBe(false);
    expect(isFull(apiError(10059))).toBe(false);
  });
  test('the servers\' texts for full storage, in any case', () => {
    for (const text of ['insufficient storage resources', 'insufficient resources', 'maximum bytes exceeded', 'Maximum Messages Exceeded', 'resource limits exceeded', 'Storage quota EXCEEDED', 'storage limit exceeded']) {
      expect([text, isFull(new Error(text))]).toEqual([text, true]);
    }
  });
  test('"storage" and "exceeded" only count in that order, as separate words', () => {
    expect(isFull(new Error('exceeded storage quota'))).toBe(false);
    expect(isFull(new Error('exceededstorage quota'))).toBe(false);
    expect(isFull(new Error('storage is fine'))).toBe(false);
    expect(isFull(new Error('the limit was exceeded'))).toBe(false);
    expect(isFull(new Error('maximum consumers exceeded'))).toBe(false);
  });
  test('non-errors are not', () => {
    expect(isFull({ message: 'insufficient resources', code: 10047 })).toBe(false);
    expect(isFull('insufficient resources')).toBe(false);
  });
});

describe('mapNatsError', () => {
  test('the contract\'s own errors pass through unchanged', () => {
    const unavailable = new ChannelUnavailableError('down', 5);
    const full = new ChannelFullError('full');
    expect(mapNatsError(unavailable, 'publishing')).toBe(unavailable);
    expect(mapNatsError(full, 'publishing')).toBe(full);
  });
  test('full storage is ChannelFullError (507), naming what was done and why', () => {
    const e = mapNatsError(apiError(10047, 'insufficient resources'), 'publishing to broker.ns.default');
    expect(e).toBeInstanceOf(ChannelFullError);
    expect(e.message).toBe('publishing to broker.ns.default: JetStream storage is full (insufficient resources)');
  });
  test('connection errors, no responders and API errors are "JetStream is unavailable" (503, Retry-After 1)', () => {
    const cases = [
      named('TimeoutError'),
      named('ClosedConnectionError'),
      named('DrainingConnectionError'),
      named('ConnectionError'),
      named('RequestError'),
      named('NoRespondersError'),
      withCause('request failed', new Error('no responders')),
      apiError(10059, 'stream not found'),
    ];
    for (const c of cases) {
      const e = mapNatsError(c, 'publishing to t');
      expect([c.name, e]).toEqual([c.name, expect.any(ChannelUnavailableError)]);
      expect(e.message).toBe(`publishing to t: NATS JetStream is unavailable (${errText(c)})`);
      expect((e as ChannelUnavailableError).retryAfterSeconds).toBe(1);
    }
  });
  test('anything else is unavailable too, with the error as it is', () => {
    const e = mapNatsError(new TypeError('bad subject'), 'publishing to t');
    expect(e).toBeInstanceOf(ChannelUnavailableError);
    expect(e.message).toBe('publishing to t: bad subject');
    expect((e as ChannelUnavailableError).retryAfterSeconds).toBe(1);
    expect(mapNatsError('a string', 'acking').message).toBe('acking: a string');
  });
});

describe('the contract\'s errors', () => {
  test('carry their names (logged and matched by name across packages) and a Retry-After', () => {
    const unavailable = new ChannelUnavailableError('down');
    expect(unavailable.name).toBe('ChannelUnavailableError');
    expect(unavailable.retryAfterSeconds).toBe(1);
    expect(new ChannelUnavailableError('down', 7).retryAfterSeconds).toBe(7);
    expect(new ChannelFullError('full').name).toBe('ChannelFullError');
  });
});

describe('attributeString', () => {
  const event = { id: '1', type: 'order.created', count: 3, flag: false, obj: { a: 1 }, nothing: null, data: 'payload', data_base64: 'cGF5bG9hZA==' };
  test('strings as they are; numbers and booleans in their canonical string form', () => {
    expect(attributeString(event, 'type')).toBe('order.created');
    expect(attributeString(event, 'count')).toBe('3');
    expect(attributeString(event, 'flag')).toBe('false');
  });
  test('data and data_base64 are never attributes, and neither are objects, null or missing names', () => {
    expect(attributeString(event, 'data')).toBeUndefined();
    expect(attributeString(event, 'data_base64')).toBeUndefined();
    expect(attributeString(event, 'obj')).toBeUndefined();
    expect(attributeString(event, 'nothing')).toBeUndefined();
    expect(attributeString(event, 'missing')).toBeUndefined();
  });
  test('only own properties: nothing inherited from Object.prototype', () => {
    expect(attributeString(event, 'constructor')).toBeUndefined();
    expect(attributeString(Object.create({ type: 'inherited' }) as Record<string, unknown>, 'type')).toBeUndefined();
  });
});

describe('awaitConnection', () => {
  test('resolves with the connection, and its timer does not outlive it', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await awaitConnection(Promise.resolve('connected'), 60_000, () => 'never');
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(before);
  });
  test('a connection that takes too long: ChannelUnavailableError with the message and Retry-After 2', async () => {
    const never = new Promise<void>(() => undefined);
    const e = await awaitConnection(never, 20, () => 'connecting to NATS at nats://x:4222').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ChannelUnavailableError);
    expect(e).toMatchObject({ message: 'connecting to NATS at nats://x:4222', retryAfterSeconds: 2 });
  });
  test('a failed connection attempt rejects with its own error', async () => {
    await expect(awaitConnection(Promise.reject(new Error('refused')), 60_000, () => 'x')).rejects.toThrow('refused');
  });
});

describe('runTracked', () => {
  const message = {} as ChannelMessage;
  test('a handler is tracked while it runs and removed when it finishes', async () => {
    const running = new Set<Promise<void>>();
    let finish!: () => void;
    const done = runTracked(() => new Promise<void>((r) => (finish = r)), message, running);
    expect(running.size).toBe(1);
    finish();
    await done;
    expect(running.size).toBe(0);
  });
  test('a handler that throws or rejects is tracked and removed as well, without rejecting', async () => {
    const running = new Set<Promise<void>>();
    await expect(
      runTracked(
        () => {
          throw new Error('sync');
        },
        message,
        running,
      ),
    ).resolves.toBeUndefined();
    await expect(runTracked(() => Promise.reject(new Error('async')), message, running)).resolves.toBeUndefined();
    expect(running.size).toBe(0);
  });
});
