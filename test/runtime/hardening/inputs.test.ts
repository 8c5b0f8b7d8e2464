/**
 * Inputs that cannot hurt, against a real adapter and a real dispatcher (broker ingress)
 * over real sockets: JSON nested past the limit gets 400 naming the limit in every mode
 * and endpoint; invalid chunked framing gets a 400 instead of a dropped connection; an
 * oversize body's 413 reaches a client that is still sending.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { startAdapter } from '../../../runtime/adapter';
import type { AdapterHandle } from '../../../runtime/adapter';
import { InMemoryChannel } from '../../../runtime/channel/in-memory';
import { DEFAULT_MAX_JSON_DEPTH, jsonDepth } from '../../../runtime/cloudevents';
import { startDispatcher } from '../../../runtime/dispatcher';
import type { Dispatcher } from '../../../runtime/dispatcher';
import { createMetricsRegistry, silentLogger } from '../../../runtime/observability';

let adapter: AdapterHandle;
let shallow: AdapterHandle;
let dispatcher: Dispatcher;
let dir: string;
const channel = new InMemoryChannel();

beforeAll(async () => {
  const deps = () => ({ channel, logger: silentLogger(), registry: createMetricsRegistry({ defaults: false }) });
  adapter = await startAdapter({ application: 'commerce', port: 0, host: '127.0.0.1', maxBodyBytes: 65_536, shutdownGraceMs: 500, auth: { mode: 'none' } }, deps());
  shallow = await startAdapter({ application: 'shallow', port: 0, host: '127.0.0.1', maxJsonDepth: 8, shutdownGraceMs: 500, auth: { mode: 'none' } }, deps());
  dir = mkdtempSync(path.join(tmpdir(), 'inputs-'));
  writeFileSync(path.join(dir, 'routing.yaml'), stringify({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} }));
  dispatcher = await startDispatcher({ port: 0, host: '127.0.0.1', routingDir: dir, shutdownGraceMs: 500, routingPollMs: 60_000 }, { channel });
});
afterAll(async () => {
  await adapter?.close();
  await shallow?.close();
  await dispatcher?.close(200);
  await channel.close();
  rmSync(dir, { recursive: true, force: true });
});

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const attrs = '"specversion":"1.0","id":"x-1","source":"/s","type":"t"';
const structured = (data: string) => `{${attrs},"data":${data}}`;

async function post(url: string, headers: Record<string, string>, body: string) {
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

type Case = { name: string; url: () => string; headers: Record<string, string>; body: (d: number) => string; depthOf: (d: number) => number };
const binaryHeaders = { 'ce-specversion': '1.0', 'ce-id': 'b-1', 'ce-source': '/s', 'ce-type': 't', 'content-type': 'application/json' };
const endpoints = (base: () => string, path: string): Case[] => [
  { name: `${path} structured data`, url: () => `${base()}${path}`, headers: { 'content-type': 'application/cloudevents+json' }, body: (d) => structured(nested(d - 1)), depthOf: (d) => d },
  { name: `${path} structured extension`, url: () => `${base()}${path}`, headers: { 'content-type': 'application/cloudevents+json' }, body: (d) => `{${attrs},"myext":${nested(d - 1)}}`, depthOf: (d) => d },
  { name: `${path} binary JSON data`, url: () => `${base()}${path}`, headers: binaryHeaders, body: (d) => nested(d), depthOf: (d) => d },
  { name: `${path} batch entry`, url: () => `${base()}${path}`, headers: { 'content-type': 'application/cloudevents-batch+json' }, body: (d) => `[${structured('1')},${structured(nested(d - 2))}]`, depthOf: (d) => d },
];
const cases: Case[] = [
  ...endpoints(() => adapter.url, '/events'),
  { name: '/v1/events legacy data', url: () => `${adapter.url}/v1/events`, headers: { 'content-type': 'application/json' }, body: (d) => `{"event-type":"order.created","event-type-version":"v1","event-time":"2026-01-01T00:00:00Z","data":${nested(d - 1)}}`, depthOf: (d) => d },
  ...endpoints(() => dispatcher.url, '/shop/default'),
];

describe(`JSON nesting limit (default ${DEFAULT_MAX_JSON_DEPTH})`, () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s: at the limit accepted, one deeper 400 naming the limit, 30,000 deep (a stack overflow once) 400', async (_name, c) => {
    expect(jsonDepth(Buffer.from(c.body(DEFAULT_MAX_JSON_DEPTH)))).toBe(DEFAULT_MAX_JSON_DEPTH);
    const atLimit = await post(c.url(), c.headers, c.body(DEFAULT_MAX_JSON_DEPTH));
    // An extension cannot hold an array at all: refused by validation, not by depth.
    if (c.name.includes('extension')) {
      expect(atLimit.status).toBe(400);
      expect(atLimit.json().error).toBe('invalid_attribute');
    } else {
      expect([atLimit.status, atLimit.text]).toEqual([c.name.includes('legacy') ? 200 : 202, expect.any(String)]);
    }
    for (const depth of [DEFAULT_MAX_JSON_DEPTH + 1, 30_000]) {
      const res = await post(c.url(), c.headers, c.body(depth));
      expect([res.status, res.text]).toEqual([400, expect.stringContaining(`more than ${DEFAULT_MAX_JSON_DEPTH} levels deep`)]);
      const body = res.json();
      if (c.name.includes('legacy')) expect(body).toMatchObject({ status: 400, type: 'bad_payload_syntax' });
      else expect(body.error).toBe('json_too_deep');
      expect(String(c.name.includes('legacy') ? body.moreInfo : body.message)).toContain('--max-json-depth');
    }
  });

  test('the limit is configurable (maxJsonDepth 8)', async () => {
    const ok = await post(`${shallow.url}/events`, binaryHeaders, nested(8));
    expect(ok.status).toBe(202);
    const res = await post(`${shallow.url}/events`, binaryHeaders, nested(9));
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ error: 'json_too_deep', attribute: 'data', message: expect.stringContaining('more than 8 levels deep') });
  });

  test('brackets inside strings do not count', async () => {
    const res = await post(`${adapter.url}/events`, { 'content-type': 'application/cloudevents+json' }, structured(JSON.stringify(`${'['.repeat(10_000)}"\\`)));
    expect(res.status).toBe(202);
  });
});

describe('legacy event-type over HTTP', () => {
  test('10,000-character adversarial event-type values get their 400 while /healthz keeps answering', async () => {
    const legacy = (type: string) => post(`${adapter.url}/v1/events`, { 'content-type': 'application/json' }, JSON.stringify({ 'event-type': type, 'event-type-version': 'v1', 'event-time': '2026-01-01T00:00:00Z', data: {} }));
    const attacks = ['a'.repeat(9_999) + '!', 'a1'.repeat(5_000) + '-', 'a.'.repeat(5_000)];
    const answers = await Promise.all([...attacks.map(legacy), fetch(`${adapter.url}/healthz`).then((r) => ({ status: r.status, text: '', json: () => ({}) }))]);
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 200]);
    for (const a of answers.slice(0, 3)) expect(a.json()).toMatchObject({ details: [{ field: 'event-type', type: 'invalid_field' }] });
    expect((await legacy(`a${'.b1'.repeat(3_333)}`)).status).toBe(200);
  });
});

/**
 * One raw HTTP exchange: write `chunks`, read until the server closes. With `readAfterSending`
 * the client reads nothing until its last byte is written, as a blocking client (curl,
 * most SDKs) does: an answer that a reset overtakes is then lost, as users saw it.
 */
