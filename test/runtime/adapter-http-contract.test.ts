/**
 * The adapter's HTTP contract in the details clients and operators rely on, against a real
 * nats-server and real HTTP: the exact 202 (empty body), Retry-After taken from the
 * channel's hint, the error codes of each failure (also on the legacy endpoint), the
 * metrics docs/runtime-adapter.md promises (per-event counts, seconds), probes and their
 * methods, the webhook handshake, token authentication on plain HTTP with the probes on
 * their own port, and `Connection: close` while shutting down. Failures of the channel are
 * injected into a real JetStream channel (its publish throws what Pub/Sub or an unexpected
 * error would), everything else is the real path.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { channelTopic } from '../../constructs/api';
import { AdapterHandle, startAdapter } from '../../runtime/adapter';
import type { AdapterOptions } from '../../runtime/adapter';
import { ChannelUnavailableError } from '../../runtime/channel/channel';
import type { EventAttributes } from '../../runtime/channel/channel';
import { JetStreamChannel, streamNameFor } from '../../runtime/channel/jetstream';
import { createMetricsRegistry, silentLogger } from '../../runtime/observability';
import { freePort } from '../support/nats-server';
import { natsSuite } from '../support/nats-suite';
import { sleep, waitFor } from '../support/wait';

/** A real JetStream channel whose publish can be made to fail the way another channel (or a bug) would. */
class FaultyChannel extends JetStreamChannel {
  fail?: Error;
  override async publish(topic: string, data: Uint8Array, attributes?: EventAttributes): Promise<void> {
    if (this.fail) throw this.fail;
    return super.publish(topic, data, attributes);
  }
}

const js = natsSuite();
const { cleanups } = js;

async function adapterFor(application: string, options: Partial<AdapterOptions> = {}): Promise<{ adapter: AdapterHandle; channel: FaultyChannel }> {
  const channel = new FaultyChannel({ servers: js.nats.url, connectTimeoutMs: 5000 });
  const adapter = await startAdapter(
    { application, port: 0, host: '127.0.0.1', shutdownGraceMs: 5000, topic: { maxAgeMs: 3_600_000 }, auth: { mode: 'none' }, ...options },
    { channel, logger: silentLogger(), registry: createMetricsRegistry({ defaults: false }) },
  );
  cleanups.push(() => channel.close(), () => adapter.close());
  await waitFor(async () => {
    const r = await request(`${adapter.probeUrl}/readyz`);
    await r.body.text();
    return r.statusCode === 200;
  }, 10_000, `adapter ${application} ready`);
  return { adapter, channel };
}

async function send(url: string, init: Parameters<typeof request>[1] = {}) {
  const res = await request(url, init);
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

const structured = (id: string, extra: Record<string, unknown> = {}) => ({
  method: 'POST' as const,
  headers: { 'content-type': 'application/cloudevents+json' },
  body: JSON.stringify({ specversion: '1.0', id, source: 'ignored', type: 'order.created', data: { n: 1 }, ...extra }),
});
const legacyBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ 'event-type': 'order.created', 'event-type-version': 'v1', 'event-time': '2026-01-01T00:00:00Z', data: { n: 1 }, ...extra });
const legacy = (extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  headers: { 'content-type': 'application/json', ...headers },
  body: legacyBody(extra),
});

