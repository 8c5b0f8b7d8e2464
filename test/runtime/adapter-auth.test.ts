/**
 * Adapter authentication against running adapters on a real nats-server, with certificates
 * generated here, a real HTTPS client presenting them, and the dispatcher delivering to a
 * real HTTP subscriber: only the application's own certificate (or a current token) gets a
 * 2xx, every other request gets the documented 401/403 or a failed handshake, and nothing
 * from a refused request reaches the subscriber. Rotation of tokens and of the CA (a
 * Kubernetes-style `..data` swap) while requests flow: zero failed requests with valid
 * credentials.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { startAdapter } from '../../runtime/adapter';
import type { AdapterAuth, AdapterHandle } from '../../runtime/adapter';
import { JetStreamChannel } from '../../runtime/channel/jetstream';
import { startDispatcher, type Dispatcher } from '../../runtime/dispatcher';
import { createThrowawayCa, type PemPair, type ThrowawayCa } from '../../runtime/http/throwaway-ca';
import { createMetricsRegistry, silentLogger } from '../../runtime/observability';
import { binaryEvent, send, type ClientTls } from '../support/https-client';
import { startSubscriber, type Subscriber } from '../support/http-subscriber';
import { spawnCli } from '../support/cli-process';
import { freePort, startNatsServer, type NatsServerHandle } from '../support/nats-server';

const INTEGRATION = 'kyma-integration';
const NS = 'auth-e2e';
const ROUTED = ['commerce', 'tokenapp', 'proxied'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function routing(subscriberUrl: string): string {
  const docs: unknown[] = [
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: NS, annotations: { 'eventing.knative.dev/broker.class': 'EventMeshBroker' } } },
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'all', namespace: NS }, spec: { broker: 'default', subscriber: { uri: subscriberUrl } } },
  ];
  for (const app of ROUTED) {
    docs.push(
      { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: app, namespace: INTEGRATION } },
      {
        apiVersion: 'messaging.knative.dev/v1',
        kind: 'Subscription',
        metadata: { name: `${app}-${NS}-default`, namespace: INTEGRATION },
        spec: {
          channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: app },
          subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: NS } },
        },
      },
    );
  }
  return docs.map((d) => stringify(d)).join('---\n');
}

let nats: NatsServerHandle;
let channel: JetStreamChannel;
let dispatcher: Dispatcher;
let subscriber: Subscriber;
let dir: string;
let meshCa: ThrowawayCa;
let otherCa: ThrowawayCa;
let serverCert: PemPair;
const clients: Record<string, PemPair> = {};
const adapters: AdapterHandle[] = [];
/** Ids of events that were answered 2xx (must be delivered) and of refused ones (must never be). */
const accepted = new Set<string>();
const refused = new Set<string>();

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Replace a file the way a careful writer does: write aside, rename over. */
function replace(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

async function adapter(application: string, auth: AdapterAuth, extra: { webhookAllowedOrigins?: string[] } = {}): Promise<AdapterHandle> {
  const a = await startAdapter(
    { application, port: 0, probePort: 0, host: '127.0.0.1', shutdownGraceMs: 1000, reloadPollMs: 100, auth, ...extra },
    { channel, logger: silentLogger(), registry: createMetricsRegistry({ defaults: false }) },
  );
  adapters.push(a);
  return a;
}

const tlsFor = (pair?: PemPair): ClientTls => ({ ca: meshCa.certPem, ...(pair ? { cert: pair.certPem, key: pair.keyPem } : {}) });

/** Post one event; records its id as accepted (2xx) or refused (anything else, or no answer). */
async function post(a: AdapterHandle, id: string, options: { tls?: ClientTls; headers?: Record<string, string>; legacy?: boolean } = {}) {
  // The legacy API takes only UUIDs as event-id.
  if (options.legacy) id = randomUUID();
  const ev = binaryEvent(id);
  const req = options.legacy
    ? { headers: { 'content-type': 'application/json', ...options.headers }, body: JSON.stringify({ 'event-type': 'order.created', 'event-type-version': 'v1', 'event-id': id, 'event-time': new Date().toISOString(), data: { id } }) }
    : { headers: { ...ev.headers, ...options.headers }, body: ev.body };
  try {
    const res = await send(`${a.url}${options.legacy ? '/v1/events' : '/events'}`, { ...req, tls: options.tls });
    (res.status < 300 ? accepted : refused).add(id);
    return Object.assign(res, { id });
  } catch (e) {
    refused.add(id);
    throw e;
  }
}

async function metric(a: AdapterHandle, reason: string): Promise<number> {
  const res = await send(`${a.probeUrl}/metrics`, { method: 'GET' });
  const m = new RegExp(`^event_mesh_adapter_events_rejected_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(res.text);
  return m ? Number(m[1]) : 0;
}

/** Four clients sending in a loop until stopped; every non-2xx answer or error with `label()`'s credentials is a failure. */
function underLoad(request: (n: number) => Promise<{ status: number; text: string }>, label: () => string) {
  let stop = false;
  let ok = 0;
  let n = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (!stop) {
      const credentials = label();
      try {
        const res = await request(n++);
        if (res.status === 202) ok++;
        else failures.push(`${credentials}: ${res.status} ${res.text}`);
      } catch (e) {
        failures.push(`${credentials}: ${(e as Error).message}`);
      }
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  return {
    stop: async () => {
      stop = true;
      await Promise.all(workers);
      return { ok, failures };
    },
  };
}

/** Wait until the adapter has applied `count` reloads. */
async function reloaded(a: AdapterHandle, count: number): Promise<void> {
  for (let i = 0; i < 200 && a.reloads() < count; i++) await sleep(25);
  expect(a.reloads()).toBeGreaterThanOrEqual(count);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'adapter-auth-'));
  [meshCa, otherCa] = await Promise.all([createThrowawayCa('mesh CA'), createThrowawayCa('other CA')]);
  serverCert = await meshCa.issue({ commonName: 'adapter', dnsNames: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
  const day = 86_400_000;
  clients.commerce = await meshCa.issue({ commonName: 'commerce', usage: 'client' });
  clients.billing = await meshCa.issue({ commonName: 'billing', usage: 'client' });
  clients.commerceOtherCa = await otherCa.issue({ commonName: 'commerce', usage: 'client' });
  clients.commerceExpired = await meshCa.issue({ commonName: 'commerce', usage: 'client', notBefore: new Date(Date.now() - 3 * day), notAfter: new Date(Date.now() - day) });
  clients.proxied = await meshCa.issue({ commonName: 'proxied', usage: 'client' });
  clients.spiffe = await meshCa.issue({ commonName: 'whatever', uris: ['spiffe://mesh.local/ns/shop/sa/uri-app'], usage: 'client' });

  nats = await startNatsServer();
  channel = new JetStreamChannel({ servers: nats.url, connectTimeoutMs: 3000 });
  subscriber = await startSubscriber();
  const routingDir = path.join(dir, 'routing');
  mkdirSync(routingDir);
  writeFileSync(path.join(routingDir, 'routing.yaml'), routing(subscriber.url));
  dispatcher = await startDispatcher({ port: 0, host: '127.0.0.1', routingDir, ackWaitMs: 2000, shutdownGraceMs: 1000 },
    { channel: new JetStreamChannel({ servers: nats.url }), ownsChannel: true, logger: silentLogger() });
}, 120_000);

afterAll(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.close()));
  await dispatcher?.close(500);
  await channel?.close();
  await subscriber?.close();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('mutual TLS', () => {
  let commerce: AdapterHandle;
  beforeAll(async () => {
    commerce = await adapter('commerce', {
      mode: 'mtls', certFile: write('server.crt', serverCert.certPem), keyFile: write('server.key', serverCert.keyPem), clientCaFile: write('ca.crt', meshCa.certPem),
    }, { webhookAllowedOrigins: ['sender.example.com'] });
  });

  it('serves HTTPS; probes and metrics are on the separate plain-HTTP port', async () => {
    expect(commerce.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(commerce.probeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(commerce.probePort).not.toBe(commerce.port);
    expect((await send(`${commerce.probeUrl}/healthz`, { method: 'GET' })).status).toBe(200);
    expect((await send(`${commerce.probeUrl}/readyz`, { method: 'GET' })).status).toBe(200);
    // The probe port takes no events, the event port serves no probes.
    const ev = binaryEvent('probe-port-event');
    expect((await send(`${commerce.probeUrl}/events`, { ...ev })).status).toBe(404);
    const onMain = await send(`${commerce.url}/metrics`, { method: 'GET', tls: tlsFor(clients.commerce) });
    expect(onMain.status).toBe(404);
    expect(onMain.json().message).toContain(commerce.probeUrl);
  });

  it("the application's own certificate: 202, and the event is delivered with source = the application", async () => {
    const res = await post(commerce, 'good-mtls-1', { tls: tlsFor(clients.commerce) });
    expect(res.status).toBe(202);
    await subscriber.waitFor((s) => s.acceptedIds().has('good-mtls-1'), 20_000);
    expect(subscriber.accepted.find((r) => r.event?.id === 'good-mtls-1')?.event?.source).toBe('commerce');
  });

  it('no client certificate: the handshake fails (counted)', async () => {
    const before = await metric(commerce, 'tls_handshake_failed');
    await expect(post(commerce, 'bad-nocert', { tls: tlsFor() })).rejects.toThrow();
    expect(await metric(commerce, 'tls_handshake_failed')).toBeGreaterThan(before);
  });

  it('a certificate from another CA: the handshake fails', async () => {
    await expect(post(commerce, 'bad-otherca', { tls: tlsFor(clients.commerceOtherCa) })).rejects.toThrow();
  });

  it('an expired certificate: the handshake fails', async () => {
    await expect(post(commerce, 'bad-expired', { tls: tlsFor(clients.commerceExpired) })).rejects.toThrow();
  });

  it("another application's certificate: 403 naming both identities (counted as forbidden)", async () => {
    const before = await metric(commerce, 'forbidden');
    const res = await post(commerce, 'bad-billing', { tls: tlsFor(clients.billing) });
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toMatchObject({ error: 'forbidden', presented: 'CN=billing', expected: 'CN=commerce' });
    expect(await metric(commerce, 'forbidden')).toBe(before + 1);
  });

  it('the legacy /v1/events endpoint is guarded the same way', async () => {
    expect((await post(commerce, 'bad-legacy-billing', { tls: tlsFor(clients.billing), legacy: true })).status).toBe(403);
    await expect(post(commerce, 'bad-legacy-nocert', { tls: tlsFor(), legacy: true })).rejects.toThrow();
    const ok = await post(commerce, 'good-legacy-1', { tls: tlsFor(clients.commerce), legacy: true });
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ 'event-id': ok.id });
  });

  it('webhook OPTIONS handshake: allowed origin answered, others 403, only with the right certificate', async () => {
    const ok = await send(`${commerce.url}/events`, { method: 'OPTIONS', headers: { 'WebHook-Request-Origin': 'sender.example.com' }, tls: tlsFor(clients.commerce) });
    expect(ok.status).toBe(200);
    expect(ok.headers['webhook-allowed-origin']).toBe('sender.example.com');
    expect(ok.headers['webhook-allowed-rate']).toBe('*');
    const other = await send(`${commerce.url}/events`, { method: 'OPTIONS', headers: { 'WebHook-Request-Origin': 'evil.example.com' }, tls: tlsFor(clients.commerce) });
    expect(other.status).toBe(403);
    expect(other.headers['webhook-allowed-origin']).toBeUndefined();
    const forbidden = await send(`${commerce.url}/events`, { method: 'OPTIONS', headers: { 'WebHook-Request-Origin': 'sender.example.com' }, tls: tlsFor(clients.billing) });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json().error).toBe('forbidden');
    await expect(send(`${commerce.url}/events`, { method: 'OPTIONS', headers: { 'WebHook-Request-Origin': 'sender.example.com' }, tls: tlsFor() })).rejects.toThrow();
  });

  it('--client-identity uri:… matches a SAN URI instead of the CN', async () => {
    const a = await adapter('uri-app', {
      mode: 'mtls', certFile: path.join(dir, 'server.crt'), keyFile: path.join(dir, 'server.key'), clientCaFile: path.join(dir, 'ca.crt'),
      clientIdentity: 'uri:spiffe://mesh.local/ns/shop/sa/uri-app',
    });
    expect((await send(`${a.url}/events`, { ...binaryEvent('uri-ok'), tls: tlsFor(clients.spiffe) })).status).toBe(202);
    const wrong = await send(`${a.url}/events`, { ...binaryEvent('uri-wrong'), tls: tlsFor(clients.commerce) });
    expect(wrong.status).toBe(403);
    expect(wrong.json()).toMatchObject({ presented: 'CN=commerce', expected: 'URI=spiffe://mesh.local/ns/shop/sa/uri-app' });
  });

  it('a missing certificate file fails the start with a message naming it', async () => {
    await expect(adapter('broken', { mode: 'mtls', certFile: path.join(dir, 'nope.crt'), keyFile: path.join(dir, 'server.key'), clientCaFile: path.join(dir, 'ca.crt') }))
      .rejects.toThrow(/cannot read .*nope\.crt: ENOENT/);
    await expect(adapter('broken', { mode: 'mtls', certFile: path.join(dir, 'server.crt'), keyFile: path.join(dir, 'ca.crt'), clientCaFile: path.join(dir, 'ca.crt') }))
      .rejects.toThrow(/not a matching PEM certificate and key/);
  });
});

describe('X-Forwarded-Client-Cert', () => {
  const xfcc = (pem: string) => `By=spiffe://gateway;Hash=abc;Cert="${encodeURIComponent(pem)}";Subject="CN=ignored"`;
  const files = () => ({ certFile: path.join(dir, 'server.crt'), keyFile: path.join(dir, 'server.key'), clientCaFile: path.join(dir, 'ca.crt') });

  it('from the configured proxy: the forwarded certificate decides (202, 403, 401)', async () => {
    const a = await adapter('proxied', { mode: 'mtls', ...files(), trustedProxies: ['127.0.0.1'] });
    const ok = await post(a, 'good-xfcc-1', { tls: tlsFor(), headers: { 'x-forwarded-client-cert': xfcc(clients.proxied.certPem) } });
    expect(ok.status).toBe(202);
    const subjectOnly = await post(a, 'good-xfcc-2', { tls: tlsFor(), headers: { 'x-forwarded-client-cert': 'Hash=abc;Subject="CN=proxied,O=partner"' } });
    expect(subjectOnly.status).toBe(202);
    const other = await post(a, 'bad-xfcc-billing', { tls: tlsFor(), headers: { 'x-forwarded-client-cert': xfcc(clients.billing.certPem) } });
    expect(other.status).toBe(403);
    expect(other.json()).toMatchObject({ presented: 'CN=billing', expected: 'CN=proxied' });
    const foreign = await post(a, 'bad-xfcc-otherca', { tls: tlsFor(), headers: { 'x-forwarded-client-cert': xfcc(clients.commerceOtherCa.certPem) } });
    expect(foreign.status).toBe(401);
    expect(foreign.json().message).toMatch(/not signed by a CA in the client CA bundle/);
    const none = await post(a, 'bad-xfcc-none', { tls: tlsFor() });
    expect(none.status).toBe(401);
    expect(none.json()).toMatchObject({ error: 'unauthenticated', expected: 'CN=proxied' });
    // The proxy's own direct client certificate still counts as itself.
    expect((await post(a, 'good-xfcc-direct', { tls: tlsFor(clients.proxied) })).status).toBe(202);
  });

  it('from any other address the header is ignored: 401 without a certificate, the TLS identity otherwise', async () => {
    const a = await adapter('proxied2', { mode: 'mtls', ...files(), trustedProxies: ['10.9.8.7', '192.168.0.0/16'] });
    const spoofed = await post(a, 'bad-xfcc-spoofed', { tls: tlsFor(), headers: { 'x-forwarded-client-cert': 'Subject="CN=proxied2"' } });
    expect(spoofed.status).toBe(401);
    expect(spoofed.json().message).toMatch(/no client certificate was presented/);
    const spoofedOver = await post(a, 'bad-xfcc-spoofed-2', { tls: tlsFor(clients.billing), headers: { 'x-forwarded-client-cert': 'Subject="CN=proxied2"' } });
    expect(spoofedOver.status).toBe(403);
    expect(spoofedOver.json().presented).toBe('CN=billing');
  });
});

describe('bearer tokens', () => {
  it('missing, wrong and right token over HTTPS; legacy endpoint guarded the same way', async () => {
    const tokens = write('tokens', 'tok-one\n');
    const a = await adapter('tokenapp', { mode: 'token', tokensFile: tokens, certFile: path.join(dir, 'server.crt'), keyFile: path.join(dir, 'server.key') });
    expect(a.url).toMatch(/^https:/);
    const missing = await post(a, 'bad-tok-missing', { tls: tlsFor() });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="event-mesh"');
    expect(missing.json()).toMatchObject({ error: 'unauthenticated' });
    const wrong = await post(a, 'bad-tok-wrong', { tls: tlsFor(), headers: { authorization: 'Bearer tok-two' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    expect(wrong.text).not.toContain('tok-two');
    expect((await post(a, 'bad-tok-legacy', { tls: tlsFor(), legacy: true })).status).toBe(401);
    expect((await post(a, 'good-tok-1', { tls: tlsFor(), headers: { authorization: 'Bearer tok-one' } })).status).toBe(202);
    expect((await post(a, 'good-tok-legacy', { tls: tlsFor(), headers: { authorization: 'Bearer tok-one' }, legacy: true })).status).toBe(200);
    expect(await metric(a, 'unauthenticated')).toBe(3);
  });

  it('rotation while requests flow: zero failed requests with a valid token', async () => {
    const tokens = write('tokens-rot', 'tok-old\n');
    const a = await adapter('tokrot', { mode: 'token', tokensFile: tokens });
    let current = 'tok-old';
    const load = underLoad((n) => {
      const ev = binaryEvent(`rot-${n}`);
      return send(`${a.url}/events`, { ...ev, headers: { ...ev.headers, authorization: `Bearer ${current}` } });
    }, () => current);
    await sleep(300);
    replace(tokens, 'tok-old\ntok-new\n');
    await reloaded(a, 1);
    await sleep(200);
    current = 'tok-new';
    // Requests already sent with the old token finish before it is withdrawn.
    await sleep(500);
    replace(tokens, 'tok-new\n');
    await reloaded(a, 2);
    await sleep(300);
    const { ok, failures } = await load.stop();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    const ev = binaryEvent('rot-withdrawn');
    expect((await send(`${a.url}/events`, { ...ev, headers: { ...ev.headers, authorization: 'Bearer tok-old' } })).status).toBe(401);
  }, 60_000);
});

describe('CA and serving certificate rotation by a Secret ..data swap', () => {
  it('while requests flow: zero failed requests with valid credentials; the retired CA is refused after', async () => {
    const newCa = await createThrowawayCa('mesh CA 2');
    const oldClient = await meshCa.issue({ commonName: 'rotating', usage: 'client' });
    const newClient = await newCa.issue({ commonName: 'rotating', usage: 'client' });
    const newServer = await meshCa.issue({ commonName: 'adapter-2', dnsNames: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
    // The kubelet's layout: <dir>/<file> -> ..data/<file>, ..data -> ..<timestamp>/.
    const secret = path.join(dir, 'secret');
    mkdirSync(secret);
    let generation = 0;
    const publish = (files: Record<string, string>) => {
      const gen = `..gen_${generation++}`;
      mkdirSync(path.join(secret, gen));
      for (const [name, text] of Object.entries(files)) writeFileSync(path.join(secret, gen, name), text);
      symlinkSync(gen, path.join(secret, '..data_tmp'));
      renameSync(path.join(secret, '..data_tmp'), path.join(secret, '..data'));
    };
    publish({ 'tls.crt': serverCert.certPem, 'tls.key': serverCert.keyPem, 'ca.crt': meshCa.certPem });
    for (const f of ['tls.crt', 'tls.key', 'ca.crt']) symlinkSync(path.join('..data', f), path.join(secret, f));
    const a = await adapter('rotating', { mode: 'mtls', certFile: path.join(secret, 'tls.crt'), keyFile: path.join(secret, 'tls.key'), clientCaFile: path.join(secret, 'ca.crt') });

    let client = oldClient;
    const load = underLoad((n) => send(`${a.url}/events`, { ...binaryEvent(`ca-rot-${n}`), tls: tlsFor(client) }), () => (client === oldClient ? 'old' : 'new'));
    await sleep(300);
    // Step 1: both CAs trusted, and a new serving certificate, in one atomic swap.
    publish({ 'tls.crt': newServer.certPem, 'tls.key': newServer.keyPem, 'ca.crt': `${meshCa.certPem}${newCa.certPem}` });
    await reloaded(a, 1);
    await sleep(200);
    // Step 2: clients move to certificates of the new CA.
    client = newClient;
    await sleep(500);
    // Step 3: the old CA is retired.
    publish({ 'tls.crt': newServer.certPem, 'tls.key': newServer.keyPem, 'ca.crt': newCa.certPem });
    await reloaded(a, 2);
    await sleep(300);
    const { ok, failures } = await load.stop();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    await expect(send(`${a.url}/events`, { ...binaryEvent('ca-rot-retired'), tls: tlsFor(oldClient) })).rejects.toThrow();
    // The server now presents the new serving certificate.
    const served = await new Promise<string>((resolve, reject) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const tls = require('node:tls') as typeof import('node:tls');
      const s = tls.connect({ host: '127.0.0.1', port: a.port, ca: meshCa.certPem, cert: newClient.certPem, key: newClient.keyPem, servername: 'localhost' }, () => {
        resolve(s.getPeerCertificate().subject.CN as string);
        s.end();
      });
      s.on('error', reject);
    });
    expect(served).toBe('adapter-2');
  }, 60_000);

  it('a request in flight across a reload that withdraws its CA still completes (202)', async () => {
    const caFile = write('inflight-ca.crt', meshCa.certPem);
    const a = await adapter('inflight', { mode: 'mtls', certFile: path.join(dir, 'server.crt'), keyFile: path.join(dir, 'server.key'), clientCaFile: caFile });
    const client = await meshCa.issue({ commonName: 'inflight', usage: 'client' });
    const ev = binaryEvent('inflight-1');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const https = require('node:https') as typeof import('node:https');
    const answer = new Promise<number>((resolve, reject) => {
      const req = https.request(`${a.url}/events`, {
        method: 'POST', agent: false, ca: meshCa.certPem, cert: client.certPem, key: client.keyPem, servername: 'localhost',
        headers: { ...ev.headers, 'content-length': String(Buffer.byteLength(ev.body)) },
      }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      // Half the body now, the rest after the reload.
      req.write(ev.body.slice(0, 5));
      setTimeout(() => {
        replace(caFile, otherCa.certPem);
        const wait = async () => {
          for (let i = 0; i < 200 && a.reloads() < 1; i++) await sleep(25);
          req.end(ev.body.slice(5));
        };
        void wait();
      }, 100);
    });
    expect(await answer).toBe(202);
    expect(a.reloads()).toBe(1);
    // New connections with the withdrawn CA's certificate now fail.
    await expect(send(`${a.url}/events`, { ...binaryEvent('inflight-2'), tls: tlsFor(client) })).rejects.toThrow();
  }, 30_000);

  it('a half-written update (new certificate, old key) is not applied: the adapter keeps serving', async () => {
    const certFile = write('half.crt', serverCert.certPem);
    const keyFile = write('half.key', serverCert.keyPem);
    const a = await adapter('half', { mode: 'mtls', certFile, keyFile, clientCaFile: path.join(dir, 'ca.crt') });
    const other = await meshCa.issue({ commonName: 'adapter-3', dnsNames: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
    const half = await meshCa.issue({ commonName: 'half', usage: 'client' });
    replace(certFile, other.certPem);
    await sleep(400);
    expect(a.reloads()).toBe(0);
    expect((await send(`${a.url}/events`, { ...binaryEvent('half-1'), tls: tlsFor(half) })).status).toBe(202);
    replace(keyFile, other.keyPem);
    await reloaded(a, 1);
    expect(a.reloads()).toBe(1);
    expect((await send(`${a.url}/events`, { ...binaryEvent('half-2'), tls: tlsFor(half) })).status).toBe(202);
  }, 30_000);
});

describe('event-mesh adapter (process)', () => {
  it('mtls is the default and the start fails naming the missing file flags', async () => {
    const p = spawnCli(['adapter'], { APPLICATION_NAME: 'cliapp', NATS_URL: nats.url });
    expect(await p.exited()).toBe(2);
    expect(p.output()).toMatch(/--auth mtls \(the default\) needs --tls-cert-file, --tls-key-file, --client-ca-file/);
  }, 30_000);

  it('reads AUTH, TLS_CERT_FILE, TLS_KEY_FILE, CLIENT_CA_FILE and PROBE_PORT as the constructs set them', async () => {
    const [port, probePort] = [await freePort(), await freePort()];
    const client = await meshCa.issue({ commonName: 'cliapp', usage: 'client' });
    const p = spawnCli(['adapter'], {
      APPLICATION_NAME: 'cliapp', NATS_URL: nats.url, PORT: String(port), PROBE_PORT: String(probePort), HOST: '127.0.0.1', LOG_LEVEL: 'warn',
      AUTH: 'mtls', TLS_CERT_FILE: path.join(dir, 'server.crt'), TLS_KEY_FILE: path.join(dir, 'server.key'), CLIENT_CA_FILE: path.join(dir, 'ca.crt'),
    });
    try {
      let ready = false;
      for (let i = 0; i < 300 && !ready; i++) {
        ready = await send(`http://127.0.0.1:${probePort}/readyz`, { method: 'GET' }).then((r) => r.status === 200, () => false);
        if (!ready) await sleep(100);
      }
      expect(ready).toBe(true);
      expect((await send(`https://127.0.0.1:${port}/events`, { ...binaryEvent('cli-1'), tls: tlsFor(client) })).status).toBe(202);
      expect((await send(`https://127.0.0.1:${port}/events`, { ...binaryEvent('cli-2'), tls: tlsFor(clients.billing) })).status).toBe(403);
      await expect(send(`https://127.0.0.1:${port}/events`, { ...binaryEvent('cli-3'), tls: tlsFor() })).rejects.toThrow();
      p.kill('SIGTERM');
      expect(await p.exited()).toBe(0);
    } finally {
      p.kill('SIGKILL');
    }
  }, 60_000);
});

describe('what reaches the subscriber', () => {
  it('every accepted event of a routed application is delivered; no refused one ever is', async () => {
    // Only the routed applications' adapters are posted to with post().
    const expected = [...accepted];
    expect(expected.length).toBeGreaterThanOrEqual(7);
    await subscriber.waitFor((s) => expected.every((id) => s.acceptedIds().has(id)), 30_000);
    await sleep(1000);
    const delivered = [...subscriber.acceptedIds()];
    expect(refused.size).toBeGreaterThanOrEqual(10);
    expect(delivered.filter((id) => refused.has(id))).toEqual([]);
    expect(new Set(delivered)).toEqual(new Set(expected));
  }, 60_000);
});
