/**
 * The dispatcher taking its routing from the cluster (`--routing cluster`): against the
 * stand-in API server and a real nats-server, a Trigger created after start receives
 * matching events without a restart, a deleted one stops receiving and its durable
 * consumer is removed from JetStream, an older-version Trigger routes as v1. Once in
 * process (ClusterRoutingSource), once as the real `event-mesh dispatcher` process reading
 * a kubeconfig through @kubernetes/client-node.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudEvent, HTTP } from 'cloudevents';
import { stringify } from 'yaml';
import { brokerFanOutConsumer, brokerRetryTopic, brokerTopic, triggerRetryConsumer } from '../../constructs/api';
import { JetStreamChannel } from '../../runtime/channel/jetstream';
import { startDispatcher } from '../../runtime/dispatcher';
import type { Dispatcher } from '../../runtime/dispatcher';
import { ClusterRoutingSource } from '../../runtime/dispatcher/routing';
import type { ManifestObject } from '../../runtime/dispatcher/routing';
import { createKubeClient, DISPATCHER_KUBE_VERBS, KINDS } from '../../runtime/kube';
import type { KubeClient } from '../../runtime/kube';
import { spawnCli } from '../support/cli-process';
import { startSubscriber } from '../support/http-subscriber';
import type { Subscriber } from '../support/http-subscriber';
import { startKubeApiServer } from '../support/kube-api-server';
import type { KubeApiServerHandle } from '../support/kube-api-server';
import { startNatsServer } from '../support/nats-server';
import type { NatsServerHandle } from '../support/nats-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const broker = (ns: string): ManifestObject => ({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: ns } });
const trigger = (ns: string, name: string, url: string, type?: string, apiVersion = 'eventing.knative.dev/v1'): ManifestObject =>
  ({ apiVersion, kind: 'Trigger', metadata: { name, namespace: ns }, spec: { broker: 'default', ...(type ? { filter: { attributes: { type } } } : {}), subscriber: { uri: url } } }) as ManifestObject;

function post(base: string, ns: string, ev: CloudEvent<unknown>) {
  const msg = HTTP.binary(ev);
  return fetch(`${base}/${ns}/default`, { method: 'POST', headers: msg.headers as Record<string, string>, body: msg.body as string });
}
const event = (type: string) => new CloudEvent({ type, source: '/test', data: { n: 1 } });

let api: KubeApiServerHandle;
let nats: NatsServerHandle;
let kubectl: KubeClient;
const subs: Subscriber[] = [];
const sub = async () => {
  const s = await startSubscriber();
  subs.push(s);
  return s;
};

beforeAll(async () => {
  api = await startKubeApiServer();
  nats = await startNatsServer();
  kubectl = createKubeClient({ server: api.url });
});
afterAll(async () => {
  await Promise.all(subs.map((s) => s.close()));
  await kubectl.close();
  await nats.stop();
  await api.close();
});

describe('dispatcher routing from the cluster (in process)', () => {
  let d: Dispatcher;
  let channel: JetStreamChannel;
  /** A fan-out Trigger is live: its broker's fan-out consumer and its own consumer of parked events exist. */
  async function triggerConsumersExist(namespace: string, name: string): Promise<boolean> {
    return (await channel.consumerExists(brokerTopic(namespace, 'default'), brokerFanOutConsumer(namespace, 'default'))) && (await channel.consumerExists(brokerRetryTopic(namespace, 'default'), triggerRetryConsumer(namespace, name)));
  }
  let client: KubeClient;
  const NS = 'cluster-a';
  beforeAll(async () => {
    await kubectl.apply(broker(NS), 'kubectl');
    channel = new JetStreamChannel({ servers: nats.url });
    client = createKubeClient({ server: api.url, initialBackoffMs: 50 });
    d = await startDispatcher(
      { port: 0, host: '127.0.0.1', routingSource: ClusterRoutingSource.factory(client, { debounceMs: 20 }), ackWaitMs: 2000, shutdownGraceMs: 1000 },
      { channel, ownsChannel: true },
    );
    await until(() => d.ready(), 20_000, 'the dispatcher to be ready');
  });
  afterAll(async () => {
    await d.close(0);
    await client.close();
  });

  it('a Trigger created after start receives matching events; deleting it stops delivery and removes its durable consumer', async () => {
    const control = await sub();
    const orders = await sub();
    await kubectl.apply(trigger(NS, 'control', control.url), 'kubectl');
    await until(() => d.table().triggers.has(`${NS}/control`), 10_000, 'the control Trigger to be routed');
    expect(d.table().triggers.has(`${NS}/orders`)).toBe(false);

    // Created at runtime with "kubectl apply": routed without a restart.
    await kubectl.apply(trigger(NS, 'orders', orders.url, 'order.created'), 'kubectl');
    await until(() => d.table().triggers.has(`${NS}/orders`), 10_000, 'the new Trigger to be routed');
    await until(() => triggerConsumersExist(NS, 'orders'), 10_000, 'its durable consumer');
    expect((await post(d.url, NS, event('order.created'))).status).toBe(202);
    expect((await post(d.url, NS, event('order.cancelled'))).status).toBe(202);
    await orders.waitFor((s) => s.accepted.length === 1, 10_000);
    await control.waitFor((s) => s.accepted.length === 2, 10_000);
    expect(orders.accepted.map((r) => r.event?.type)).toEqual(['order.created']);

    // Deleted: no more deliveries, and the durable consumer is gone from JetStream.
    await kubectl.delete(KINDS.trigger, { ...KINDS.trigger, namespace: NS, name: 'orders' });
    await until(() => !d.table().triggers.has(`${NS}/orders`), 10_000, 'the Trigger to leave the routing');
    await until(async () => !(await triggerConsumersExist(NS, 'orders')), 10_000, 'the durable consumer to be removed');
    expect((await post(d.url, NS, event('order.created'))).status).toBe(202);
    await control.waitFor((s) => s.accepted.length === 3, 10_000);
    await sleep(300);
    expect(orders.accepted).toHaveLength(1);
    expect(await triggerConsumersExist(NS, 'control')).toBe(true);
    // Read-only: exactly the verbs declared for the dispatcher's role.
    expect(client.used()).toEqual(DISPATCHER_KUBE_VERBS);
  }, 60_000);

  it('a v1alpha1 Trigger applied to the cluster routes as v1', async () => {
    const old = await sub();
    await kubectl.apply(trigger(NS, 'old', old.url, 'user.created', 'eventing.knative.dev/v1alpha1'), 'kubectl');
    await until(() => d.table().triggers.has(`${NS}/old`), 10_000, 'the v1alpha1 Trigger to be routed');
    await until(() => triggerConsumersExist(NS, 'old'), 10_000, 'its durable consumer');
    expect((await post(d.url, NS, event('user.created'))).status).toBe(202);
    await old.waitFor((s) => s.accepted.length === 1, 10_000);
  }, 30_000);

  it('a Trigger whose Broker is missing is reported as a routing problem, and routed once the Broker appears', async () => {
    const late = await sub();
    await kubectl.apply(trigger('cluster-late', 'late', late.url), 'kubectl');
    await until(() => d.problems().some((p) => p.name === 'late'), 10_000, 'the routing problem');
    expect(d.problems().find((p) => p.name === 'late')?.message).toMatch(/Broker "default" not found in namespace "cluster-late"/);
    await kubectl.apply(broker('cluster-late'), 'kubectl');
    await until(() => d.table().triggers.has('cluster-late/late'), 10_000, 'the Trigger to be routed');
    await until(() => triggerConsumersExist('cluster-late', 'late'), 10_000, 'its durable consumer');
    expect((await post(d.url, 'cluster-late', event('x'))).status).toBe(202);
    await late.waitFor((s) => s.accepted.length === 1, 10_000);
  }, 30_000);

  it('survives the API server forgetting its history (410 Gone): it relists and keeps routing', async () => {
    const after = await sub();
    const lists = () => api.requests.filter((r) => r.verb === 'list' && r.resource === 'triggers').length;
    const listsBefore = lists();
    // Made while the dispatcher's watches are down, then the history is compacted away.
    await api.disconnected(async () => {
      await kubectl.apply(trigger(NS, 'after-compaction', after.url, 'after'), 'kubectl');
    }, { compact: true });
    await until(() => lists() > listsBefore, 10_000, 'the relist after 410 Gone');
    await until(() => d.table().triggers.has(`${NS}/after-compaction`), 10_000, 'the Trigger to be routed after the relist');
    await until(() => triggerConsumersExist(NS, 'after-compaction'), 10_000, 'its durable consumer');
    expect((await post(d.url, NS, event('after'))).status).toBe(202);
    await after.waitFor((s) => s.accepted.length === 1, 10_000);
  }, 30_000);
});

