/**
 * The HTTP source adapter against a real nats-server (JetStream), with the cloudevents
 * SDK and undici as clients; events are read back from the stream.
 */
import { jetstreamManager, JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { CloudEvent, emitterFor, httpTransport, HTTP, Mode } from 'cloudevents';
import net from 'node:net';
import { request } from 'undici';
import { channelTopic } from '../../constructs/api';
import { AdapterHandle, startAdapter } from '../../runtime/adapter';
import { JetStreamChannel, streamNameFor } from '../../runtime/channel/jetstream';
import type { CloudEventJson } from '../../runtime/cloudevents';
import { createMetricsRegistry, silentLogger } from '../../runtime/observability';
import { freePort, NatsServerHandle, startNatsServer } from '../support/nats-server';

const APP = 'commerce';
const TOPIC = channelTopic('kyma-integration', APP);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let nats: NatsServerHandle;
let adapter: AdapterHandle;
let channel: JetStreamChannel;
let nc: Awaited<ReturnType<typeof connect>>;
let jsm: JetStreamManager;

async function stored(): Promise<number> {
  const info = await jsm.streams.info(streamNameFor(TOPIC));
  return info.state.last_seq;
}

async function storedEvent(seq: number): Promise<CloudEventJson> {
  const m = await jsm.streams.getMessage(streamNameFor(TOPIC), { seq });
  return JSON.parse(Buffer.from(m!.data).toString()) as CloudEventJson;
}

async function post(path: string, headers: Record<string, string>, body: string | Buffer) {
  const res = await request(`${adapter.url}${path}`, { method: 'POST', headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

function structured(ev: Record<string, unknown>) {
  return post('/events', { 'content-type': 'application/cloudevents+json' }, JSON.stringify(ev));
}

const valid = () => ({ specversion: '1.0', id: `id-${Math.random()}`, source: 'ignored', type: 'order.created', data: { n: 1 } });

beforeAll(async () => {
  nats = await startNatsServer();
  channel = new JetStreamChannel({ servers: nats.url, connectTimeoutMs: 3000 });
  adapter = await startAdapter(
    { application: APP, port: 0, host: '127.0.0.1', maxBodyBytes: 8192, shutdownGraceMs: 2000, headersTimeoutMs: 1000, requestTimeoutMs: 2000, topic: { maxAgeMs: 3_600_000 }, auth: { mode: 'none' } },
    { channel, logger: silentLogger(), registry: createMetricsRegistry({ defaults: false }) },
  );
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await adapter?.close();
  await channel?.close();
  await nc?.close();
  await nats?.stop();
});

describe('accepted events are stored on the application channel', () => {
  test('binary (SDK emitter): 202, stored with source = application', async () => {
    const before = await stored();
    const emit = emitterFor(httpTransport(`${adapter.url}/events`), { mode: Mode.BINARY });
    await emit(new CloudEvent({ id: 'bin-1', source: '/from/app', type: 'order.created', subject: 'o-1', myext: 'x', data: { orderId: 1 } }));
    expect(await stored()).toBe(before + 1);
    const ev = await storedEvent(before + 1);
    expect(ev).toMatchObject({ specversion: '1.0', id: 'bin-1', source: APP, type: 'order.created', subject: 'o-1', myext: 'x', data: { orderId: 1 } });
  });

  test('binary (SDK HTTP.binary): status 202', async () => {
    const m = HTTP.binary(new CloudEvent({ id: 'bin-2', source: 'x', type: 't', data: 'hello', datacontenttype: 'text/plain' }));
    const res = await post('/events', m.headers as Record<string, string>, m.body as string);
    expect(res.status).toBe(202);
    const ev = await storedEvent(await stored());
    expect(ev).toMatchObject({ id: 'bin-2', data: 'hello', datacontenttype: 'text/plain', source: APP });
  });

  test('structured (SDK) on POST /', async () => {
    const m = HTTP.structured(new CloudEvent({ id: 'str-1', source: 'x', type: 't', data: { a: [1, 2] } }));
    const res = await post('/', m.headers as Record<string, string>, m.body as string);
    expect(res.status).toBe(202);
    expect(await storedEvent(await stored())).toMatchObject({ id: 'str-1', source: APP, data: { a: [1, 2] } });
  });

  test('batch: all stored in order', async () => {
    const before = await stored();
    const batch = [1, 2, 3].map((i) => ({ ...valid(), id: `batch-${i}` }));
    const res = await post('/events', { 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify(batch));
    expect(res.status).toBe(202);
    expect(await stored()).toBe(before + 3);
    const ids = await Promise.all([1, 2, 3].map(async (i) => (await storedEvent(before + i)).id));
    expect(ids.sort()).toEqual(['batch-1', 'batch-2', 'batch-3']);
  });

  test('legacy /v1/events: 200 {"event-id"} and a CloudEvent with eventtypeversion', async () => {
    const res = await post('/v1/events', { 'content-type': 'application/json' }, JSON.stringify({ 'event-type': 'order.created', 'event-type-version': 'v1', 'event-time': '2026-01-01T12:00:00Z', data: { orderId: 9 } }));
    expect(res.status).toBe(200);
    const id = res.json()['event-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await storedEvent(await stored())).toEqual({
      specversion: '1.0',
      id,
      source: APP,
      type: 'order.created',
      eventtypeversion: 'v1',
      time: '2026-01-01T12:00:00Z',
      datacontenttype: 'application/json',
      data: { orderId: 9 },
    });
    const withId = await post('/v1/events', {}, JSON.stringify({ 'event-id': '8954ad1c-78ed-4c58-a639-68bd44031de0', 'event-type': 'a', 'event-type-version': 'v2', 'event-time': '2026-01-01T12:00:00+02:00', data: 'x' }));
    expect(withId.json()).toEqual({ 'event-id': '8954ad1c-78ed-4c58-a639-68bd44031de0' });
  });
});

describe('rejected events: 4xx naming the attribute, nothing stored', () => {
  const drop = (k: string) => { const e: Record<string, unknown> = valid(); delete e[k]; return e; };
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['missing id', drop('id'), 'id'],
    ['specversion 0.3', { ...valid(), specversion: '0.3' }, 'specversion'],
    ['bad time', { ...valid(), time: 'yesterday' }, 'time'],
    ['empty subject', { ...valid(), subject: '' }, 'subject'],
    ['extension name Bad_Name', { ...valid(), Bad_Name: 'x' }, 'Bad_Name'],
    ['data and data_base64', { ...valid(), data_base64: 'eA==' }, 'data_base64'],
    ['missing type', drop('type'), 'type'],
    ['relative dataschema', { ...valid(), dataschema: 'schema.json' }, 'dataschema'],
    ['object extension', { ...valid(), ext: { a: 1 } }, 'ext'],
  ];
  test.each(cases)('structured, %s → 400', async (_n, ev, attribute) => {
    const before = await stored();
    const res = await structured(ev);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const body = res.json();
    expect(body.attribute).toBe(attribute);
    expect(body.error).toMatch(/attribute|data/);
    expect(body.message).toContain(attribute);
    expect(await stored()).toBe(before);
  });

  test('binary without ce-id, and with ce-Bad_Name', async () => {
    const h = { 'ce-specversion': '1.0', 'ce-source': 's', 'ce-type': 't', 'content-type': 'application/json' };
    const r1 = await post('/events', h, '{}');
    expect([r1.status, r1.json().attribute]).toEqual([400, 'id']);
    const r2 = await post('/events', { ...h, 'ce-id': '1', 'ce-Bad_Name': 'x' }, '{}');
    expect([r2.status, r2.json().attribute]).toEqual([400, 'bad_name']);
  });

  test('batch: one invalid entry rejects the whole batch, error names the index', async () => {
    const before = await stored();
    const res = await post('/events', { 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify([valid(), { ...valid(), specversion: '0.3' }]));
    expect(res.status).toBe(400);
    expect(res.json().message).toContain('events[1]');
    expect(await stored()).toBe(before);
  });

  test('unsupported content types → 415', async () => {
    expect((await post('/events', { 'content-type': 'application/cloudevents+xml' }, '<e/>')).status).toBe(415);
    const plain = await post('/events', { 'content-type': 'application/json' }, '{"a":1}');
    expect(plain.status).toBe(415);
    expect(plain.json().error).toBe('unsupported_media_type');
  });

  test('oversize body → 413 JSON, wrong method → 405, unknown path → 404', async () => {
    const big = await post('/events', { 'content-type': 'application/cloudevents+json' }, JSON.stringify({ ...valid(), data: 'x'.repeat(10_000) }));
    expect(big.status).toBe(413);
    expect(big.json().error).toBe('request_body_too_large');
    const get = await request(`${adapter.url}/events`);
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST, OPTIONS');
    expect(JSON.parse(await get.body.text()).error).toBe('method_not_allowed');
    const nf = await request(`${adapter.url}/nope`, { method: 'POST', body: 'x' });
    expect(nf.statusCode).toBe(404);
    expect(JSON.parse(await nf.body.text()).error).toBe('not_found');
  });
});

describe('legacy error format', () => {
  const ok = () => ({ 'event-type': 'order.created', 'event-type-version': 'v1', 'event-time': '2026-01-01T12:00:00Z', data: { a: 1 } });
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    ['missing event-type', { ...ok(), 'event-type': undefined }, 'event-type', 'missing_field'],
    ['invalid event-type', { ...ok(), 'event-type': 'order created!' }, 'event-type', 'invalid_field'],
    ['missing event-type-version', { ...ok(), 'event-type-version': '' }, 'event-type-version', 'missing_field'],
    ['invalid event-type-version', { ...ok(), 'event-type-version': 'v1.0' }, 'event-type-version', 'invalid_field'],
    ['missing event-time', { ...ok(), 'event-time': undefined }, 'event-time', 'missing_field'],
    ['invalid event-time', { ...ok(), 'event-time': '2026-13-01T00:00:00Z' }, 'event-time', 'invalid_field'],
    ['invalid event-id', { ...ok(), 'event-id': 'not-a-uuid' }, 'event-id', 'invalid_field'],
    ['missing data', { ...ok(), data: undefined }, 'data', 'missing_field'],
  ];
  test.each(cases)('%s', async (_n, body, field, type) => {
    const res = await post('/v1/events', { 'content-type': 'application/json' }, JSON.stringify(body));
    expect(res.status).toBe(400);
    const b = res.json();
    expect(b).toMatchObject({
      status: 400,
      type: 'validation_violation',
      message: type === 'missing_field' ? 'Missing field' : 'Invalid field',
      details: [{ field, type, message: type === 'missing_field' ? 'Missing field' : 'Invalid field' }],
    });
  });

  test('bad JSON → bad_payload_syntax; too large → request_body_too_large', async () => {
    const bad = await post('/v1/events', { 'content-type': 'application/json' }, '{"event-type":');
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ status: 400, type: 'bad_payload_syntax' });
    const big = await post('/v1/events', { 'content-type': 'application/json' }, JSON.stringify({ ...ok(), data: 'x'.repeat(10_000) }));
    expect(big.status).toBe(413);
    expect(big.json()).toMatchObject({ status: 413, type: 'request_body_too_large' });
  });
});

describe('robustness: never crash, always 4xx on garbage', () => {
  test('random bytes with random content types', async () => {
    const types = ['application/cloudevents+json', 'application/cloudevents-batch+json', 'application/json', 'text/plain', 'application/octet-stream', 'application/cloudevents+json; charset=utf-8', 'multipart/form-data; boundary=x', '', 'application/cloudevents', '\u0000'];
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const before = await stored();
    for (let i = 0; i < 150; i++) {
      const len = Math.floor(rnd() * 300);
      const body = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
      const ct = types[i % types.length];
      const headers: Record<string, string> = {};
      if (ct && !ct.includes('\u0000')) headers['content-type'] = ct;
      if (i % 3 === 0) headers['ce-specversion'] = '1.0';
      if (i % 5 === 0) headers['ce-id'] = '%%%';
      const path = ['/events', '/', '/v1/events'][i % 3];
      const res = await post(path, headers, body);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(() => JSON.parse(res.text)).not.toThrow();
    }
    expect(await stored()).toBe(before);
    expect((await request(`${adapter.url}/healthz`)).statusCode).toBe(200);
  });

  test('aborted requests, malformed HTTP and slow headers do not take the adapter down', async () => {
    // Aborted mid-body.
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(adapter.port, '127.0.0.1', () => {
          s.write('POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\nContent-Length: 1000\r\n\r\n{"specversion":');
          setTimeout(() => {
            s.destroy();
            resolve();
          }, 20);
        });
        s.on('error', () => resolve());
      });
    }
    // Malformed request line.
    const malformed = await new Promise<string>((resolve) => {
      const s = net.connect(adapter.port, '127.0.0.1', () => s.write('GARBAGE\r\n\r\n'));
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
    expect(malformed).toMatch(/^HTTP\/1\.1 400/);
    // Slowloris: headers never finish → the server closes the connection (headersTimeout 1 s).
    const t0 = Date.now();
    await new Promise<void>((resolve) => {
      const s = net.connect(adapter.port, '127.0.0.1', () => s.write('POST /events HTTP/1.1\r\nHost: x\r\n'));
      const drip = setInterval(() => s.writable && s.write('X-A: b\r\n'), 200);
      s.on('close', () => {
        clearInterval(drip);
        resolve();
      });
      s.on('error', () => undefined);
    });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((await request(`${adapter.url}/healthz`)).statusCode).toBe(200);
  });
});

