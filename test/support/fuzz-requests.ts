/**
 * Property-based fuzzing of every ingress endpoint (fast-check), shared by the CI run
 * (a few thousand runs, test/runtime/hardening/fuzz.test.ts) and `npm run fuzz` (100,000
 * runs or more, fixed seed printed for replay). Targets: the adapter's /events (binary,
 * structured, batch) and /v1/events (legacy), and the dispatcher's broker ingress, all on
 * a recording in-memory channel so every stored message can be checked.
 *
 * Properties per request: the answer is never 5xx; every error answer is JSON naming the
 * problem; the process stays up; and everything stored is a valid CloudEvent that a
 * serializer can write back (so the dispatcher can deliver it).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { startAdapter } from '../../runtime/adapter';
import type { AdapterHandle } from '../../runtime/adapter';
import { InMemoryChannel } from '../../runtime/channel/in-memory';
import { encodeBinary, fromChannelBytes } from '../../runtime/cloudevents';
import { startDispatcher } from '../../runtime/dispatcher';
import type { Dispatcher } from '../../runtime/dispatcher';
import { createMetricsRegistry, silentLogger } from '../../runtime/observability';

/** A channel that records what it stores (and stores it, so the dispatcher runs as usual). */
class RecordingChannel extends InMemoryChannel {
  readonly stored: Uint8Array[] = [];
  override async publish(topic: string, data: Uint8Array): Promise<void> {
    await super.publish(topic, data);
    this.stored.push(data);
  }
}

export interface FuzzTargets {
  readonly adapter: AdapterHandle;
  readonly dispatcher: Dispatcher;
  readonly channel: RecordingChannel;
  close(): Promise<void>;
}

export async function startFuzzTargets(): Promise<FuzzTargets> {
  const channel = new RecordingChannel();
  const adapter = await startAdapter({ application: 'fuzz', port: 0, host: '127.0.0.1', maxBodyBytes: 16_384, shutdownGraceMs: 200, auth: { mode: 'none' } }, { channel, logger: silentLogger(), registry: createMetricsRegistry({ defaults: false }) });
  const dir = mkdtempSync(path.join(tmpdir(), 'fuzz-'));
  writeFileSync(path.join(dir, 'routing.yaml'), stringify({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} }));
  const dispatcher = await startDispatcher({ port: 0, host: '127.0.0.1', routingDir: dir, maxBodyBytes: 16_384, shutdownGraceMs: 200, routingPollMs: 600_000 }, { channel, logger: silentLogger() });
  return {
    adapter,
    dispatcher,
    channel,
    async close() {
      await adapter.close();
      await dispatcher.close(100);
      await channel.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------
// Arbitraries: mostly-valid shapes with hostile values mixed in, so runs get past the
// first check as often as they fail it.

const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', ' ', '%', '%zz', '%C3%28', '%00', '\u0000', '\ud800', 'a'.repeat(3000), 'a'.repeat(999) + '!', '1.0', 'order.created', '/src', 'urn:x', '2026-01-01T00:00:00Z', '2026-02-30T00:00:00Z', 'application/json', 'text/plain; charset=utf-8', 'aGVsbG8=', 'aGVsbG8'),
);
const deep = fc.integer({ min: 1, max: 200 }).map((d) => JSON.parse(`${'['.repeat(d)}${']'.repeat(d)}`) as unknown);
const value: fc.Arbitrary<unknown> = fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 4 }), nasty, deep, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const attrName = fc.oneof(fc.constantFrom('specversion', 'id', 'source', 'type', 'subject', 'time', 'dataschema', 'datacontenttype', 'data', 'data_base64', 'myext', 'Bad-Name', 'knativebrokerttl', 'traceparent'), fc.string({ maxLength: 12 }));
const eventObject = fc
  .record({
    specversion: fc.oneof(fc.constant('1.0'), value),
    id: fc.oneof(fc.uuid(), value),
    source: fc.oneof(fc.constantFrom('/s', 'urn:app', 'https://x.example/a'), value),
    type: fc.oneof(fc.constantFrom('order.created', 't'), value),
  })
  .chain((base) => fc.dictionary(attrName, value, { maxKeys: 4 }).map((extra) => ({ ...base, ...extra })));

export type FuzzRequest = { readonly target: 'adapter' | 'broker'; readonly path: string; readonly headers: Record<string, string>; readonly body: Buffer };

