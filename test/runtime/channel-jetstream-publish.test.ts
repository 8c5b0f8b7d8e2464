/**
 * The JetStream channel's write path on its own, against a real nats-server: the pipelined
 * publisher (PubAcks correlated by reply subject, one timer for all deadlines) and the
 * outbox that coalesces publishes and settlements. A 2xx at the adapter rests on a
 * publish resolving only for a stored event; everything else must reject, and promptly.
 * Stand-in responders (plain NATS subscribers on a subject no stream holds) play a server
 * that answers slowly, never, or with replies a real one rarely sends.
 */
import { AckPolicy, jetstream, jetstreamManager, JetStreamManager, JsMsg, RetentionPolicy, DiscardPolicy } from '@nats-io/jetstream';
import * as natsTransport from '@nats-io/transport-node';
import { isNoResponders, mapNatsError } from '../../runtime/channel/jetstream/errors';
import { NatsConnection, OP_ACK, OP_NAK, OP_WORKING, Outbox } from '../../runtime/channel/jetstream/outbox';
import { PipelinedPublisher } from '../../runtime/channel/jetstream/publisher';
import { ChannelFullError } from '../../runtime/channel/channel';
import { NatsServerHandle, startNatsServer } from '../support/nats-server';
import { sleep, waitFor } from '../support/wait';

// `headers` comes from nats-core's internal entry point, which this project's module
// resolution does not type.
const { connect, headers } = natsTransport as unknown as typeof natsTransport & { headers(code: number, description: string): never };
interface StandInRequest {
  subject: string;
  respond(data: Uint8Array, opts?: { headers?: never }): boolean;
}
const enc = (s: string) => new TextEncoder().encode(s);
const settle = <T>(p: Promise<T>) => p.then((value) => ({ ok: true as const, value }), (error: Error) => ({ ok: false as const, error }));

let nats: NatsServerHandle;
let nc: NatsConnection;
let responders: NatsConnection;
let jsm: JetStreamManager;
const publishers: PipelinedPublisher[] = [];

function publisher(timeoutMs = 5000, conn: NatsConnection = nc): PipelinedPublisher {
  const p = new PipelinedPublisher(conn, new Outbox(conn), timeoutMs);
  publishers.push(p);
  return p;
}

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  responders = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'PUB_OK', subjects: ['pub.ok.>'] });
  await jsm.streams.add({ name: 'PUB_FULL', subjects: ['pub.full'], max_msgs: 1, discard: DiscardPolicy.New, retention: RetentionPolicy.Limits });
  // Stand-in "streams": reply as the last subject token says.
  responders.subscribe('standin.>', {
    callback: (_err: unknown, msg: StandInRequest) => {
      const kind = msg.subject.split('.')[1];
      if (kind === 'silent') return;
      if (kind === 'slow') setTimeout(() => msg.respond(enc('{"stream":"STANDIN","seq":1}')), 400);
      else if (kind === 'status') msg.respond(new Uint8Array(), { headers: headers(408, 'Request Timeout') });
      else if (kind === 'garbage') msg.respond(enc('this is not a PubAck'));
      else if (kind === 'bare-error') msg.respond(enc('{"error":{"code":500}}'));
      else if (kind === 'reordered') msg.respond(enc('{"seq":7,"stream":"STANDIN"}'));
    },
  });
  await responders.flush();
});
afterAll(async () => {
  for (const p of publishers) p.close();
  await responders?.close();
  await nc?.close();
  await nats?.stop();
});