test('/metrics exposes accepted, rejected and publish latency', async () => {
  const res = await request(`${adapter.url}/metrics`);
  expect(res.statusCode).toBe(200);
  const text = await res.body.text();
  expect(text).toMatch(/event_mesh_adapter_events_accepted_total\{mode="binary"\} \d+/);
  expect(text).toMatch(/event_mesh_adapter_events_rejected_total\{reason="invalid_attribute"\} \d+/);
  expect(text).toMatch(/event_mesh_adapter_events_rejected_total\{reason="request_body_too_large"\} \d+/);
  expect(text).toMatch(/event_mesh_adapter_publish_duration_seconds_bucket\{le="0.005"\} \d+/);
});

test('nats-server down → 503 with Retry-After and /readyz 503; back → recovers without restart', async () => {
  expect((await request(`${adapter.url}/readyz`)).statusCode).toBe(200);
  await nats.halt();
  const deadline = Date.now() + 5000;
  while (channel.isReady() && Date.now() < deadline) await sleep(20);
  const ready = await request(`${adapter.url}/readyz`);
  expect(ready.statusCode).toBe(503);
  expect(JSON.parse(await ready.body.text())).toEqual({ error: 'not_ready', message: 'the nats channel is not connected' });
  for (let i = 0; i < 5; i++) {
    const res = await structured(valid());
    expect(res.status).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(res.json().error).toBe('channel_unavailable');
  }
  const legacy = await post('/v1/events', {}, JSON.stringify({ 'event-type': 'a', 'event-type-version': 'v1', 'event-time': '2026-01-01T00:00:00Z', data: 1 }));
  expect(legacy.status).toBe(503);
  expect(legacy.headers['retry-after']).toBe('1');
  expect(legacy.json()).toMatchObject({ status: 503, type: 'service_unavailable' });

  await nats.start();
  let status = 0;
  for (let i = 0; i < 100 && status !== 202; i++) {
    status = (await structured({ ...valid(), id: 'after-outage' })).status;
    if (status !== 202) await sleep(100);
  }
  expect(status).toBe(202);
  expect((await request(`${adapter.url}/readyz`)).statusCode).toBe(200);
  const ev = await storedEvent(await stored());
  expect(ev.id).toBe('after-outage');
});