/** A counter or histogram sample from /metrics; 0 when the series is absent. */
async function sample(adapter: AdapterHandle, series: string): Promise<number> {
  const text = (await send(`${adapter.probeUrl}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
const accepted = (a: AdapterHandle, mode: string) => sample(a, `event_mesh_adapter_events_accepted_total{mode="${mode}"}`);
const rejected = (a: AdapterHandle, reason: string) => sample(a, `event_mesh_adapter_events_rejected_total{reason="${reason}"}`);

const storedEvents = (application: string) => js.storedEvents(application);

/** Raw HTTP/1.1 exchange on its own connection: the whole answer as text once the server closes it or `until` holds. */
function rawExchange(port: number, text: string, until: (answer: string) => boolean = () => false): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    s.on('data', (d) => {
      out += d.toString();
      if (until(out)) {
        s.destroy();
        resolve(out);
      }
    });
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });
}

describe('accepted events', () => {
  test('202 with an empty body (content-length 0); every event of a batch gets source = the application', async () => {
    const { adapter } = await adapterFor('contract-accept');
    const one = await send(`${adapter.url}/events`, structured('one'));
    expect(one.status).toBe(202);
    expect(one.headers['content-length']).toBe('0');
    expect(one.text).toBe('');
    const batch = [1, 2, 3].map((i) => ({ specversion: '1.0', id: `b-${i}`, source: `/elsewhere/${i}`, type: 't' }));
    const res = await send(`${adapter.url}/events`, { method: 'POST', headers: { 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify(batch) });
    expect(res.status).toBe(202);
    expect(res.headers['content-length']).toBe('0');
    const stored = await storedEvents('contract-accept');
    expect(stored).toHaveLength(4);
    expect(stored[0].id).toBe('one');
    expect(stored.slice(1).map((e) => e.id).sort()).toEqual(['b-1', 'b-2', 'b-3']);
    expect(stored.every((e) => e.source === 'contract-accept')).toBe(true);
  });

  test('accepted_total counts events, not requests, by mode; publish duration is one observation per request, in seconds', async () => {
    const { adapter } = await adapterFor('contract-metrics');
    const batch = [1, 2, 3].map((i) => ({ specversion: '1.0', id: `m-${i}`, source: 's', type: 't' }));
    expect((await send(`${adapter.url}/events`, { method: 'POST', headers: { 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify(batch) })).status).toBe(202);
    expect((await send(`${adapter.url}/events`, structured('m-4'))).status).toBe(202);
    expect((await send(`${adapter.url}/v1/events`, legacy())).status).toBe(200);
    expect(await accepted(adapter, 'batch')).toBe(3);
    expect(await accepted(adapter, 'structured')).toBe(1);
    expect(await accepted(adapter, 'legacy')).toBe(1);
    const count = await sample(adapter, 'event_mesh_adapter_publish_duration_seconds_count');
    const sum = await sample(adapter, 'event_mesh_adapter_publish_duration_seconds_sum');
    expect(count).toBe(3);
    // Three local publishes take well under a second each (milliseconds would read as thousands).
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(3);
  });

  test('the legacy endpoint takes the W3C traceparent header into the stored event', async () => {
    const { adapter } = await adapterFor('contract-trace');
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await send(`${adapter.url}/v1/events`, legacy({}, { traceparent }));
    expect(res.status).toBe(200);
    const [ev] = await storedEvents('contract-trace');
    expect(ev.id).toBe(res.json()['event-id']);
    expect(ev.traceparent).toBe(traceparent);
  });

  test('maxJsonDepth applies to both endpoints (400, nothing stored)', async () => {
    const { adapter } = await adapterFor('contract-depth', { maxJsonDepth: 4 });
    const deep = { a: { b: { c: { d: { e: 1 } } } } };
    const ce = await send(`${adapter.url}/events`, structured('deep', { data: deep }));
    expect(ce.status).toBe(400);
    const lg = await send(`${adapter.url}/v1/events`, legacy({ data: deep }));
    expect(lg.status).toBe(400);
    expect(lg.json()).toMatchObject({ status: 400 });
    // Within the limit both are accepted.
    expect((await send(`${adapter.url}/events`, structured('flat', { data: { a: 1 } }))).status).toBe(202);
    expect((await storedEvents('contract-depth')).map((e) => e.id)).toEqual(['flat']);
  });
});

describe('channel failures map to status codes', () => {
  test("unavailable: 503 channel_unavailable with Retry-After rounded up from the channel's hint, never below 1 s (legacy: service_unavailable)", async () => {
    const { adapter, channel } = await adapterFor('contract-503');
    channel.fail = new ChannelUnavailableError('Pub/Sub quota exhausted', 2.5);
    const ce = await send(`${adapter.url}/events`, structured('u-1'));
    expect(ce.status).toBe(503);
    expect(ce.headers['retry-after']).toBe('3');
    expect(ce.json()).toMatchObject({ error: 'channel_unavailable' });
    expect(ce.json().message).toContain('Pub/Sub quota exhausted');
    const lg = await send(`${adapter.url}/v1/events`, legacy());
    expect(lg.status).toBe(503);
    expect(lg.headers['retry-after']).toBe('3');
    expect(lg.json()).toEqual({ status: 503, type: 'service_unavailable', message: 'Service unavailable', moreInfo: 'Pub/Sub quota exhausted: retry later' });

    channel.fail = new ChannelUnavailableError('not connected', 0.2);
    const low = await send(`${adapter.url}/events`, structured('u-2'));
    expect(low.headers['retry-after']).toBe('1');
    channel.fail = new ChannelUnavailableError('not connected', 0);
    expect((await send(`${adapter.url}/events`, structured('u-3'))).headers['retry-after']).toBe('1');
    expect(await rejected(adapter, 'channel_unavailable')).toBe(4);
    expect(await accepted(adapter, 'structured')).toBe(0);
  });

  test('an unexpected channel error: 500 internal_error (legacy: internal_server_error), counted; the adapter keeps serving', async () => {
    const { adapter, channel } = await adapterFor('contract-500');
    channel.fail = new Error('something broke');
    const ce = await send(`${adapter.url}/events`, structured('x-1'));
    expect(ce.status).toBe(500);
    expect(ce.json()).toEqual({ error: 'internal_error', message: 'the event could not be stored because of an internal error; retry later' });
    const lg = await send(`${adapter.url}/v1/events`, legacy());
    expect(lg.status).toBe(500);
    expect(lg.json()).toEqual({ status: 500, type: 'internal_server_error', message: 'Some unexpected internal error occurred, please contact support.', moreInfo: '' });
    expect(await rejected(adapter, 'internal_error')).toBe(2);
    channel.fail = undefined;
    expect((await send(`${adapter.url}/events`, structured('x-2'))).status).toBe(202);
  });
});

describe('request limits', () => {
  test('413 closes the connection; the legacy 413 is counted too', async () => {
    const { adapter } = await adapterFor('contract-413', { maxBodyBytes: 1000 });
    const big = 'x'.repeat(2000);
    const ce = await rawExchange(adapter.port, `POST /events HTTP/1.1\r\nHost: a\r\nContent-Type: application/cloudevents+json\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
    expect(ce).toMatch(/^HTTP\/1\.1 413/);
    expect(ce.toLowerCase()).toContain('connection: close');
    expect(ce).toContain('"error":"request_body_too_large"');
    const lg = await send(`${adapter.url}/v1/events`, legacy({ data: big }));
    expect(lg.status).toBe(413);
    expect(lg.headers.connection).toBe('close');
    expect(lg.json()).toMatchObject({ status: 413, type: 'request_body_too_large', message: 'Request body too large' });
    expect(await rejected(adapter, 'request_body_too_large')).toBe(2);
  });

  test('the default body limit is 64 KiB', async () => {
    const { adapter } = await adapterFor('contract-default-limit');
    const fits = structured('fits', { data: 'x'.repeat(60_000) });
    expect((await send(`${adapter.url}/events`, fits)).status).toBe(202);
    const over = structured('over', { data: 'x'.repeat(65_536) });
    expect((await send(`${adapter.url}/events`, over)).status).toBe(413);
  });

  test('a request aborted mid-body is counted as aborted and gets no answer', async () => {
    const { adapter } = await adapterFor('contract-aborted');
    await new Promise<void>((resolve) => {
      const s = net.connect(adapter.port, '127.0.0.1', () => {
        s.write('POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\nContent-Length: 500\r\n\r\n{"specversion":');
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 100);
      });
      s.on('error', () => resolve());
    });
    await waitFor(async () => (await rejected(adapter, 'aborted')) === 1, 5000, 'the aborted request to be counted');
    expect(await rejected(adapter, 'bad_request')).toBe(0);
  });

  test('request headers above 16 KiB get 431', async () => {
    const { adapter } = await adapterFor('contract-431');
    const res = await rawExchange(adapter.port, `GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: ${'y'.repeat(20 * 1024)}\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 431/);
    const ok = await rawExchange(adapter.port, `GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: ${'y'.repeat(8 * 1024)}\r\nConnection: close\r\n\r\n`);
    expect(ok).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe('routing, methods and probes (one port)', () => {
  let adapter: AdapterHandle;
  beforeEach(async () => {
    ({ adapter } = await adapterFor('contract-routes', { webhookAllowedOrigins: ['sender.example'] }));
  });

  test('a query string does not change the route', async () => {
    expect((await send(`${adapter.url}/events?x=1`, structured('q-1'))).status).toBe(202);
    expect((await send(`${adapter.url}/v1/events?x=1`, legacy())).status).toBe(200);
    expect((await send(`${adapter.url}/healthz?verbose`)).status).toBe(200);
    const nf = await send(`${adapter.url}/nope?x=1`);
    expect(nf.status).toBe(404);
    expect(nf.json()).toEqual({ error: 'not_found', message: 'no endpoint "/nope": post events to /events (CloudEvents) or /v1/events (legacy)' });
  });

  test('405 with Allow: the event endpoints take POST (and OPTIONS), the probes GET and HEAD', async () => {
    const expectations: [string, string, string][] = [
      ['/events', 'PUT', 'POST, OPTIONS'],
      ['/', 'GET', 'POST, OPTIONS'],
      ['/v1/events', 'GET', 'POST'],
      ['/v1/events', 'OPTIONS', 'POST'],
      ['/healthz', 'POST', 'GET, HEAD'],
      ['/readyz', 'POST', 'GET, HEAD'],
      ['/metrics', 'DELETE', 'GET, HEAD'],
    ];
    for (const [p, method, allow] of expectations) {
      const res = await send(`${adapter.url}${p}`, { method: method as 'GET' });
      expect([p, method, res.status, res.headers.allow, res.json().error]).toEqual([p, method, 405, allow, 'method_not_allowed']);
      expect(res.json().message).toBe(`${method} is not allowed here: use ${allow}`);
    }
  });

  test('probes: /healthz and /readyz answer GET and HEAD; /readyz names the topic; /metrics is Prometheus text with its length', async () => {
    expect((await send(`${adapter.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await send(`${adapter.url}/healthz`, { method: 'HEAD' })).status).toBe(200);
    const ready = await send(`${adapter.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', topic: adapter.topic });
    expect((await send(`${adapter.url}/readyz`, { method: 'HEAD' })).status).toBe(200);
    const m = await send(`${adapter.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(Number(m.headers['content-length'])).toBe(Buffer.byteLength(m.text));
    expect(m.text).toContain('event_mesh_adapter_events_accepted_total');
    expect((await send(`${adapter.url}/metrics`, { method: 'HEAD' })).status).toBe(200);
  });

  test('webhook handshake: plain OPTIONS 204 with Allow, an allowed origin 200, any other 403 origin_not_allowed (counted)', async () => {
    const plain = await send(`${adapter.url}/events`, { method: 'OPTIONS' });
    expect([plain.status, plain.headers.allow, plain.text]).toEqual([204, 'POST, OPTIONS', '']);
    const ok = await send(`${adapter.url}/`, { method: 'OPTIONS', headers: { 'webhook-request-origin': 'sender.example' } });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-length']).toBe('0');
    expect(ok.headers['webhook-allowed-origin']).toBe('sender.example');
    expect(ok.headers['webhook-allowed-rate']).toBe('*');
    const other = await send(`${adapter.url}/events`, { method: 'OPTIONS', headers: { 'webhook-request-origin': 'evil.example' } });
    expect(other.status).toBe(403);
    expect(other.headers.allow).toBe('POST, OPTIONS');
    expect(other.json().error).toBe('origin_not_allowed');
    expect(await rejected(adapter, 'origin_not_allowed')).toBe(1);
  });

  test('before the channel topic exists: /readyz 503 not_ready naming the topic', async () => {
    const late = new JetStreamChannel({ servers: `nats://127.0.0.1:${await freePort()}`, connectTimeoutMs: 200 });
    const a = await startAdapter({ application: 'contract-late', port: 0, host: '127.0.0.1', shutdownGraceMs: 200, auth: { mode: 'none' } }, { channel: late, logger: silentLogger(), registry: createMetricsRegistry({ defaults: false }) });
    cleanups.push(() => late.close(), () => a.close());
    const r = await send(`${a.url}/readyz`);
    expect(r.status).toBe(503);
    expect(r.json()).toEqual({ error: 'not_ready', message: `the channel topic ${a.topic} is not ready yet` });
  });
});

