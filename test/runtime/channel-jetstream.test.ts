/** JetStream specifics against a real nats-server (the shared behaviour is in channel-contract). */
import { jetstreamManager, JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ChannelUnavailableError } from '../../runtime/channel/channel';
import { durableNameFor, JetStreamChannel, streamNameFor, streamSubjectFor } from '../../runtime/channel/jetstream';
import { NatsServerHandle, startNatsServer } from '../support/nats-server';
import { sleep, waitFor } from '../support/wait';


let nats: NatsServerHandle;
let nc: Awaited<ReturnType<typeof connect>>;
let jsm: JetStreamManager;
let ch: JetStreamChannel;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  ch = new JetStreamChannel({ servers: nats.url });
  await ch.connect();
});
afterAll(async () => {
  await ch?.close();
  await nc?.close();
  await nats?.stop();
});

test('ensureTopic creates a file stream with the options and updates it when they change', async () => {
  const topic = 'channel.kyma-integration.commerce';
  await ch.ensureTopic(topic, { maxAgeMs: 60_000, replicas: 1 });
  let info = await jsm.streams.info(streamNameFor(topic));
  expect(info.config).toMatchObject({ subjects: [streamSubjectFor(topic)], storage: 'file', retention: 'limits', max_age: 60_000 * 1e6, num_replicas: 1, discard: 'old' });
  await ch.ensureTopic(topic, { maxAgeMs: 120_000, maxBytes: 1_000_000, maxInactivityMs: 3_600_000 });
  info = await jsm.streams.info(streamNameFor(topic));
  expect(info.config).toMatchObject({ max_age: 120_000 * 1e6, max_bytes: 1_000_000, discard: 'new' });
  expect(info.config.description).toContain('"maxInactivityMs":3600000');
});

test('durable consumer: explicit ack, ack_wait, max_ack_pending and inactive_threshold', async () => {
  const topic = 'broker.ns.default';
  await ch.ensureTopic(topic, { maxInactivityMs: 3_600_000 });
  const c = await ch.consume(topic, 'trigger.ns.t1', async (m) => m.ack(), { maxInFlight: 7, ordered: false, ackWaitMs: 4000 });
  const info = await jsm.consumers.info(streamNameFor(topic), durableNameFor('trigger.ns.t1'));
  expect(info.config).toMatchObject({ ack_policy: 'explicit', ack_wait: 4000 * 1e6, max_ack_pending: 7, inactive_threshold: 3_600_000 * 1e6 });
  await c.stop();
  // Restarting with other limits updates the consumer in place.
  const c2 = await ch.consume(topic, 'trigger.ns.t1', async (m) => m.ack(), { maxInFlight: 1, ordered: true, ackWaitMs: 2000 });
  const info2 = await jsm.consumers.info(streamNameFor(topic), durableNameFor('trigger.ns.t1'));
  expect(info2.config).toMatchObject({ ack_wait: 2000 * 1e6, max_ack_pending: 1 });
  await c2.stop();
});

/**
 * nats-server 2.9.10 can answer a consumer delete with "unlinkat …: directory not empty" when
 * the consumer's store is being written at that moment (an ack in flight); the delete itself
 * is what the test needs, so it is repeated until the server completes it.
 */
async function deleteConsumer(stream: string, durable: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await jsm.consumers.delete(stream, durable);
      return;
    } catch (e) {
      if (attempt >= 10 || !/directory not empty/.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('a consumer deleted behind our back is recreated and delivery goes on', async () => {
  const topic = 'broker.ns.recreate';
  await ch.ensureTopic(topic);
  const got: string[] = [];
  const c = await ch.consume(topic, 'trigger.ns.r', async (m) => { got.push(Buffer.from(m.data).toString()); await m.ack(); }, { maxInFlight: 10, ordered: false, ackWaitMs: 2000 });
  await ch.publish(topic, Buffer.from('one'));
  await waitFor(() => got.includes('one'), 5000, 'first event');
  await deleteConsumer(streamNameFor(topic), durableNameFor('trigger.ns.r'));
  await ch.publish(topic, Buffer.from('two'));
  await waitFor(() => got.includes('two'), 20_000, 'event after the consumer was recreated');
  await c.stop();
}, 30_000);

test('publish to a topic whose stream does not exist creates it', async () => {
  const topic = 'channel.ns.implicit';
  await ch.publish(topic, Buffer.from('x'));
  const info = await jsm.streams.info(streamNameFor(topic));
  expect(info.state.messages).toBe(1);
});

test('a channel that was never connected, or closed, is not ready and fails fast', async () => {
  const never = new JetStreamChannel({ servers: nats.url });
  expect(never.isReady()).toBe(false);
  await expect(never.publish('t', Buffer.from('x'))).rejects.toBeInstanceOf(ChannelUnavailableError);
  const closed = new JetStreamChannel({ servers: nats.url });
  await closed.connect();
  expect(closed.isReady()).toBe(true);
  await closed.close();
  expect(closed.isReady()).toBe(false);
  await expect(closed.publish('t', Buffer.from('x'))).rejects.toBeInstanceOf(ChannelUnavailableError);
  await expect(closed.connect()).rejects.toBeInstanceOf(ChannelUnavailableError);
});

test('crash (SIGKILL) and restart: stored events survive, the channel recovers', async () => {
  const topic = 'channel.ns.crash';
  await ch.ensureTopic(topic);
  for (let i = 0; i < 20; i++) await ch.publish(topic, Buffer.from(String(i)));
  await nats.kill();
  await waitFor(() => !ch.isReady(), 5000, 'disconnect');
  await nats.start();
  await waitFor(() => ch.isReady(), 10_000, 'reconnect');
  const got = new Set<string>();
  const c = await ch.consume(topic, 'sub.ns.crash', async (m) => { got.add(Buffer.from(m.data).toString()); await m.ack(); }, { maxInFlight: 50, ordered: false, ackWaitMs: 2000 });
  await waitFor(() => got.size === 20, 10_000, 'all 20 events');
  await c.stop();
}, 30_000);
