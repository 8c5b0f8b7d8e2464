/**
 * The adapter server's own behaviour, apart from event validation: how it waits for its
 * channel at start (growing backoff, stopped by close() or a failed listen), how each
 * publish failure is answered and logged, where it listens and which URL it reports,
 * where the probes are, the request timeout, and that JSON data is stored byte for byte.
 * The channel is the in-memory one with faults scripted in (the real NATS paths are in
 * adapter.test.ts and guarantees-adapter.test.ts); TLS uses certificates made here.
 */
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { startAdapter } from '../../runtime/adapter';
import type { AdapterHandle, AdapterOptions } from '../../runtime/adapter';
import { ChannelFullError, ChannelUnavailableError } from '../../runtime/channel/channel';
import { InMemoryChannel } from '../../runtime/channel/in-memory';
import { createThrowawayCa } from '../../runtime/http/throwaway-ca';
import { createMetricsRegistry } from '../../runtime/observability';
import { send } from '../support/https-client';
import { captureLogs } from '../support/observed';
import { freePort } from '../support/nats-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An in-memory channel whose topic creation and publishes fail as a test says. */
class ScriptedChannel extends InMemoryChannel {
  ensureFailures = 0;
  readonly ensureCalls: number[] = [];
  publishFault: unknown = undefined;
  readonly published: Buffer[] = [];
  closed = false;

  override async ensureTopic(topic: string, options?: Parameters<InMemoryChannel['ensureTopic']>[1]): Promise<void> {
    this.ensureCalls.push(Date.now());
    if (this.ensureFailures > 0) {
      this.ensureFailures--;
      throw new ChannelUnavailableError('stream not there yet');
    }
    return super.ensureTopic(topic, options);
  }

  override async publish(topic: string, data: Uint8Array): Promise<void> {
    if (this.publishFault !== undefined) throw this.publishFault;
    this.published.push(Buffer.from(data));
    return super.publish(topic, data);
  }

  override async close(): Promise<void> {
    this.closed = true;
    return super.close();
  }
}

const WARN = 40;
const ERROR = 50;
const DEBUG = 20;

const handles: AdapterHandle[] = [];
async function adapter(options: Partial<AdapterOptions>, channel: InMemoryChannel = new ScriptedChannel(), logger = captureLogs('adapter-test').logger): Promise<AdapterHandle> {
  const a = await startAdapter(
    { application: 'shop', port: 0, host: '127.0.0.1', shutdownGraceMs: 500, auth: { mode: 'none' }, ...options },
    { channel, logger, registry: createMetricsRegistry({ defaults: false }) },
  );
  handles.push(a);
  return a;
}

afterEach(async () => {
  await Promise.all(handles.splice(0).map((a) => a.close()));
});

const event = (id: string) => ({
  'content-type': 'application/cloudevents+json',
  body: JSON.stringify({ specversion: '1.0', id, source: 'x', type: 'order.created', data: { id } }),
});

