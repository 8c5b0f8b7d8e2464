/** In-memory specifics (the shared behaviour is in channel-contract.test.ts). */
import { ChannelFullError, ChannelUnavailableError } from '../../runtime/channel/channel';
import { InMemoryChannel } from '../../runtime/channel/in-memory';

const enc = (s: string) => Buffer.from(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('InMemoryChannel', () => {
  test('publish before connect is ChannelUnavailableError; ready after connect', async () => {
    const ch = new InMemoryChannel();
    expect(ch.isReady()).toBe(false);
    await expect(ch.publish('t', enc('x'))).rejects.toBeInstanceOf(ChannelUnavailableError);
    await ch.connect();
    expect(ch.isReady()).toBe(true);
    await ch.close();
    expect(ch.isReady()).toBe(false);
  });

  test('drops events every consumer acked (bounded memory)', async () => {
    const ch = new InMemoryChannel({ sweepIntervalMs: 50 });
    await ch.connect();
    await ch.ensureTopic('t');
    const c = await ch.consume('t', 'c1', async (m) => m.ack(), { maxInFlight: 10, ordered: false, ackWaitMs: 1000 });
    for (let i = 0; i < 100; i++) await ch.publish('t', enc(String(i)));
    await sleep(150);
    expect(ch.storedCount('t')).toBe(0);
    await c.stop();
    await ch.close();
  });

  test('maxBytes: ChannelFullError', async () => {
    const ch = new InMemoryChannel();
    await ch.connect();
    await ch.ensureTopic('t', { maxBytes: 10 });
    await ch.publish('t', enc('12345'));
    await ch.publish('t', enc('12345'));
    await expect(ch.publish('t', enc('1'))).rejects.toBeInstanceOf(ChannelFullError);
    await ch.close();
  });

  test('deliverPolicy new skips stored events', async () => {
    const ch = new InMemoryChannel();
    await ch.connect();
    await ch.publish('t', enc('old'));
    const got: string[] = [];
    const c = await ch.consume('t', 'n', async (m) => { got.push(Buffer.from(m.data).toString()); await m.ack(); }, { maxInFlight: 1, ordered: true, ackWaitMs: 1000, deliverPolicy: 'new' });
    await ch.publish('t', enc('new'));
    await sleep(20);
    expect(got).toEqual(['new']);
    await c.stop();
    await ch.close();
  });
});