const contentType = fc.oneof(
  fc.constantFrom('application/cloudevents+json', 'application/cloudevents+json; charset=utf-8', 'application/cloudevents+json; charset=latin1', 'application/cloudevents-batch+json', 'application/cloudevents+xml', 'application/json', 'text/plain', 'application/octet-stream', 'text/xml; charset=utf-8', 'application/x-www-form-urlencoded', 'garbage', 'a/b; c="d', ''),
  fc.string({ maxLength: 30 }),
);
const withType = (ce: Record<string, string>, ct: string | null): Record<string, string> => (ct === null ? { ...ce } : { ...ce, 'content-type': ct });
const headerValue = fc.oneof(nasty, fc.constantFrom('1.0', 'id-1', '/src', 'order.created')).map((v) => String(v).replace(/[^\x20-\x7e]/g, '').slice(0, 200));
const ceHeaders = fc.dictionary(
  fc.oneof(fc.constantFrom('ce-specversion', 'ce-id', 'ce-source', 'ce-type', 'ce-time', 'ce-subject', 'ce-datacontenttype', 'ce-data', 'ce-myext', 'ce-Bad_Name', 'ce-'), fc.stringMatching(/^ce-[a-z0-9]{0,8}$/)),
  headerValue,
  { maxKeys: 6 },
);
const bodyFor = fc.oneof(
  eventObject.map((e) => Buffer.from(JSON.stringify(e))),
  fc.array(eventObject, { maxLength: 4 }).map((a) => Buffer.from(JSON.stringify(a))),
  value.map((v) => Buffer.from(JSON.stringify(v) ?? '')),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.integer({ min: 0, max: 12_000 }).map((d) => Buffer.from(`{"specversion":"1.0","id":"d","source":"/s","type":"t","data":${'['.repeat(d)}${']'.repeat(d)}}`)),
  fc.constant(Buffer.alloc(20_000, 0x7b)),
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
);
const legacyBody = fc
  .record({
    'event-type': fc.oneof(fc.constantFrom('order.created', 'a'.repeat(5000) + '!', 'a.'.repeat(2000), 'Order-1_x'), value),
    'event-type-version': fc.oneof(fc.constant('v1'), value),
    'event-time': fc.oneof(fc.constant('2026-01-01T00:00:00Z'), value),
    'event-id': fc.oneof(fc.uuid(), value, fc.constant(undefined)),
    data: value,
  })
  .map((r) => Buffer.from(JSON.stringify(r)));

export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  fc.record({ target: fc.constant('adapter' as const), path: fc.constant('/events'), ct: fc.option(contentType), ce: ceHeaders, body: bodyFor }).map(({ target, path: p, ct, ce, body }) => ({ target, path: p, headers: withType(ce, ct), body })),
  fc.record({ target: fc.constant('adapter' as const), path: fc.constant('/v1/events'), ct: fc.option(contentType), body: fc.oneof(legacyBody, bodyFor) }).map(({ target, path: p, ct, body }) => ({ target, path: p, headers: withType({}, ct), body })),
  fc.record({ target: fc.constant('broker' as const), path: fc.constantFrom('/shop/default', '/shop/missing', '/Shop/x', '/shop/default/'), ct: fc.option(contentType), ce: ceHeaders, body: bodyFor }).map(({ target, path: p, ct, ce, body }) => ({ target, path: p, headers: withType(ce, ct), body })),
);

const agent = new Agent({ connections: 8, keepAliveTimeout: 10_000 });

/** Send one request and check the properties; throws (a counterexample) when one fails. */
export async function checkRequest(t: FuzzTargets, req: FuzzRequest): Promise<void> {
  const before = t.channel.stored.length;
  const base = req.target === 'adapter' ? t.adapter.url : t.dispatcher.url;
  const res = await request(`${base}${req.path}`, { method: 'POST', headers: req.headers, body: req.body, dispatcher: agent });
  const text = await res.body.text();
  if (res.statusCode >= 500) throw new Error(`${res.statusCode} for ${req.target} ${req.path}: ${text}`);
  if (res.statusCode >= 400) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new Error(`${res.statusCode} without a JSON body: ${JSON.stringify(text.slice(0, 200))}`);
    }
    const message = parsed.message ?? parsed.moreInfo;
    if (typeof message !== 'string' || message.length === 0) throw new Error(`${res.statusCode} JSON error without a message: ${text.slice(0, 200)}`);
  }
  for (const bytes of t.channel.stored.slice(before)) {
    const ev = fromChannelBytes(bytes); // throws on an invalid stored event
    encodeBinary(ev); // throws when the dispatcher could not encode it
  }
  // A 2xx means stored (except an empty batch, or an event whose broker TTL is used up).
  if (res.statusCode < 300 && t.channel.stored.length === before && !(req.headers['content-type'] ?? '').includes('batch') && !req.body.includes('knativebrokerttl')) {
    throw new Error(`${res.statusCode} but nothing was stored`);
  }
  t.channel.stored.length = 0;
}

export async function closeFuzzAgent(): Promise<void> {
  await agent.close();
}