async function postEvent(a: AdapterHandle, id: string) {
  const { body, ...headers } = event(id);
  const res = await request(`${a.url}/events`, { method: 'POST', headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

async function rejected(a: AdapterHandle, reason: string): Promise<number> {
  const text = await (await request(`${a.probeUrl}/metrics`)).body.text();
  const m = new RegExp(`^event_mesh_adapter_events_rejected_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function readyWithin(a: AdapterHandle, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const r = await request(`${a.probeUrl}/readyz`);
    await r.body.text();
    if (r.statusCode === 200) return true;
    await sleep(50);
  }
  return false;
}

describe('waiting for the channel at start', () => {
  test('the topic is retried with a growing backoff from 250 ms until the channel takes it; then /readyz 200', async () => {
    const channel = new ScriptedChannel();
    channel.ensureFailures = 3;
    const logs = captureLogs('adapter-test');
    const a = await adapter({}, channel, logs.logger);
    expect(await readyWithin(a, 6000)).toBe(true);
    const calls = channel.ensureCalls;
    expect(calls).toHaveLength(4);
    const gaps = calls.slice(1).map((t, i) => t - calls[i]);
    // 250, 500, 1000 ms (timers fire late on a loaded machine, never early).
    expect(gaps[0]).toBeGreaterThanOrEqual(240);
    expect(gaps[0]).toBeLessThan(900);
    expect(gaps[1]).toBeGreaterThanOrEqual(490);
    expect(gaps[2]).toBeGreaterThanOrEqual(990);
    expect(gaps[2]).toBeLessThan(2500);
    const retries = logs.lines.filter((l) => l.msg === 'channel not ready yet; retrying');
    expect(retries.map((l) => [l.level, l.attempt, l.topic, l.err])).toEqual([0, 1, 2].map((n) => [WARN, n, a.topic, 'stream not there yet']));
    expect(logs.lines.filter((l) => l.msg === 'channel topic ready').map((l) => l.topic)).toEqual([a.topic]);
  });

  test('close() while the channel is still missing stops the retries', async () => {
    const channel = new ScriptedChannel();
    channel.ensureFailures = Number.MAX_SAFE_INTEGER;
    const a = await adapter({}, channel);
    // By now it waits 1.75 s before its fifth attempt: close() does not wait that out.
    const t0 = Date.now();
    await a.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    const after = channel.ensureCalls.length;
    await sleep(1500);
    expect(channel.ensureCalls.length).toBe(after);
    // Injected: the caller's channel, not the adapter's to close.
    expect(channel.closed).toBe(false);
  });

  test('a port already in use fails the start, stops the retries and leaves an injected channel open', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    const channel = new ScriptedChannel();
    channel.ensureFailures = Number.MAX_SAFE_INTEGER;
    try {
      await expect(adapter({ port }, channel)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      const after = channel.ensureCalls.length;
      await sleep(1500);
      expect(channel.ensureCalls.length).toBe(after);
      expect(channel.closed).toBe(false);
    } finally {
      blocker.close();
    }
  }, 15_000);
});

describe('publish failures: answered, counted and logged', () => {
  const channel = new ScriptedChannel();
  const logs = captureLogs('adapter-test');
  let a: AdapterHandle;
  beforeEach(async () => {
    channel.publishFault = undefined;
    a = await adapter({ probePort: 0 }, channel, logs.logger);
    logs.lines.length = 0;
  });

  test('channel unavailable → 503 channel_unavailable, a warning naming the topic', async () => {
    channel.publishFault = new ChannelUnavailableError('no responders', 3);
    const res = await postEvent(a, 'u1');
    expect(res.status).toBe(503);
    expect(res.json.error).toBe('channel_unavailable');
    expect(await rejected(a, 'channel_unavailable')).toBe(1);
    expect(logs.lines.filter((l) => l.msg === 'publish failed: channel unavailable').map((l) => [l.level, l.topic, l.err])).toEqual([[WARN, a.topic, 'no responders']]);
  });

  test('channel full → 507 channel_full, an error naming the topic', async () => {
    channel.publishFault = new ChannelFullError('maximum bytes exceeded');
    const res = await postEvent(a, 'f1');
    expect(res.status).toBe(507);
    expect(res.json.error).toBe('channel_full');
    expect(await rejected(a, 'channel_full')).toBe(1);
    expect(logs.lines.filter((l) => l.msg === 'publish failed: channel full').map((l) => [l.level, l.topic, l.err])).toEqual([[ERROR, a.topic, 'maximum bytes exceeded']]);
  });

  test('anything else → 500 internal_error (retry later), logged with the cause, also when it is not an Error', async () => {
    for (const [fault, cause] of [[new Error('disk on fire'), 'disk on fire'], ['a bare string', 'a bare string']] as const) {
      channel.publishFault = fault;
      const res = await postEvent(a, 'e1');
      expect(res.status).toBe(500);
      expect(res.json).toMatchObject({ error: 'internal_error' });
      expect(String(res.json.message)).toContain('retry later');
    }
    expect(await rejected(a, 'internal_error')).toBe(2);
    expect(logs.lines.filter((l) => l.msg === 'publish failed').map((l) => [l.level, l.topic, l.err])).toEqual([[ERROR, a.topic, 'disk on fire'], [ERROR, a.topic, 'a bare string']]);
  });

  test('a legacy request error is counted under its own reason', async () => {
    const res = await request(`${a.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ 'event-type-version': 'v1', 'event-time': '2026-01-01T00:00:00Z', data: 1 }) });
    const body = (await res.body.json()) as { details: { type: string }[] };
    expect(res.statusCode).toBe(400);
    const reason = body.details[0].type;
    expect(reason).toMatch(/^[a-z_]+$/);
    expect(await rejected(a, reason)).toBe(1);
  });
});