// close() with requests provably in flight (stored, PubAck held back), /readyz 503 and
// refused connections meanwhile: test/runtime/guarantees-adapter.test.ts.

test('an adapter started before NATS serves 503 until NATS comes up, then accepts', async () => {
  const port = await freePort();
  const late = new JetStreamChannel({ servers: `nats://127.0.0.1:${port}`, connectTimeoutMs: 300 });
  const a = await startAdapter({ application: 'late', port: 0, host: '127.0.0.1', shutdownGraceMs: 500, auth: { mode: 'none' } }, { channel: late, logger: silentLogger(), registry: createMetricsRegistry({ defaults: false }) });
  let server: NatsServerHandle | undefined;
  try {
    const r = await request(`${a.url}/readyz`);
    expect(r.statusCode).toBe(503);
    await r.body.text();
    const e = await request(`${a.url}/events`, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(valid()) });
    expect(e.statusCode).toBe(503);
    expect(e.headers['retry-after']).toBeDefined();
    await e.body.text();
    server = await startNatsServer({ port });
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      const rr = await request(`${a.url}/readyz`);
      ready = rr.statusCode;
      await rr.body.text();
      if (ready !== 200) await sleep(100);
    }
    expect(ready).toBe(200);
    const ok = await request(`${a.url}/events`, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(valid()) });
    expect(ok.statusCode).toBe(202);
  } finally {
    await a.close();
    await late.close();
    await server?.stop();
  }
});