function raw(port: number, chunks: (string | Buffer)[], readAfterSending = false): Promise<{ text: string; error?: string }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    let error: string | undefined;
    if (readAfterSending) sock.pause();
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    sock.on('close', () => resolve({ text, error }));
    sock.setTimeout(15_000, () => sock.destroy());
    sock.on('connect', async () => {
      for (const c of chunks) {
        if (sock.destroyed) break;
        if (!sock.write(c)) await new Promise((r) => sock.once('drain', r).once('close', r));
      }
      // Give the server time to answer (and, without lingering, to close and reset).
      await new Promise((r) => setTimeout(r, 200));
      sock.resume();
    });
  });
}

describe('malformed framing and oversize bodies', () => {
  const head = (port: () => number, pathname: string) => (extra: string) => `POST ${pathname} HTTP/1.1\r\nhost: 127.0.0.1:${port()}\r\n${extra}\r\n`;
  const targets = [
    ['adapter', () => adapter.port, '/events'],
    ['broker ingress', () => dispatcher.port, '/shop/default'],
  ] as const;

  test.each(targets)('%s: invalid chunked encoding gets a 400 JSON answer', async (_n, port, pathname) => {
    const h = head(port, pathname);
    const res = await raw(port(), [h('content-type: application/cloudevents+json\r\ntransfer-encoding: chunked\r\n'), '5\r\n{"a":\r\nZZZ-not-a-size\r\n\r\n']);
    expect(res.text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(res.text).toContain('"error":"bad_request"');
    expect(res.text).toMatch(/malformed HTTP request \(HPE_INVALID_CHUNK_SIZE\)/);
  });

  test.each(targets)('%s: an 8 MiB body from a client that reads only after sending gets its 413, every time', async (_n, port, pathname) => {
    const h = head(port, pathname);
    const piece = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 6; i++) {
      const chunked = i % 2 === 1;
      const start = h(chunked ? 'content-type: text/plain\r\nce-specversion: 1.0\r\ntransfer-encoding: chunked\r\n' : `content-type: text/plain\r\nce-specversion: 1.0\r\ncontent-length: ${128 * piece.length}\r\n`);
      const pieces = Array.from({ length: 128 }, () => (chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece));
      const res = await raw(port(), [start, ...pieces, ...(chunked ? ['0\r\n\r\n'] : [])], true);
      expect([i, res.text.slice(0, 40), res.error]).toEqual([i, expect.stringMatching(/^HTTP\/1\.1 413 /), undefined]);
    }
  });

  test('the adapter and the broker ingress still serve after all that', async () => {
    expect((await fetch(`${adapter.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${dispatcher.url}/healthz`)).status).toBe(200);
  });
});