describe('where it listens, what it reports', () => {
  test('the start and stop lines name the port, auth mode, TLS and channel', async () => {
    const logs = captureLogs('adapter-test');
    const a = await adapter({ probePort: 0 }, new ScriptedChannel(), logs.logger);
    const listening = logs.lines.find((l) => l.msg === 'adapter listening');
    expect(listening).toMatchObject({ port: a.port, probePort: a.probePort, auth: 'none', tls: false, application: 'shop', topic: a.topic, channel: 'inmemory' });
    await a.close();
    expect(logs.lines.filter((l) => l.msg === 'adapter stopped').map((l) => l.application)).toEqual(['shop']);
  });

  test.each([
    ['0.0.0.0', 'http://127.0.0.1:'],
    ['::', 'http://127.0.0.1:'],
    [undefined, 'http://127.0.0.1:'],
    ['::1', 'http://[::1]:'],
    ['127.0.0.1', 'http://127.0.0.1:'],
  ])('host %s → a URL that reaches it (%s…)', async (host, prefix) => {
    const a = await adapter({ host, probePort: 0 });
    expect(a.url).toBe(`${prefix}${a.port}`);
    expect((await postEvent(a, 'h1')).status).toBe(202);
    expect(a.probeUrl).toBe(`${prefix}${a.probePort}`);
  });

  test('with a probe port and no auth, the probes are only there and the event port 404s naming it', async () => {
    const a = await adapter({ probePort: 0 });
    expect(a.probePort).not.toBe(a.port);
    const onMain = await request(`${a.url}/readyz`);
    expect(onMain.statusCode).toBe(404);
    expect(((await onMain.body.json()) as { message: string }).message).toBe(`/readyz is served on the probe port (${a.probeUrl}/readyz), apart from the authenticated event endpoints`);
    const unknown = await request(`${a.url}/nope`);
    expect(unknown.statusCode).toBe(404);
    expect(((await unknown.body.json()) as { message: string }).message).toContain('post events to /events');
    const probe = await request(`${a.probeUrl}/nope`);
    expect(probe.statusCode).toBe(404);
    expect(((await probe.body.json()) as { message: string }).message).toContain('on the probe port');
    expect((await request(`${a.probeUrl}/healthz`)).statusCode).toBe(200);
  });

  test('without a probe port and no auth, one port serves events and probes', async () => {
    const a = await adapter({});
    expect(a.probePort).toBe(a.port);
    expect(a.probeUrl).toBe(a.url);
    expect((await request(`${a.url}/readyz`)).statusCode).toBe(200);
    const unknown = await request(`${a.url}/nope`);
    expect(unknown.statusCode).toBe(404);
    expect(((await unknown.body.json()) as { message: string }).message).toBe('no endpoint "/nope": post events to /events (CloudEvents) or /v1/events (legacy)');
  });

  test('mTLS: an https URL, probes apart on plain HTTP, a failed handshake counted and logged at debug', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'adapter-server-'));
    try {
      const ca = await createThrowawayCa('test CA');
      const server = await ca.issue({ commonName: 'adapter', dnsNames: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
      const client = await ca.issue({ commonName: 'shop', usage: 'client' });
      const file = (name: string, text: string) => {
        writeFileSync(path.join(dir, name), text);
        return path.join(dir, name);
      };
      const logs = captureLogs('adapter-test');
      const a = await adapter({ probePort: 0, auth: { mode: 'mtls', certFile: file('tls.crt', server.certPem), keyFile: file('tls.key', server.keyPem), clientCaFile: file('ca.crt', ca.certPem) } }, new ScriptedChannel(), logs.logger);
      expect(a.url).toBe(`https://127.0.0.1:${a.port}`);
      expect(a.probeUrl).toBe(`http://127.0.0.1:${a.probePort}`);
      expect(logs.lines.find((l) => l.msg === 'adapter listening')).toMatchObject({ auth: 'mtls', tls: true });
      const { body, ...headers } = event('tls-1');
      expect((await send(`${a.url}/events`, { headers, body, tls: { ca: ca.certPem, cert: client.certPem, key: client.keyPem } })).status).toBe(202);
      await expect(send(`${a.url}/events`, { headers, body, tls: { ca: ca.certPem } })).rejects.toThrow();
      let failed = 0;
      for (let i = 0; i < 50 && failed === 0; i++) {
        failed = await rejected(a, 'tls_handshake_failed');
        if (failed === 0) await sleep(20);
      }
      expect(failed).toBe(1);
      expect(logs.lines.filter((l) => l.msg === 'TLS handshake failed').map((l) => l.level)).toEqual([DEBUG]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('requests', () => {
  test('a body that never completes is answered 408 request_timeout after requestTimeoutMs', async () => {
    const a = await adapter({ requestTimeoutMs: 600, headersTimeoutMs: 400 });
    const t0 = Date.now();
    const answer = await new Promise<string>((resolve) => {
      let out = '';
      const s = net.connect(a.port, '127.0.0.1', () => s.write('POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\nContent-Length: 500\r\n\r\n{"specversion"'));
      s.on('data', (d) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toContain('"error":"request_timeout"');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('a malformed request line gets the JSON 400, not Node\'s bare one', async () => {
    const a = await adapter({});
    const answer = await new Promise<string>((resolve) => {
      let out = '';
      const s = net.connect(a.port, '127.0.0.1', () => s.write('GARBAGE\r\n\r\n'));
      s.on('data', (d) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(answer).toContain('"error":"bad_request"');
  });

  // Structured mode stores the event as parsed (its data re-serialized): see docs/runtime-adapter.md.
  test('JSON data of a binary-mode event is stored as sent, byte for byte', async () => {
    const channel = new ScriptedChannel();
    const a = await adapter({}, channel);
    const data = '{"price": 1.50, "tags" :[ "a" ],"n":1e2}';
    const binary = await request(`${a.url}/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': 'b1', 'ce-source': 'x', 'ce-type': 't' }, body: data });
    expect(binary.statusCode).toBe(202);
    await binary.body.text();
    expect(channel.published).toHaveLength(1);
    expect(channel.published[0].toString('utf8')).toContain(`"data":${data}`);
  });
});

test('a port already in use with the adapter\'s own channel: the start fails and the port stays with its owner', async () => {
  const port = await freePort();
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
  try {
    await expect(startAdapter({ application: 'own', port, host: '127.0.0.1', auth: { mode: 'none' }, channel: { kind: 'inmemory' } }, { logger: captureLogs('adapter-test').logger })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  } finally {
    blocker.close();
  }
});