describe('event-mesh dispatcher --routing cluster (a real process, kubeconfig through @kubernetes/client-node)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kubeconfig-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('routes a Trigger created after start and stops on delete, without a restart', async () => {
    const NS = 'cluster-cli';
    const kubeconfig = path.join(dir, 'config');
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'stand-in', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'test', user: { token: 'not-checked-by-the-stand-in' } }],
        contexts: [{ name: 'test', context: { cluster: 'stand-in', user: 'test' } }],
        'current-context': 'test',
      }),
    );
    await kubectl.apply(broker(NS), 'kubectl');
    const fn = await sub();
    // KUBECONFIG as kubectl takes it: a list of files, missing ones skipped.
    const proc = spawnCli(['dispatcher', '--routing', 'cluster', '--port', '0', '--host', '127.0.0.1', '--nats-url', nats.url, '--shutdown-grace', '1s'], {
      LOG_LEVEL: 'info',
      KUBECONFIG: [path.join(dir, 'missing'), kubeconfig].join(path.delimiter),
    });
    try {
      const m = await proc.waitForOutput(/"port":(\d+)[^\n]*dispatcher listening/, 120_000);
      const base = `http://127.0.0.1:${m[1]}`;
      await until(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, 30_000, 'readyz');
      await kubectl.apply(trigger(NS, 'fn', fn.url, 'user.created'), 'kubectl');
      await proc.waitForOutput(/"route":"cluster-cli\/fn"[^\n]*consumer started/, 20_000);
      await proc.waitForOutput(/"broker":"cluster-cli\/default"[^\n]*fan-out stage started/, 20_000);
      expect((await post(base, NS, event('user.created'))).status).toBe(202);
      await fn.waitFor((s) => s.accepted.length === 1, 10_000);

      await kubectl.delete(KINDS.trigger, { ...KINDS.trigger, namespace: NS, name: 'fn' });
      await proc.waitForOutput(/"consumer":"retry\.cluster-cli\.fn"[^\n]*durable consumer removed/, 20_000);
      expect((await post(base, NS, event('user.created'))).status).toBe(202);
      await sleep(500);
      expect(fn.accepted).toHaveLength(1);
      // The process listed and watched through its kubeconfig, with the token it holds.
      expect(api.requests.some((r) => r.verb === 'watch' && r.resource === 'triggers' && r.authorization === 'Bearer not-checked-by-the-stand-in')).toBe(true);
      proc.kill('SIGTERM');
      expect(await proc.exited()).toBe(0);
    } finally {
      proc.kill('SIGKILL');
    }
  }, 180_000);
});
