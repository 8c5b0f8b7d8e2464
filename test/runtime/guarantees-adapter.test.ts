/**
 * The adapter's promises that only show when the store is slow or full, or while it shuts
 * down: a 2xx only after the JetStream PubAck (the PubAck held back by a TCP proxy between
 * the adapter and a real nats-server, while the stream is read directly), 507 when the
 * stream is full, and a graceful close that lets requests provably in flight finish while
 * /readyz says 503 and new connections are refused.
 */
import net from 'node:net';
import { request } from 'undici';
import { channelTopic } from '../../constructs/api';
import { AdapterHandle, startAdapter } from '../../runtime/adapter';
import type { AdapterOptions } from '../../runtime/adapter';
import { JetStreamChannel, streamNameFor } from '../../runtime/channel/jetstream';
import { createMetricsRegistry, silentLogger } from '../../runtime/observability';
import { natsSuite } from '../support/nats-suite';
import { startTcpProxy, TcpProxyHandle } from '../support/tcp-proxy';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const js = natsSuite();
const { cleanups } = js;

/** An adapter for `application` whose channel reaches nats-server through `servers`. */
async function adapterFor(application: string, servers: string, options: Partial<AdapterOptions> = {}): Promise<AdapterHandle> {
  const channel = new JetStreamChannel({ servers, connectTimeoutMs: 5000 });
  const adapter = await startAdapter(
    { application, port: 0, host: '127.0.0.1', shutdownGraceMs: 10_000, topic: { maxAgeMs: 3_600_000 }, auth: { mode: 'none' }, ...options },
    { channel, logger: silentLogger(), registry: createMetricsRegistry({ defaults: false }) },
  );
  cleanups.push(() => channel.close(), () => adapter.close());
  for (let i = 0; i < 200; i++) {
    const r = await request(`${adapter.url}/readyz`);
    await r.body.text();
    if (r.statusCode === 200) break;
    await sleep(50);
  }
  return adapter;
}