describe('token authentication on plain HTTP; probes on their own port', () => {
  let dir: string;
  let adapter: AdapterHandle;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'adapter-contract-'));
    const tokensFile = path.join(dir, 'tokens');
    writeFileSync(tokensFile, 'secret-token\n');
    ({ adapter } = await adapterFor('contract-token', { auth: { mode: 'token', tokensFile }, probePort: 0 }));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  });

  test('without a token every event endpoint (and OPTIONS) answers 401 with WWW-Authenticate, counted; with it 202', async () => {
    expect(adapter.url.startsWith('http://')).toBe(true);
    for (const init of [structured('t-1'), legacy(), { method: 'OPTIONS' as const }]) {
      const path = init.method === 'POST' && init.headers['content-type'] === 'application/json' ? '/v1/events' : '/events';
      const res = await send(`${adapter.url}${path}`, init);
      expect([path, init.method, res.status]).toEqual([path, init.method, 401]);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.json().error).toBe('unauthenticated');
    }
    expect(await rejected(adapter, 'unauthenticated')).toBe(3);
    expect(await storedEvents('contract-token')).toEqual([]);
    const auth = { authorization: 'Bearer secret-token' };
    const ok = await send(`${adapter.url}/events`, { ...structured('t-2'), headers: { ...structured('t-2').headers, ...auth } });
    expect(ok.status).toBe(202);
    const lg = await send(`${adapter.url}/v1/events`, legacy({}, auth));
    expect(lg.status).toBe(200);
    const opt = await send(`${adapter.url}/events`, { method: 'OPTIONS', headers: auth });
    expect(opt.status).toBe(204);
    expect((await storedEvents('contract-token')).map((e) => e.id)).toEqual(['t-2', lg.json()['event-id']]);
  });

  test('the main port does not serve the probes (404 naming the probe URL); the probe port serves only them', async () => {
    expect(adapter.probePort).not.toBe(adapter.port);
    expect(adapter.probeUrl).toBe(`http://127.0.0.1:${adapter.probePort}`);
    for (const p of ['/healthz', '/readyz', '/metrics']) {
      const res = await send(`${adapter.url}${p}`);
      expect([p, res.status]).toEqual([p, 404]);
      expect(res.json()).toEqual({ error: 'not_found', message: `${p} is served on the probe port (${adapter.probeUrl}${p}), apart from the authenticated event endpoints` });
      expect((await send(`${adapter.probeUrl}${p}`)).status).toBe(200);
    }
    const other = await send(`${adapter.url}/other`);
    expect(other.json()).toEqual({ error: 'not_found', message: 'no endpoint "/other": post events to /events (CloudEvents) or /v1/events (legacy)' });
    const events = await send(`${adapter.probeUrl}/events`, structured('p-1'));
    expect(events.status).toBe(404);
    expect(events.json()).toEqual({ error: 'not_found', message: `no endpoint "/events" on the probe port: it serves /healthz, /readyz, /metrics; events go to the adapter's main port` });
    // The probe port needs no token.
    expect((await send(`${adapter.probeUrl}/readyz?x=1`)).json()).toEqual({ status: 'ready', topic: adapter.topic });
  });
});

