/**
 * Server-side filtering on JetStream against a real nats-server: a consumer with a prefilter
 * gets a filter subject and the server sends it only matching events; streams and consumers
 * of the old subject layout migrate on start with no event lost or duplicated.
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { ChannelMessage } from '../../runtime/channel/channel';
import { durableNameFor, JetStreamChannel, streamNameFor, streamSubjectFor, subjectFor } from '../../runtime/channel/jetstream';
import { NatsServerHandle, startNatsServer } from '../support/nats-server';
import { sleep, waitFor } from '../support/wait';


let nats: NatsServerHandle;
let nc: Awaited<ReturnType<typeof connect>>;
let jsm: JetStreamManager;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const ev = (id: string, type: string) => ({ specversion: '1.0', id, source: 'shop', type });
const bytes = (e: object) => Buffer.from(JSON.stringify(e));
const parse = (m: ChannelMessage) => JSON.parse(Buffer.from(m.data).toString()) as { id: string; type: string };
const opts = { maxInFlight: 16, ordered: false, ackWaitMs: 5000 };

test('a prefilter becomes the consumer filter subject and the server sends only matching events', async () => {
  const ch = new JetStreamChannel({ servers: nats.url });
  await ch.connect();
  const topic = 'broker.ns.filtered';
  await ch.ensureTopic(topic);
  const seen: string[] = [];
  const c = await ch.consume(topic, 'trigger.ns.orders', async (m) => { seen.push(parse(m).type); await m.ack(); }, { ...opts, deliverPolicy: 'all', prefilter: { type: 'order.created', region: 'eu' } });
  const info = await jsm.consumers.info(streamNameFor(topic), durableNameFor('trigger.ns.orders'));
  expect(info.config.filter_subject).toBe('emf.broker_ns_filtered.order_created.*.*');
  for (let i = 0; i < 30; i++) {
    const e = ev(`e${i}`, i % 3 === 0 ? 'order.created' : 'order.deleted');
    await ch.publish(topic, bytes(e), e);
  }
  await waitFor(() => seen.length >= 10, 10_000, 'the matching events');
  await sleep(300);
  expect(seen).toEqual(Array(10).fill('order.created'));
  // A prefilter the subjects cannot express: no filter subject, every event delivered.
  await c.stop();
  const all: string[] = [];
  const c2 = await ch.consume(topic, 'trigger.ns.eu', async (m) => { all.push(parse(m).id); await m.ack(); }, { ...opts, deliverPolicy: 'all', prefilter: { region: 'eu' } });
  expect((await jsm.consumers.info(streamNameFor(topic), durableNameFor('trigger.ns.eu'))).config.filter_subject ?? '').toBe('');
  await waitFor(() => all.length >= 30, 10_000, 'every event');
  await c2.stop();
  await ch.close();
});

test('a changed prefilter updates the filter subject of the durable consumer in place', async () => {
  const ch = new JetStreamChannel({ servers: nats.url });
  await ch.connect();
  const topic = 'broker.ns.change';
  await ch.ensureTopic(topic);
  const c = await ch.consume(topic, 'trigger.ns.c', async (m) => m.ack(), { ...opts, deliverPolicy: 'new', prefilter: { type: 'a' } });
  await c.stop();
  const c2 = await ch.consume(topic, 'trigger.ns.c', async (m) => m.ack(), { ...opts, deliverPolicy: 'new', prefilter: { source: 'x' } });
  expect((await jsm.consumers.info(streamNameFor(topic), durableNameFor('trigger.ns.c'))).config.filter_subject).toBe('emf.broker_ns_change.*.x.*');
  await c2.stop();
  const c3 = await ch.consume(topic, 'trigger.ns.c', async (m) => m.ack(), { ...opts, deliverPolicy: 'new' });
  expect((await jsm.consumers.info(streamNameFor(topic), durableNameFor('trigger.ns.c'))).config.filter_subject ?? '').toBe('');
  await c3.stop();
  await ch.close();
});

test('upgrade: events stored under the old layout, then the new code: every event delivered exactly once per matching consumer', async () => {
  const topic = 'broker.ns.upgrade';
  const stream = streamNameFor(topic);
  // What the previous release created: the stream on `em.<topic>` and unfiltered durable consumers.
  await jsm.streams.add({ name: stream, subjects: [subjectFor(topic)] });
  for (const t of ['t-a', 't-b']) await jsm.consumers.add(stream, { durable_name: durableNameFor(`trigger.ns.${t}`), ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_deliver: -1 });
  const js = jetstream(nc);
  const expected: Record<string, string[]> = { a: [], b: [] };
  for (let i = 0; i < 40; i++) {
    const type = i % 2 ? 'a' : 'b';
    await js.publish(subjectFor(topic), bytes(ev(`old-${i}`, type)));
    expected[type].push(`old-${i}`);
  }

  // The upgraded code: the stream moves to the new subjects, the consumers start unfiltered.
  const ch = new JetStreamChannel({ servers: nats.url, migrationCheckMs: 100 });
  await ch.connect();
  await ch.ensureTopic(topic);
  expect((await jsm.streams.info(stream)).config.subjects).toEqual([streamSubjectFor(topic)]);
  const got: Record<string, string[]> = { a: [], b: [] };
  const unmatchedSeen: Record<string, number> = { a: 0, b: 0 };
  const consumers = [];
  for (const type of ['a', 'b']) {
    // The handler filters as the dispatcher does (the predicate runs on every delivery).
    consumers.push(await ch.consume(topic, `trigger.ns.t-${type}`, async (m) => {
      const e = parse(m);
      if (e.type === type) got[type].push(e.id);
      else unmatchedSeen[type]++;
      await m.ack();
    }, { ...opts, deliverPolicy: 'new', prefilter: { type } }));
  }
  expect((await jsm.consumers.info(stream, durableNameFor('trigger.ns.t-a'))).config.filter_subject ?? '').toBe('');
  for (let i = 0; i < 40; i++) {
    const e = ev(`new-${i}`, i % 2 ? 'a' : 'b');
    await ch.publish(topic, bytes(e), e);
    expected[e.type].push(e.id);
  }
  await waitFor(() => got.a.length >= 40 && got.b.length >= 40, 20_000, 'old and new events');
  // Once everything old is acknowledged, the consumers switch to their filter subjects.
  for (const type of ['a', 'b']) {
    // On nats-server 2.9 the switch recreates the consumer, so for a moment it does not exist.
    const filterSubject = () => jsm.consumers.info(stream, durableNameFor(`trigger.ns.t-${type}`)).then((i) => i.config.filter_subject, () => undefined);
    await waitFor(async () => (await filterSubject()) === `emf.broker_ns_upgrade.${type}.*.*`, 20_000, `filter subject of t-${type}`);
  }
  const before = { ...unmatchedSeen };
  for (let i = 40; i < 60; i++) {
    const e = ev(`new-${i}`, i % 2 ? 'a' : 'b');
    await ch.publish(topic, bytes(e), e);
    expected[e.type].push(e.id);
  }
  await waitFor(() => got.a.length >= 50 && got.b.length >= 50, 20_000, 'events after the switch');
  await sleep(500);
  for (const type of ['a', 'b']) {
    expect(got[type]).toHaveLength(new Set(got[type]).size); // no duplicates
    expect([...got[type]].sort()).toEqual([...expected[type]].sort()); // none lost
  }
  // After the switch the server filters: no non-matching event reaches the handler any more.
  expect(unmatchedSeen).toEqual(before);
  for (const c of consumers) await c.stop();
  await ch.close();
}, 60_000);