/** Messages stored on the application's stream, read from nats-server directly (not through any proxy). */
async function storedCount(application: string): Promise<number> {
  const info = await js.jsm.streams.info(streamNameFor(channelTopic('kyma-integration', application)));
  return info.state.messages;
}
async function storedIds(application: string): Promise<string[]> {
  return (await js.storedEvents(application)).map((e) => e.id);
}
async function waitUntil(what: string, predicate: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

const binary = (id: string) => ({
  method: 'POST' as const,
  headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': 'ignored', 'ce-type': 'order.created', 'content-type': 'application/json' },
  body: '{"n":1}',
});

/** A request whose settling (answer or failure) is recorded as it happens. */
function tracked(url: string, init: Parameters<typeof request>[1]) {
  const state: { settled: boolean; status?: number; body?: string; error?: Error } = { settled: false };
  const done = request(url, init)
    .then(async (res) => {
      state.body = await res.body.text();
      state.status = res.statusCode;
    })
    .catch((e: Error) => {
      state.error = e;
    })
    .finally(() => {
      state.settled = true;
    });
  return { state, done };
}

describe('2xx only after the PubAck', () => {
  let proxy: TcpProxyHandle;
  beforeEach(async () => {
    proxy = await startTcpProxy(js.nats.port);
    cleanups.push(() => proxy.close());
  });

  test('while NATS is connected, the answer waits for the PubAck the proxy holds back (CloudEvents and legacy)', async () => {
    const adapter = await adapterFor('pubacked', proxy.url);
    const warm = await request(`${adapter.url}/events`, binary('warm-up'));
    await warm.body.text();
    expect(warm.statusCode).toBe(202);
    const before = await storedCount('pubacked');

    proxy.holdDownstream();
    const ce = tracked(`${adapter.url}/events`, binary('held-1'));
    const legacy = tracked(`${adapter.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ 'event-type': 'order.created', 'event-type-version': 'v1', 'event-time': '2026-01-01T00:00:00Z', data: { n: 2 } }),
    });
    // Both events reached the server and are stored; only their PubAcks are held back.
    await waitUntil('both events are stored', async () => (await storedCount('pubacked')) === before + 2);
    expect(await storedIds('pubacked')).toContain('held-1');
    await waitUntil('the PubAcks are held by the proxy', async () => proxy.heldBytes() > 0);
    await sleep(500);
    expect(adapter.channel.isReady()).toBe(true);
    expect(ce.state).toEqual({ settled: false });
    expect(legacy.state).toEqual({ settled: false });

    proxy.releaseDownstream();
    await Promise.all([ce.done, legacy.done]);
    expect(ce.state).toMatchObject({ settled: true, status: 202 });
    expect(legacy.state).toMatchObject({ settled: true, status: 200 });
    expect(JSON.parse(legacy.state.body!)['event-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('graceful close: requests in flight (stored, PubAck held) finish with 202; /readyz is 503 and new connections are refused meanwhile', async () => {
    const adapter = await adapterFor('closing', proxy.url, { shutdownGraceMs: 20_000 });
    const warm = await request(`${adapter.url}/events`, binary('warm-up'));
    await warm.body.text();
    const before = await storedCount('closing');

    // A connection that has started a /readyz request before close() (a new one could not connect).
    const readyz = net.connect(adapter.port, '127.0.0.1');
    await new Promise((r) => readyz.once('connect', r));
    readyz.write('GET /readyz HTTP/1.1\r\nHost: adapter\r\n');
    let readyzAnswer = '';
    readyz.on('data', (d) => (readyzAnswer += d.toString()));
    const readyzClosed = new Promise((r) => readyz.once('close', r));
    readyz.on('error', () => undefined);

    proxy.holdDownstream();
    const inFlight = Array.from({ length: 5 }, (_, i) => tracked(`${adapter.url}/events`, binary(`in-flight-${i}`)));
    await waitUntil('all five are stored', async () => (await storedCount('closing')) === before + 5);

    let closed = false;
    const closing = adapter.close().then(() => (closed = true));
    await sleep(300);
    readyz.write('\r\n');
    await waitUntil('/readyz answered', async () => readyzAnswer.includes('\r\n\r\n') && readyzAnswer.includes('}'));
    expect(readyzAnswer).toMatch(/^HTTP\/1\.1 503/);
    expect(readyzAnswer).toContain('"error":"not_ready"');
    expect(readyzAnswer).toContain('shutting down');
    await expect(request(`${adapter.url}/healthz`)).rejects.toThrow();

    // Still waiting for the PubAcks: close() has not cut the requests.
    await sleep(500);
    expect(closed).toBe(false);
    expect(inFlight.map((r) => r.state.settled)).toEqual([false, false, false, false, false]);

    proxy.releaseDownstream();
    await Promise.all(inFlight.map((r) => r.done));
    expect(inFlight.map((r) => r.state.status ?? r.state.error?.message)).toEqual([202, 202, 202, 202, 202]);
    await closing;
    expect(closed).toBe(true);
    await readyzClosed;
  });
});

test('507 channel_full once the stream is full; what was accepted is stored, nothing else', async () => {
  // 4 KiB: the first 2.5 KB event fits, the next ones do not. (Sizes are chosen so the
  // server's pre-check refuses them outright: nats-server 2.9 stores a message that passes
  // its check and then trims the oldest ones to the limit.)
  const adapter = await adapterFor('full-app', js.nats.url, { topic: { maxBytes: 4096, maxAgeMs: 3_600_000 } });
  const big = (id: string) => ({ ...binary(id), body: JSON.stringify({ pad: 'x'.repeat(2500) }) });
  const fits = await request(`${adapter.url}/events`, big('fits'));
  await fits.body.text();
  expect(fits.statusCode).toBe(202);
  const full = await request(`${adapter.url}/events`, big('too-much'));
  expect(full.statusCode).toBe(507);
  const err = JSON.parse(await full.body.text());
  expect(err.error).toBe('channel_full');
  expect(err.message).toMatch(/full/);
  expect(await storedIds('full-app')).toEqual(['fits']);

  const legacy = await request(`${adapter.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ 'event-type': 'order.created', 'event-type-version': 'v1', 'event-time': '2026-01-01T00:00:00Z', data: { pad: 'x'.repeat(2500) } }),
  });
  expect(legacy.statusCode).toBe(507);
  expect(JSON.parse(await legacy.body.text())).toMatchObject({ status: 507, type: 'insufficient_storage', message: 'Insufficient storage' });
  expect(await storedIds('full-app')).toEqual(['fits']);

  const metrics = await (await request(`${adapter.url}/metrics`)).body.text();
  expect(metrics).toContain('event_mesh_adapter_events_rejected_total{reason="channel_full"} 2');
});