describe('startAdapter and close', () => {
  test('an application name that cannot be a CloudEvents source is refused', async () => {
    const channel = new JetStreamChannel({ servers: js.nats.url });
    cleanups.push(() => channel.close());
    for (const application of ['', 'with space']) {
      await expect(startAdapter({ application, port: 0, auth: { mode: 'none' } }, { channel, logger: silentLogger() })).rejects.toThrow(/application must be a non-empty name/);
    }
  });

  test('a port in use fails the start', async () => {
    const { adapter } = await adapterFor('contract-port');
    const channel = new JetStreamChannel({ servers: js.nats.url });
    cleanups.push(() => channel.close());
    await expect(startAdapter({ application: 'contract-port2', port: adapter.port, host: '127.0.0.1', auth: { mode: 'none' } }, { channel, logger: silentLogger(), registry: createMetricsRegistry({ defaults: false }) })).rejects.toThrow(/EADDRINUSE/);
  });

  test('a request in flight holds close() back; one whose headers complete after close() began is still answered 202, with Connection: close', async () => {
    const { adapter } = await adapterFor('contract-close');
    const body = (id: string) => JSON.stringify({ specversion: '1.0', id, source: 's', type: 't' });
    const open = async () => {
      const s = net.connect(adapter.port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      const state = { answer: '' };
      s.on('data', (d) => (state.answer += d.toString()));
      s.on('error', () => undefined);
      return { s, state };
    };
    // A: a request in flight (headers read, body not sent yet). B: headers not complete yet.
    const a = await open();
    a.s.write(`POST /events HTTP/1.1\r\nHost: a\r\nContent-Type: application/cloudevents+json\r\nContent-Length: ${body('in-flight').length}\r\n\r\n`);
    const b = await open();
    b.s.write('POST /events HTTP/1.1\r\nHost: a\r\nContent-Type: application/cloudevents+json\r\n');
    await sleep(200);
    let closed = false;
    const closing = adapter.close().then(() => (closed = true));
    expect(adapter.close()).toBe(adapter.close());
    await sleep(300);
    expect(closed).toBe(false);
    b.s.write(`Content-Length: ${body('late-headers').length}\r\n\r\n${body('late-headers')}`);
    await waitFor(() => b.state.answer.includes('\r\n\r\n'), 5000, 'the answer to B');
    expect(b.state.answer).toMatch(/^HTTP\/1\.1 202/);
    expect(b.state.answer.toLowerCase()).toContain('connection: close');
    expect(closed).toBe(false);
    a.s.write(body('in-flight'));
    await waitFor(() => a.state.answer.includes('\r\n\r\n'), 5000, 'the answer to A');
    expect(a.state.answer).toMatch(/^HTTP\/1\.1 202/);
    await closing;
    expect(closed).toBe(true);
    expect((await storedEvents('contract-close')).map((e) => e.id).sort()).toEqual(['in-flight', 'late-headers']);
    a.s.destroy();
    b.s.destroy();
  });
});

describe('startAdapter options and defaults', () => {
  const given = () => {
    const channel = new JetStreamChannel({ servers: js.nats.url, connectTimeoutMs: 5000 });
    cleanups.push(() => channel.close());
    return channel;
  };
  const start = async (options: Partial<AdapterOptions>, deps: Parameters<typeof startAdapter>[1] = {}) => {
    const a = await startAdapter({ application: 'contract-opts', port: 0, host: '127.0.0.1', shutdownGraceMs: 2000, auth: { mode: 'none' }, ...options }, { logger: silentLogger(), registry: createMetricsRegistry({ defaults: false }), ...deps });
    cleanups.push(() => a.close());
    return a;
  };

  test('a reachable channel is ready as soon as startAdapter resolves', async () => {
    const a = await start({ application: 'contract-ready-at-start' }, { channel: given() });
    expect((await send(`${a.url}/readyz`)).status).toBe(200);
  });

  test('defaults: all interfaces with a 127.0.0.1 URL, keep-alive 5 s, every webhook origin allowed', async () => {
    const a = await start({ host: undefined, application: 'contract-defaults' }, { channel: given() });
    expect(a.url).toBe(`http://127.0.0.1:${a.port}`);
    expect(a.probeUrl).toBe(a.url);
    expect(a.probePort).toBe(a.port);
    const res = await send(`${a.url}/healthz`);
    expect(res.headers['keep-alive']).toBe('timeout=5');
    const opt = await send(`${a.url}/events`, { method: 'OPTIONS', headers: { 'webhook-request-origin': 'any.example' } });
    expect([opt.status, opt.headers['webhook-allowed-origin']]).toEqual([200, 'any.example']);
  });

  test('an IPv6 host is bracketed in the URL', async () => {
    const a = await start({ host: '::1', application: 'contract-ipv6' }, { channel: given() });
    expect(a.url).toBe(`http://[::1]:${a.port}`);
    expect((await send(`${a.url}/healthz`)).status).toBe(200);
  });

  test('channelNamespace and channelName choose the topic events are stored on', async () => {
    const a = await start({ application: 'contract-named', channelNamespace: 'other-ns', channelName: 'orders' }, { channel: given() });
    expect(a.topic).toBe(channelTopic('other-ns', 'orders'));
    expect((await send(`${a.url}/events`, structured('named-1'))).status).toBe(202);
    const info = await js.jsm.streams.info(streamNameFor(channelTopic('other-ns', 'orders')));
    expect(info.state.messages).toBe(1);
  });

  test('an owned channel (options.channel) gets its topic options from that config and is closed by close(); a given channel is left open', async () => {
    const owned = await startAdapter(
      { application: 'contract-owned', port: 0, host: '127.0.0.1', shutdownGraceMs: 500, auth: { mode: 'none' }, channel: { kind: 'nats', natsUrl: js.nats.url, streamMaxAgeMs: 7_200_000 } },
      { logger: silentLogger(), registry: createMetricsRegistry({ defaults: false }) },
    );
    cleanups.push(() => owned.close());
    expect((await send(`${owned.url}/events`, structured('owned-1'))).status).toBe(202);
    const info = await js.jsm.streams.info(streamNameFor(owned.topic));
    expect(info.config.max_age).toBe(7_200_000 * 1_000_000);
    expect(owned.channel.isReady()).toBe(true);
    await owned.close();
    expect(owned.channel.isReady()).toBe(false);

    const channel = given();
    const a = await start({ application: 'contract-given' }, { channel });
    await a.close();
    expect(channel.isReady()).toBe(true);
  });

  test('close() cuts a request still in flight once shutdownGraceMs is over', async () => {
    const a = await start({ application: 'contract-grace', shutdownGraceMs: 300 }, { channel: given() });
    const s = net.connect(a.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    let answer = '';
    s.on('data', (d) => (answer += d.toString()));
    s.on('error', () => undefined);
    const socketClosed = new Promise((r) => s.once('close', r));
    s.write('POST /events HTTP/1.1\r\nHost: a\r\nContent-Type: application/cloudevents+json\r\nContent-Length: 100\r\n\r\n');
    await sleep(100);
    const t0 = Date.now();
    await a.close();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(Date.now() - t0).toBeLessThan(3000);
    await socketClosed;
    expect(answer).toBe('');
  });

  test('with probes on their own port, /readyz there says 503 shutting down until the event port has drained, then the port closes', async () => {
    const a = await start({ application: 'contract-probe-close', probePort: 0, shutdownGraceMs: 10_000 }, { channel: given() });
    expect((await send(`${a.probeUrl}/readyz`)).status).toBe(200);
    const body = JSON.stringify({ specversion: '1.0', id: 'draining', source: 's', type: 't' });
    const s = net.connect(a.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    let answer = '';
    s.on('data', (d) => (answer += d.toString()));
    s.on('error', () => undefined);
    s.write(`POST /events HTTP/1.1\r\nHost: a\r\nContent-Type: application/cloudevents+json\r\nContent-Length: ${body.length}\r\n\r\n`);
    await sleep(100);
    let closed = false;
    const closing = a.close().then(() => (closed = true));
    await sleep(200);
    const ready = await send(`${a.probeUrl}/readyz`, { headers: { connection: 'close' } });
    expect(ready.status).toBe(503);
    expect(ready.json()).toEqual({ error: 'not_ready', message: 'the adapter is shutting down' });
    expect(closed).toBe(false);
    s.write(body);
    await waitFor(() => answer.includes('\r\n\r\n'), 5000, 'the answer');
    expect(answer).toMatch(/^HTTP\/1\.1 202/);
    await closing;
    await expect(request(`${a.probeUrl}/healthz`)).rejects.toThrow();
    s.destroy();
  });

  test('an unexpected error while answering (here the metrics registry failing) is a 500 internal_error; both ports keep serving', async () => {
    const registry = createMetricsRegistry({ defaults: false });
    registry.metrics = async () => {
      throw new Error('registry broken');
    };
    const single = await start({ application: 'contract-500-main' }, { channel: given(), registry });
    const main = await send(`${single.url}/metrics`);
    expect(main.status).toBe(500);
    expect(main.json()).toEqual({ error: 'internal_error', message: 'internal error; retry later' });
    expect((await send(`${single.url}/healthz`)).status).toBe(200);
    const split = await start({ application: 'contract-500-probe', probePort: 0 }, { channel: given(), registry });
    const probe = await send(`${split.probeUrl}/metrics`);
    expect(probe.status).toBe(500);
    expect(probe.json()).toEqual({ error: 'internal_error', message: 'internal error; retry later' });
    expect((await send(`${split.probeUrl}/healthz`)).status).toBe(200);
  });
});
