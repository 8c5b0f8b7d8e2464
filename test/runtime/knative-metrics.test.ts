/**
 * Knative-named metrics next to ours: a real dispatcher on the in-memory channel, a real
 * HTTP subscriber that fails once, and /metrics read as Prometheus would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { InMemoryChannel } from '../../runtime/channel/in-memory';
import { toChannelBytes } from '../../runtime/cloudevents';
import { startDispatcher } from '../../runtime/dispatcher';
import type { Dispatcher } from '../../runtime/dispatcher';
import { responseCodeClass } from '../../runtime/dispatcher/knative-metrics';
import { failFirst, startSubscriber } from '../support/http-subscriber';
import type { Subscriber } from '../support/http-subscriber';

/** The value of the sample `name{…labels}`, requiring exactly these labels (empty ones included). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.keys(got).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** /metrics once the Trigger's successful attempt is recorded (it is, just after the subscriber answered). */
async function metricsAfterDelivery(): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await d!.registry.metrics();
    if (/event_count\{[^}]*trigger_name="orders"[^}]*response_code="200"/.test(text) || Date.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
}

let dir: string;
let d: Dispatcher | undefined;
let sub: Subscriber;
const NS = 'shop';

let channel: InMemoryChannel;
async function start(metricsEventType: boolean) {
  sub = await startSubscriber({ behavior: failFirst(1, 503) });
  channel = new InMemoryChannel();
  writeFileSync(
    path.join(dir, 'routing.yaml'),
    [
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: NS }, spec: {} },
      {
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Trigger',
        metadata: { name: 'orders', namespace: NS },
        spec: { broker: 'default', filter: { attributes: { type: 'order.created' } }, subscriber: { uri: sub.url }, delivery: { retry: 2, backoffPolicy: 'linear', backoffDelay: 'PT0.01S' } },
      },
      { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: 'commerce', namespace: 'kyma-integration' } },
      {
        apiVersion: 'messaging.knative.dev/v1',
        kind: 'Subscription',
        metadata: { name: 'commerce-shop-default', namespace: 'kyma-integration' },
        spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'commerce' }, subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: NS } } },
      },
    ].map((o) => stringify(o)).join('---\n'),
  );
  d = await startDispatcher({ port: 0, host: '127.0.0.1', routingDir: dir, routingPollMs: 60_000, metricsEventType }, { channel, ownsChannel: true });
}

const post = (type: string, broker = 'default') =>
  fetch(`${d!.url}/${NS}/${broker}`, {
    method: 'POST',
    headers: { 'ce-specversion': '1.0', 'ce-id': `id-${Math.random()}`, 'ce-source': '/shop', 'ce-type': type, 'content-type': 'application/json' },
    body: '{"n":1}',
  });

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'knative-metrics-'));
});
afterEach(async () => {
  await d?.close(200);
  d = undefined;
  await sub?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('broker ingress and Trigger delivery report event_count, event_dispatch_latencies and event_processing_latencies with Knative labels', async () => {
  await start(false);
  expect((await post('order.created')).status).toBe(202);
  expect((await post('order.created', 'missing')).status).toBe(404);
  await sub.waitFor((s) => s.accepted.length === 1);
  const text = await metricsAfterDelivery();

  const ingress = { namespace_name: NS, broker_name: 'default', trigger_name: '', event_type: '', container_name: 'ingress' };
  expect(sample(text, 'event_count', { ...ingress, response_code: '202', response_code_class: '2xx' })).toBe(1);
  expect(sample(text, 'event_count', { ...ingress, broker_name: 'missing', response_code: '404', response_code_class: '4xx' })).toBe(1);
  expect(sample(text, 'event_dispatch_latencies_count', { ...ingress, response_code: '202', response_code_class: '2xx' })).toBe(1);

  // One series per attempt outcome: the subscriber failed once with 503, then took it.
  const filter = { namespace_name: NS, broker_name: 'default', trigger_name: 'orders', event_type: '', container_name: 'filter' };
  expect(sample(text, 'event_count', { ...filter, response_code: '503', response_code_class: '5xx' })).toBe(1);
  expect(sample(text, 'event_count', { ...filter, response_code: '200', response_code_class: '2xx' })).toBe(1);
  expect(sample(text, 'event_dispatch_latencies_count', { ...filter, response_code: '200', response_code_class: '2xx' })).toBe(1);
  expect(sample(text, 'event_dispatch_latencies_bucket', { ...filter, response_code: '200', response_code_class: '2xx', le: '10000' })).toBe(1);
  expect(sample(text, 'event_processing_latencies_count', { namespace_name: NS, broker_name: 'default', trigger_name: 'orders', event_type: '', container_name: 'filter' })).toBe(1);
  // Milliseconds, as Knative: the buckets run from 1 to 10000.
  expect(text).toMatch(/event_dispatch_latencies_bucket\{le="1",/);
  // Ours are still there.
  expect(text).toContain('event_mesh_dispatcher_delivered_total');
});

test("events an application's Subscription brings to the broker in process count as broker ingress, as Knative's ingress would count them", async () => {
  await start(false);
  const event = { specversion: '1.0' as const, id: 'from-app', source: 'commerce', type: 'order.created', data: { n: 1 } };
  await channel.publish('channel.kyma-integration.commerce', toChannelBytes(event));
  await sub.waitFor((s) => s.accepted.some((r) => r.event?.id === 'from-app'), 10_000);
  const text = await metricsAfterDelivery();
  expect(sample(text, 'event_count', { namespace_name: NS, broker_name: 'default', trigger_name: '', event_type: '', container_name: 'ingress', response_code: '202', response_code_class: '2xx' })).toBe(1);
  expect(sample(text, 'event_dispatch_latencies_count', { namespace_name: NS, broker_name: 'default', trigger_name: '', event_type: '', container_name: 'ingress', response_code: '202', response_code_class: '2xx' })).toBe(1);
});

test('event_type is filled only when the flag allows it', async () => {
  await start(true);
  expect((await post('order.created')).status).toBe(202);
  await sub.waitFor((s) => s.accepted.length === 1);
  const text = await metricsAfterDelivery();
  expect(sample(text, 'event_count', { namespace_name: NS, broker_name: 'default', trigger_name: '', event_type: 'order.created', container_name: 'ingress', response_code: '202', response_code_class: '2xx' })).toBe(1);
  expect(sample(text, 'event_count', { namespace_name: NS, broker_name: 'default', trigger_name: 'orders', event_type: 'order.created', container_name: 'filter', response_code: '200', response_code_class: '2xx' })).toBe(1);
});

test('response_code_class as Knative writes it', () => {
  expect([200, 202, 404, 503, 0].map(responseCodeClass)).toEqual(['2xx', '2xx', '4xx', '5xx', '0xx']);
});
