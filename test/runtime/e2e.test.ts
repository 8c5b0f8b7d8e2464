/**
 * End to end over a real nats-server: the ingress engineer's adapter -> application
 * channel -> Subscription -> broker -> Triggers -> real HTTP subscribers. The dispatcher runs
 * in process for the routing checks and as a real child process (`node …/cli.js
 * dispatcher`) for the crash (SIGKILL) and graceful shutdown (SIGTERM) checks.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents';
import { stringify } from 'yaml';
import { startAdapter } from '../../runtime/adapter';
import type { AdapterHandle } from '../../runtime/adapter';
import { JetStreamChannel } from '../../runtime/channel/jetstream';
import { startDispatcher } from '../../runtime/dispatcher';
import { silentLogger } from '../../runtime/observability';
import { builtCli, spawnCli } from '../support/cli-process';
import type { CliProcess } from '../support/cli-process';
import { delayed, startSubscriber } from '../support/http-subscriber';
import type { Subscriber } from '../support/http-subscriber';
import { startNatsServer } from '../support/nats-server';
import type { NatsServerHandle } from '../support/nats-server';

const INTEGRATION = 'kyma-integration';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function routing(app: string, ns: string, triggers: { name: string; url: string; filter?: Record<string, string>; annotations?: Record<string, string> }[]) {
  const docs = [
    { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: app, namespace: INTEGRATION } },
    {
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'Subscription',
      metadata: { name: `${app}-${ns}-default`, namespace: INTEGRATION, annotations: { 'event-mesh.dev/delivery.max-in-flight': '200' } },
      spec: {
        channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: app },
        subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: ns } },
      },
    },
    {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      metadata: { name: 'default', namespace: ns, annotations: { 'eventing.knative.dev/broker.class': 'EventMeshBroker' } },
      spec: { delivery: { retry: 5, backoffPolicy: 'linear', backoffDelay: 'PT0.05S' } },
    },
    ...triggers.map((t) => ({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: t.name, namespace: ns, ...(t.annotations ? { annotations: t.annotations } : {}) },
      spec: { broker: 'default', ...(t.filter ? { filter: { attributes: t.filter } } : {}), subscriber: { uri: t.url } },
    })),
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

describe('end to end over JetStream', () => {
  let nats: NatsServerHandle;
  let dir: string;
  const subs: Subscriber[] = [];
  const adapters: AdapterHandle[] = [];
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    builtCli(); // compile once up front when lib/ is stale
  }, 120_000);
  afterAll(async () => {
    await nats?.stop();
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'e2e-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) p.kill('SIGKILL');
    await Promise.all(adapters.splice(0).map((a) => a.close()));
    await Promise.all(subs.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const sub = async (...args: Parameters<typeof startSubscriber>) => {
    const s = await startSubscriber(...args);
    subs.push(s);
    return s;
  };
  const adapter = async (app: string) => {
    const a = await startAdapter(
      { application: app, port: 0, host: '127.0.0.1', shutdownGraceMs: 1000, channel: { kind: 'nats', natsUrl: nats.url }, auth: { mode: 'none' } },
      { logger: silentLogger() },
    );
    adapters.push(a);
    return a;
  };
  const dispatcherProcess = async (extraEnv: Record<string, string> = {}) => {
    const p = spawnCli(['dispatcher', '--routing', dir, '--port', '0', '--host', '127.0.0.1'], {
      NATS_URL: nats.url,
      ACK_WAIT: '2s',
      SHUTDOWN_GRACE: '5s',
      ...extraEnv,
    });
    procs.push(p);
    await p.waitForOutput(/"msg":"dispatcher listening"/);
    return p;
  };

  it('binary, structured, batched and legacy events reach exactly the matching subscribers', async () => {
    const created = await sub();
    const legacy = await sub();
    const all = await sub();
    const none = await sub();
    writeFileSync(
      path.join(dir, 'routing.yaml'),
      routing('shop-app', 'e2e-a', [
        { name: 'created', url: created.url, filter: { type: 'order.created', source: 'shop-app' } },
        { name: 'legacy', url: legacy.url, filter: { eventtypeversion: 'v1' } },
        { name: 'all', url: all.url },
        { name: 'none', url: none.url, filter: { type: 'never.sent' } },
      ]),
    );
    const channel = new JetStreamChannel({ servers: nats.url });
    const d = await startDispatcher({ port: 0, host: '127.0.0.1', routingDir: dir, ackWaitMs: 2000, shutdownGraceMs: 1000 }, { channel, ownsChannel: true });
    try {
      const app = await adapter('shop-app');
      const events = `${app.url}/events`;
      await emitterFor(httpTransport(events), { mode: Mode.BINARY })(new CloudEvent({ type: 'order.created', source: '/x', data: { mode: 'binary' } }));
      await emitterFor(httpTransport(events), { mode: Mode.STRUCTURED })(new CloudEvent({ type: 'order.created', source: '/x', data: { mode: 'structured' } }));
      const batch = [new CloudEvent({ type: 'order.created', source: '/x', data: { mode: 'batch' } }), new CloudEvent({ type: 'order.shipped', source: '/x', data: { mode: 'batch' } })];
      const res = await fetch(events, { method: 'POST', headers: { 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify(batch.map((e) => e.toJSON())) });
      expect(res.status).toBeLessThan(300);
      const legacyRes = await fetch(`${app.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ 'event-type': 'order.cancelled', 'event-type-version': 'v1', 'event-time': new Date().toISOString(), data: { mode: 'legacy' } }),
      });
      expect(legacyRes.status).toBe(200);

      await all.waitFor((s) => s.accepted.length === 5);
      await created.waitFor((s) => s.accepted.length === 3);
      await legacy.waitFor((s) => s.accepted.length === 1);
      await sleep(300);
      expect(created.accepted.map((r) => (r.event?.data as { mode: string }).mode).sort()).toEqual(['batch', 'binary', 'structured']);
      expect(created.accepted.every((r) => r.event?.source === 'shop-app')).toBe(true);
      expect(legacy.accepted.map((r) => [r.event?.type, r.event?.eventtypeversion, (r.event?.data as { mode: string }).mode])).toEqual([['order.cancelled', 'v1', 'legacy']]);
      expect(all.requests).toHaveLength(5);
      expect(none.requests).toHaveLength(0);
    } finally {
      await d.close(500);
    }
  });

  it('SIGKILL in the middle of 10,000 events: after a restart every event the adapter accepted is delivered', async () => {
    // The subscriber takes 20-50 ms per event, so at the kill up to max-in-flight (200)
    // deliveries are under way: a dispatcher that acked before delivering would lose them.
    const target = await sub({ behavior: () => ({ status: 200, delayMs: 20 + Math.floor(Math.random() * 31) }) });
    writeFileSync(
      path.join(dir, 'routing.yaml'),
      routing('bulk', 'e2e-kill', [{ name: 'everything', url: target.url, annotations: { 'event-mesh.dev/delivery.max-in-flight': '200' } }]),
    );
    let dispatcher = await dispatcherProcess();
    const app = await adapter('bulk');
    const accepted = new Set<string>();
    let next = 0;
    let killed = false;
    const TOTAL = 10_000;
    const sender = async () => {
      while (next < TOTAL) {
        const id = `ev-${next++}`;
        for (let attempt = 0; attempt < 5; attempt++) {
          const res = await fetch(`${app.url}/events`, {
            method: 'POST',
            headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': 'bulk', 'ce-type': 'bulk.test', 'content-type': 'application/json' },
            body: '{"n":1}',
          }).catch(() => undefined);
          if (res) await res.arrayBuffer();
          if (res && res.status < 300) {
            accepted.add(id);
            break;
          }
        }
      }
    };
    const sending = Promise.all(Array.from({ length: 32 }, sender));
    // Kill once deliveries are flowing, with plenty still in flight and still to come.
    await target.waitFor((s) => s.accepted.length >= 1500, 60_000);
    dispatcher.kill('SIGKILL');
    killed = true;
    expect(await dispatcher.exited()).toBe('SIGKILL');
    const deliveredAtKill = target.acceptedIds().size;
    await sleep(300);
    dispatcher = await dispatcherProcess();
    await sending;
    expect(killed).toBe(true);
    expect(deliveredAtKill).toBeLessThan(TOTAL);
    expect(accepted.size).toBe(TOTAL);
    await target.waitFor((s) => {
      const got = s.acceptedIds();
      for (const id of accepted) if (!got.has(id)) return false;
      return true;
    }, 120_000);
    const got = target.acceptedIds();
    expect([...accepted].filter((id) => !got.has(id))).toEqual([]);
    // At least once: duplicates are allowed, losses are not.
    expect(target.accepted.length).toBeGreaterThanOrEqual(TOTAL);
  }, 240_000);

  it('SIGTERM: in-flight deliveries finish, the process exits 0, nothing is redelivered', async () => {
    const slow = await sub({ behavior: delayed(1500) });
    writeFileSync(path.join(dir, 'routing.yaml'), routing('graceful', 'e2e-term', [{ name: 'slow', url: slow.url }]));
    let dispatcher = await dispatcherProcess({ ACK_WAIT: '1s' });
    const app = await adapter('graceful');
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${app.url}/events`, { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': `g-${i}`, 'ce-source': 'graceful', 'ce-type': 't' } });
      expect(res.status).toBeLessThan(300);
    }
    await slow.waitFor((s) => s.requests.length === 5, 10_000);
    const t0 = Date.now();
    dispatcher.kill('SIGTERM');
    expect(await dispatcher.exited()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(dispatcher.output()).toMatch(/dispatcher stopped/);
    expect(slow.accepted.map((r) => r.event?.id).sort()).toEqual(['g-0', 'g-1', 'g-2', 'g-3', 'g-4']);
    // They were acked: a new dispatcher does not deliver them again.
    dispatcher = await dispatcherProcess({ ACK_WAIT: '1s' });
    await sleep(2500);
    expect(slow.requests).toHaveLength(5);
    dispatcher.kill('SIGTERM');
    expect(await dispatcher.exited()).toBe(0);
  }, 40_000);
});
