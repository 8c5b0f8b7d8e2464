/**
 * Delivery's HTTP side on its own: HttpSender against real node:http servers (each outcome,
 * the response body bound, 1xx responses, timeouts, refused connections, shutdown), and the
 * pure parts around it: where a Destination leads (resolveTarget, mapServiceUri,
 * localBroker), reading a reply (parseReply) and the heartbeat sweep.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BROKER_INGRESS_SERVICE } from '../../constructs/api';
import { HeartbeatSweep, heartbeatPeriodMs } from '../../runtime/dispatcher/delivery/heartbeats';
import { DeliveryAborted, HttpSender } from '../../runtime/dispatcher/delivery/http-sender';
import { parseReply } from '../../runtime/dispatcher/delivery/replies';
import { localBroker, mapServiceUri, resolveTarget } from '../../runtime/dispatcher/delivery/targets';
import { buildRoutingTable } from '../../runtime/dispatcher/routing/table';
import { freePort } from '../support/nats-server';
import { waitFor } from '../support/wait';

const ADDRESSING = { systemNamespace: 'event-mesh-system', integrationNamespace: 'kyma-integration', clusterDomain: 'cluster.local' };
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => {
    server.closeAllConnections();
    server.close(r);
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
function sender(options = {}): HttpSender {
  const s = new HttpSender(options);
  cleanups.push(() => s.close());
  return s;
}

describe('HttpSender', () => {
  it('POSTs the headers (with its user agent) and body to the path and query; the response is the outcome', async () => {
    let seen: { method?: string; url?: string; ua?: string; ce?: string; body?: string } = {};
    const url = await serve((req, res, body) => {
      seen = { method: req.method, url: req.url, ua: req.headers['user-agent'], ce: req.headers['ce-id'] as string, body };
      res.writeHead(202, { 'retry-after': '7', 'x-a': 'b' }).end('ok');
    });
    const r = await sender().post(`${url}/p/q?x=1`, { headers: { 'ce-id': '1' }, body: '{"a":1}' }, 2000);
    expect(seen).toEqual({ method: 'POST', url: '/p/q?x=1', ua: 'event-mesh-dispatcher', ce: '1', body: '{"a":1}' });
    expect(r.outcome).toEqual({ kind: 'response', status: 202, retryAfter: '7' });
    expect([r.headers?.['x-a'], r.body?.toString(), r.truncated]).toEqual(['b', 'ok', false]);
    const custom = await sender({ userAgent: 'me' }).post(`${url}`, { headers: {}, body: undefined }, 2000);
    expect([seen.ua, seen.url, custom.body?.length]).toEqual(['me', '/', 2]);
  });

  it('an empty body is an empty buffer; a body in several chunks is joined', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/empty') return void res.writeHead(200).end();
      res.writeHead(200);
      res.write('a'.repeat(10));
      setTimeout(() => res.end('b'.repeat(10)), 20);
    });
    const s = sender();
    const empty = await s.post(`${url}/empty`, { headers: {}, body: undefined }, 2000);
    expect([empty.body?.length, Buffer.isBuffer(empty.body)]).toEqual([0, true]);
    const joined = await s.post(`${url}/chunks`, { headers: {}, body: undefined }, 2000);
    expect(joined.body?.toString()).toBe(`${'a'.repeat(10)}${'b'.repeat(10)}`);
  });

  it('a body at maxResponseBytes is whole; one byte more is cut to the limit and marked truncated', async () => {
    const url = await serve((req, res) => {
      const n = Number(req.url!.slice(1));
      res.writeHead(200);
      res.write('x'.repeat(Math.min(n, 6)));
      setTimeout(() => res.end('y'.repeat(Math.max(0, n - 6))), 20);
    });
    const s = sender({ maxResponseBytes: 10 });
    const at = await s.post(`${url}/10`, { headers: {}, body: undefined }, 2000);
    expect([at.body?.toString(), at.truncated]).toEqual(['xxxxxxyyyy', false]);
    const over = await s.post(`${url}/11`, { headers: {}, body: undefined }, 2000);
    expect([over.body?.toString(), over.truncated, over.outcome]).toEqual(['xxxxxxyyyy', true, { kind: 'response', status: 200, retryAfter: undefined }]);
  });

  it('a 1xx before the response is skipped', async () => {
    const url = await serve((_req, res) => {
      res.writeProcessing();
      res.writeHead(201).end();
    });
    expect((await sender().post(url, { headers: {}, body: 'x' }, 2000)).outcome).toEqual({ kind: 'response', status: 201, retryAfter: undefined });
  });

  it('no answer within the attempt timeout is a timeout; a headers timeout from undici too', async () => {
    const url = await serve(() => undefined);
    const t0 = Date.now();
    expect((await sender().post(url, { headers: {}, body: 'x' }, 300)).outcome).toEqual({ kind: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(2000);
    // The server sends headers, then stalls the body: still a timeout.
    const stall = await serve((_req, res) => {
      res.writeHead(200);
      res.write('x');
    });
    expect((await sender().post(stall, { headers: {}, body: 'x' }, 300)).outcome).toEqual({ kind: 'timeout' });
  });

  it('a refused connection is a network outcome naming the code once; an unparsable URL too', async () => {
    const port = await freePort();
    const r = await sender().post(`http://127.0.0.1:${port}/`, { headers: {}, body: 'x' }, 2000);
    expect(r.outcome.kind).toBe('network');
    const message = (r.outcome as { message: string }).message;
    expect(message).toContain('ECONNREFUSED');
    expect(message.split('ECONNREFUSED')).toHaveLength(2);
    // A code not already in the message is put in front of it.
    const closing = await serve((req) => req.socket.destroy());
    expect((await sender().post(closing, { headers: {}, body: 'x' }, 2000)).outcome).toEqual({ kind: 'network', message: 'UND_ERR_SOCKET other side closed' });
    const bad = await sender().post('not a url', { headers: {}, body: 'x' }, 2000);
    expect(bad.outcome.kind).toBe('network');
    expect((bad.outcome as { message: string }).message).toMatch(/Invalid URL/);
  });

  it('shutdown: an aborted signal rejects with DeliveryAborted before sending, and aborts attempts in flight', async () => {
    let requests = 0;
    const url = await serve(() => void requests++);
    const s = sender();
    const done = new AbortController();
    done.abort();
    await expect(s.post(url, { headers: {}, body: 'x' }, 2000, done.signal)).rejects.toBeInstanceOf(DeliveryAborted);
    const stop = new AbortController();
    const inFlight = [s.post(url, { headers: {}, body: 'x' }, 5000, stop.signal), s.post(`${url}/2`, { headers: {}, body: 'x' }, 5000, stop.signal)];
    await new Promise((r) => setTimeout(r, 100));
    stop.abort();
    const results = await Promise.allSettled(inFlight);
    expect(results.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    expect(results.map((x) => (x as PromiseRejectedResult).reason)).toEqual([expect.any(DeliveryAborted), expect.any(DeliveryAborted)]);
    expect([(results[0] as PromiseRejectedResult).reason.message, (results[0] as PromiseRejectedResult).reason.name]).toEqual(['delivery aborted', 'DeliveryAborted']);
    expect(requests).toBe(2);
    // An attempt that settled is not aborted later: the same signal's next attempt works.
    const live = new AbortController();
    const okUrl = await serve((_req, res) => void res.writeHead(200).end());
    expect((await s.post(okUrl, { headers: {}, body: 'x' }, 2000, live.signal)).outcome.kind).toBe('response');
    live.abort();
    expect((await s.post(okUrl, { headers: {}, body: 'x' }, 2000)).outcome.kind).toBe('response');
  });

  it('close() lets an attempt in flight finish, then ends the kept-alive connections; a second close() resolves too', async () => {
    const server = createServer((req, res) => {
      req.resume();
      if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('late'), 150);
      res.writeHead(200).end();
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => {
      server.closeAllConnections();
      server.close(r);
    }));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const open = () => new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    const s = sender();
    expect((await s.post(`${url}/fast`, { headers: {}, body: 'x' }, 2000)).outcome).toEqual({ kind: 'response', status: 200 });
    expect(await open()).toBe(1); // kept alive for the next attempt
    const inFlight = s.post(`${url}/slow`, { headers: {}, body: 'x' }, 2000);
    await new Promise((r) => setTimeout(r, 50));
    let closed = false;
    const closing = s.close().then(() => (closed = true));
    const r = await inFlight;
    expect([r.outcome, r.body?.toString()]).toEqual([{ kind: 'response', status: 200 }, 'late']);
    await closing;
    expect(closed).toBe(true);
    await waitFor(async () => (await open()) === 0, 2000, 'the sender to close its kept-alive connection');
    await expect(s.close()).resolves.toBeUndefined();
  });

  it('connectionsPerOrigin bounds the connections; the attempt timeout also covers waiting for one', async () => {
    let open = 0;
    let most = 0;
    const url = await serve((req, res) => {
      if (req.url === '/hang') return;
      setTimeout(() => res.writeHead(200).end(), 100);
    });
    const s = sender({ connectionsPerOrigin: 1 });
    const agent = (s as unknown as { agent: { on(e: string, f: () => void): void } }).agent;
    agent.on('connect', () => (most = Math.max(most, ++open)));
    agent.on('disconnect', () => void open--);
    const both = await Promise.all([s.post(`${url}/a`, { headers: {}, body: 'x' }, 2000), s.post(`${url}/b`, { headers: {}, body: 'x' }, 2000)]);
    expect(both.map((r) => r.outcome.kind)).toEqual(['response', 'response']);
    expect(most).toBe(1);
    // The only connection is held by a request that never gets an answer: the next attempt
    // times out after its own timeout, not after the first one's.
    const held = s.post(`${url}/hang`, { headers: {}, body: 'x' }, 3000);
    const t0 = Date.now();
    expect((await s.post(`${url}/a`, { headers: {}, body: 'x' }, 300)).outcome).toEqual({ kind: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(1500);
    expect((await held).outcome).toEqual({ kind: 'timeout' });
    // A settled attempt leaves nothing behind on its signal.
    const signal = new AbortController().signal;
    await s.post(`${url}/a`, { headers: {}, body: 'x' }, 2000, signal);
    expect((s as unknown as { bySignal: WeakMap<AbortSignal, Set<unknown>> }).bySignal.get(signal)?.size).toBe(0);
  });

  it('the URL cache is bounded and each URL still reaches its own path', async () => {
    const paths: string[] = [];
    const url = await serve((req, res) => {
      paths.push(req.url!);
      res.writeHead(200).end();
    });
    const s = sender();
    for (let i = 0; i < 1030; i++) await s.post(`${url}/u${i}`, { headers: {}, body: undefined }, 2000);
    await s.post(`${url}/u0`, { headers: {}, body: undefined }, 2000);
    await s.post(`${url}/u1029`, { headers: {}, body: undefined }, 2000);
    expect(paths.slice(0, 2)).toEqual(['/u0', '/u1']);
    expect(paths.slice(-3)).toEqual(['/u1029', '/u0', '/u1029']);
    expect((s as unknown as { urls: Map<string, unknown> }).urls.size).toBeLessThanOrEqual(1024);
  });
});

describe('resolveTarget, mapServiceUri, localBroker', () => {
  const table = buildRoutingTable([{ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} }]).table;
  const ingress = `${BROKER_INGRESS_SERVICE}.event-mesh-system`;

  it('a Broker this dispatcher serves is reached in process; other brokers, Services and URIs by HTTP', () => {
    expect(resolveTarget({ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } }, 'shop', table, { addressing: ADDRESSING })).toEqual({
      kind: 'broker',
      namespace: 'shop',
      broker: 'default',
      label: `http://${ingress}.svc.cluster.local/shop/default`,
    });
    expect(resolveTarget({ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'other' } }, 'shop', table, { addressing: ADDRESSING }).kind).toBe('http');
    expect(resolveTarget({ uri: 'https://example.com/x' }, 'shop', table, { addressing: ADDRESSING })).toEqual({ kind: 'http', url: 'https://example.com/x', label: 'https://example.com/x' });
  });

  it('an unaddressable destination is unresolvable, labelled by its ref or uri', () => {
    const ref = resolveTarget({ ref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'c' } }, 'shop', table, { addressing: ADDRESSING });
    expect(ref).toEqual({ kind: 'unresolvable', message: expect.stringMatching(/^cannot address a ConfigMap \(v1\)/), label: 'ConfigMap/c' });
    expect(resolveTarget({}, 'shop', table, { addressing: ADDRESSING })).toEqual({ kind: 'unresolvable', message: 'destination has neither ref nor uri', label: 'undefined' });
  });

  it('localBroker: the ingress Service by any of its names, port 80 or none, /<ns>/<broker>[/] of a served broker', () => {
    for (const host of [ingress, `${ingress}.svc`, `${ingress}.svc.cluster.local`, `${ingress}.svc.cluster.local:80`]) {
      expect([host, localBroker(`http://${host}/shop/default`, table, ADDRESSING)]).toEqual([host, { namespace: 'shop', broker: 'default' }]);
    }
    expect(localBroker(`http://${ingress}/shop/default/`, table, ADDRESSING)).toEqual({ namespace: 'shop', broker: 'default' });
    for (const url of [`http://${ingress}:8080/shop/default`, `http://${ingress}.svc.other.domain/shop/default`, `http://x${ingress}/shop/default`, `http://${ingress}/shop/other`, `http://${ingress}/x/shop/default`, `http://${ingress}/shop/default/x`, `http://${ingress}/shop`, 'not a url']) {
      expect([url, localBroker(url, table, ADDRESSING)]).toEqual([url, undefined]);
    }
  });

  it('mapServiceUri: a cluster Service URI with an override goes to the override, keeping path and query', () => {
    const overrides = new Map([['fn.shop', 'http://127.0.0.1:3000'], ['api.shop', 'http://127.0.0.1:4000/base/'], ['old.shop', 'http://127.0.0.1:5000/base']]);
    expect(mapServiceUri('http://fn.shop.svc.cluster.local/', overrides, ADDRESSING)).toBe('http://127.0.0.1:3000');
    expect(mapServiceUri('http://fn.shop.svc/a/b?c=1', overrides, ADDRESSING)).toBe('http://127.0.0.1:3000/a/b?c=1');
    expect(mapServiceUri('http://api.shop.svc.cluster.local:8080/v1', overrides, ADDRESSING)).toBe('http://127.0.0.1:4000/base/v1');
    // An override path without a trailing slash is still a base the URI's path goes under.
    expect(mapServiceUri('http://old.shop.svc/v1', overrides, ADDRESSING)).toBe('http://127.0.0.1:5000/base/v1');
    for (const url of ['http://fn.shop.svc.other.domain/', 'http://fn.other.svc/', 'http://fn.shop/', 'http://x.fn.shop.svc/', 'http://Fn_.shop.svc/', 'nope']) {
      expect([url, mapServiceUri(url, overrides, ADDRESSING)]).toEqual([url, undefined]);
    }
    // Through resolveTarget: the override is the URL and its label.
    const t = resolveTarget({ uri: 'http://fn.shop.svc.cluster.local/hook' }, 'shop', table, { addressing: ADDRESSING, serviceOverrides: overrides });
    expect(t).toEqual({ kind: 'http', url: 'http://127.0.0.1:3000/hook', label: 'http://127.0.0.1:3000/hook' });
  });
});

describe('parseReply', () => {
  const ev = { 'ce-specversion': '1.0', 'ce-id': 'r1', 'ce-source': '/fn', 'ce-type': 'reply' };
  it('no headers, or a response that is not an event: no reply', () => {
    expect(parseReply(undefined, Buffer.from('x'))).toEqual({ kind: 'none' });
    expect(parseReply({ 'content-type': 'application/json' }, Buffer.from('{}'))).toEqual({ kind: 'none' });
    expect(parseReply({ 'content-type': 'text/application/cloudevents+json' }, Buffer.from('{}'))).toEqual({ kind: 'none' });
    expect(parseReply({}, undefined)).toEqual({ kind: 'none' });
  });
  it('binary or structured (any case): the events; invalid or cut: invalid with the reason', () => {
    expect(parseReply(ev, undefined)).toEqual({ kind: 'events', events: [{ specversion: '1.0', id: 'r1', source: '/fn', type: 'reply' }] });
    const structured = parseReply({ 'content-type': 'Application/CloudEvents+JSON' }, Buffer.from(JSON.stringify({ specversion: '1.0', id: 's', source: '/fn', type: 'reply' })));
    expect(structured).toEqual({ kind: 'events', events: [{ specversion: '1.0', id: 's', source: '/fn', type: 'reply' }] });
    expect(parseReply(ev, Buffer.from('{}'), true)).toEqual({ kind: 'invalid', message: 'the reply body is larger than the dispatcher accepts' });
    expect(parseReply({ 'content-type': 'text/plain' }, Buffer.from('x'), true)).toEqual({ kind: 'none' });
    const invalid = parseReply({ ...ev, 'ce-source': 'a b' }, undefined);
    expect(invalid).toEqual({ kind: 'invalid', message: expect.stringMatching(/^source must be a URI-reference/) });
  });
});

describe('HeartbeatSweep', () => {
  it('beats each delivery due (started or last beaten periodMs ago), once per sweep, and survives a failing beat', () => {
    const beaten: string[] = [];
    const sweep = new HeartbeatSweep<string>(100, (item) => {
      beaten.push(item);
      if (item === 'bad') throw new Error('x');
    }, () => 0);
    sweep.add('a', 0);
    sweep.add('bad', 0);
    sweep.add('b', 50);
    expect(sweep.sweep(99)).toBe(0);
    expect(sweep.sweep(100)).toBe(2);
    expect(beaten).toEqual(['a', 'bad']);
    expect(sweep.sweep(150)).toBe(1);
    sweep.delete('a');
    expect([sweep.size, sweep.sweep(1000)]).toEqual([2, 2]);
  });

  it('start() runs one interval (a second start adds none), stop() ends it', async () => {
    let beats = 0;
    const sweep = new HeartbeatSweep<string>(30, () => void beats++);
    sweep.add('a', 0);
    sweep.start();
    sweep.start();
    await new Promise((r) => setTimeout(r, 100));
    sweep.stop();
    const atStop = beats;
    expect(atStop).toBeGreaterThanOrEqual(1);
    expect(atStop).toBeLessThanOrEqual(4);
    await new Promise((r) => setTimeout(r, 100));
    expect(beats).toBe(atStop);
    // Started again after stop, it beats again.
    sweep.start();
    await new Promise((r) => setTimeout(r, 80));
    sweep.stop();
    expect(beats).toBeGreaterThan(atStop);
  });

  it('the period is ackWait / 6, at least 50 ms', () => {
    expect([heartbeatPeriodMs(60_000), heartbeatPeriodMs(600), heartbeatPeriodMs(299), heartbeatPeriodMs(0)]).toEqual([10_000, 100, 50, 50]);
  });
});