describe('PipelinedPublisher', () => {
  test('a PubAck resolves each publish, and the events are stored', async () => {
    const p = publisher();
    await Promise.all([p.publish('pub.ok.a', enc('1')), p.publish('pub.ok.a', enc('2')), p.publish('pub.ok.b', enc('3'))]);
    expect((await jsm.streams.info('PUB_OK')).state.messages).toBe(3);
  });

  test('a PubAck error rejects with the server\'s description and JetStream error code, and maps to ChannelFullError', async () => {
    const p = publisher();
    await p.publish('pub.full', enc('the one that fits'));
    const r = await settle(p.publish('pub.full', enc('one too many')));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.message).toMatch(/maximum messages exceeded/);
    expect((r.error as Error & { code?: number }).code).toBe(10077);
    expect(mapNatsError(r.error, 'publishing')).toBeInstanceOf(ChannelFullError);
    expect((await jsm.streams.info('PUB_FULL')).state.messages).toBe(1);
  });

  test('no stream for the subject: NoRespondersError, which the channel recognizes to create the stream', async () => {
    const r = await settle(publisher().publish('pub.nowhere', enc('x')));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ name: 'NoRespondersError', message: 'no responders: no stream for this subject' });
    expect(isNoResponders(r.error)).toBe(true);
  });

  test('another status is an error with its code and description, not "no responders"', async () => {
    const r = await settle(publisher().publish('standin.status', enc('x')));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.message).toBe('JetStream status 408 Request Timeout');
    expect(r.error.name).toBe('Error');
    expect(isNoResponders(r.error)).toBe(false);
  });

  test('a reply that is not a PubAck rejects; an error without a description gets a generic one', async () => {
    const p = publisher();
    await expect(p.publish('standin.garbage', enc('x'))).rejects.toThrow('unparseable PubAck');
    const r = await settle(p.publish('standin.bare-error', enc('x')));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.message).toBe('JetStream publish error');
    expect((r.error as Error & { code?: number }).code).toBe(500);
  });

  test('a PubAck with its fields in another order is parsed, not taken for an error', async () => {
    await expect(publisher().publish('standin.reordered', enc('x'))).resolves.toBeUndefined();
  });

  test('no PubAck: TimeoutError after the timeout, not much later', async () => {
    const p = publisher(400);
    const started = Date.now();
    const r = await settle(p.publish('standin.silent', enc('x')));
    const took = Date.now() - started;
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ name: 'TimeoutError', message: 'no PubAck within 400 ms' });
    expect(took).toBeGreaterThanOrEqual(380);
    // One expiry tick is at most 250 ms; allow a loaded machine a lot more.
    expect(took).toBeLessThan(3000);
  });

  test('publishes that time out one after another each time out (the timer keeps going while any is pending)', async () => {
    const p = publisher(300);
    const first = settle(p.publish('standin.silent', enc('1')));
    await sleep(450);
    const second = settle(p.publish('standin.silent', enc('2')));
    const [a, b] = await Promise.all([first, second]);
    expect([a.ok, b.ok]).toEqual([false, false]);
    // And after both expired, a new publish still gets a timer.
    await expect(p.publish('standin.silent', enc('3'))).rejects.toThrow('no PubAck within 300 ms');
  });

  test('the expiry tick is at most 250 ms whatever the timeout: a publish made between ticks times out soon after its own deadline', async () => {
    const p = publisher(2000);
    const first = settle(p.publish('standin.silent', enc('1')));
    await sleep(300);
    const started = Date.now();
    const second = await settle(p.publish('standin.silent', enc('2')));
    const took = Date.now() - started;
    expect([(await first).ok, second.ok]).toEqual([false, false]);
    expect(took).toBeGreaterThanOrEqual(1980);
    // A tick as long as the timeout would find it only at the tick after the first's: ~3.7 s.
    expect(took).toBeLessThan(3000);
  });

  test('a PubAck slower than an expiry tick but within the timeout is accepted', async () => {
    const p = publisher(3000);
    await expect(p.publish('standin.slow', enc('x'))).resolves.toBeUndefined();
  });

  test('two publishers on one connection each get their own PubAcks', async () => {
    const a = publisher();
    const b = publisher();
    for (let round = 0; round < 3; round++) {
      const [ok, full] = await Promise.all([settle(a.publish('pub.ok.pair', enc('a'))), settle(b.publish('pub.full', enc('b')))]);
      expect([round, ok.ok, full.ok]).toEqual([round, true, false]);
    }
  });

  test('failAll rejects everything in flight at once, as a connection error with the reason', async () => {
    const p = publisher(60_000);
    const inFlight = [settle(p.publish('standin.silent', enc('1'))), settle(p.publish('standin.silent', enc('2')))];
    await sleep(50);
    p.failAll('disconnected from NATS before the PubAck arrived');
    for (const r of await Promise.all(inFlight)) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ name: 'ConnectionError', message: 'disconnected from NATS before the PubAck arrived' });
    }
  });

  test('close() rejects what is in flight with "channel closed"', async () => {
    const p = publisher(60_000);
    const inFlight = settle(p.publish('standin.silent', enc('x')));
    await sleep(50);
    p.close();
    const r = await inFlight;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ name: 'ConnectionError', message: 'channel closed' });
  });

  test('a publish the client refuses (its connection closed) fails at once, not at the PubAck timeout', async () => {
    const conn = await connect({ servers: nats.url });
    const p = publisher(60_000, conn);
    await conn.close();
    const started = Date.now();
    const r = await settle(p.publish('pub.ok.closed', enc('x')));
    expect(r.ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('Outbox settlements', () => {
  let next: () => Promise<JsMsg>;
  let box: Outbox;

  beforeAll(async () => {
    await jsm.streams.add({ name: 'SETTLE', subjects: ['settle.>'] });
    await jsm.consumers.add('SETTLE', { durable_name: 'settler', ack_policy: AckPolicy.Explicit, ack_wait: 30_000 * 1e6, filter_subject: 'settle.>' });
    const consumer = await jetstream(nc).consumers.get('SETTLE', 'settler');
    next = async () => {
      const m = await consumer.next({ expires: 5000 });
      if (!m) throw new Error('no message within 5 s');
      return m;
    };
    box = new Outbox(nc);
  });

  const pending = async () => (await jsm.consumers.info('SETTLE', 'settler')).num_ack_pending;

  test('OP_ACK acks: nothing left pending', async () => {
    await jetstream(nc).publish('settle.ack', enc('a'));
    const m = await next();
    box.settle(m, OP_ACK);
    await waitFor(async () => (await pending()) === 0, 5000, 'the ack to reach the server');
  });

  test('OP_NAK and a nak delay of 1 or 2 ms redeliver at once (a short delay is never taken for an ack or working())', async () => {
    for (const op of [OP_NAK, 1, 2]) {
      await jetstream(nc).publish('settle.nak', enc(String(op)));
      const m = await next();
      expect(m.info.deliveryCount).toBe(1);
      box.settle(m, op);
      // ack_wait is 30 s: only the nak brings it back within next()'s 5 s.
      const again = await next();
      expect([op, again.seq, again.info.deliveryCount]).toEqual([op, m.seq, 2]);
      again.ack();
    }
    await waitFor(async () => (await pending()) === 0, 5000, 'the acks to reach the server');
  });

  test('OP_WORKING keeps the delivery pending without redelivering it', async () => {
    await jetstream(nc).publish('settle.working', enc('w'));
    const m = await next();
    box.settle(m, OP_WORKING);
    box.flush();
    await nc.flush();
    expect(await pending()).toBe(1);
    const consumer = await jetstream(nc).consumers.get('SETTLE', 'settler');
    expect(await consumer.next({ expires: 1000 })).toBeNull();
    m.ack();
  });

  test('settlements queued in one turn leave together, in order, and each settles its own message', async () => {
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) await jetstream(nc).publish('settle.batch', enc(String(i)));
    const msgs: JsMsg[] = [];
    for (let i = 0; i < 5; i++) msgs.push(await next());
    for (const m of msgs) {
      seqs.push(m.seq);
      box.settle(m, OP_ACK);
    }
    expect(new Set(seqs).size).toBe(5);
    await waitFor(async () => (await pending()) === 0, 5000, 'all five acks to reach the server');
  });
});
