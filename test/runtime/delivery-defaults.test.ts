/**
 * An unspecified delivery behaves as documented: a Trigger and Broker without spec.delivery
 * get 10 retries with exponential backoff from PT0.2S, and the runtime, the CRD schema
 * descriptions, the construct JSDoc and docs/constructs.md say the same.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { DEFAULT_BACKOFF_DELAY, DEFAULT_RETRY, destinationUrl } from '../../constructs/api';
import { EventMesh } from '../../constructs';
import { deliverWithRetries } from '../../runtime/dispatcher/delivery/attempts';
import { HttpSender } from '../../runtime/dispatcher/delivery/http-sender';
import { buildRoutingTable } from '../../runtime/dispatcher/routing';
import type { ManifestObject } from '../../runtime/dispatcher/routing';
import { always, startSubscriber } from '../support/http-subscriber';
import { synth } from '../support/synth';

const ROOT = path.resolve(__dirname, '..', '..');

const routing = (subscriberUri: string): ManifestObject[] => [
  { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} },
  { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'orders', namespace: 'shop' }, spec: { broker: 'default', subscriber: { uri: subscriberUri } } },
];

test('a Trigger without delivery, on a Broker without delivery: 1 + 10 attempts at a failing subscriber, exponential waits from 0.2 s', async () => {
  const sub = await startSubscriber({ behavior: always(503) });
  const sender = new HttpSender();
  try {
    const { table, problems } = buildRoutingTable(routing(sub.url));
    expect(problems).toEqual([]);
    const route = [...table.triggers.values()][0];
    expect(route.delivery).toEqual({ retry: 10, backoffPolicy: 'exponential', backoffDelayMs: 200, timeoutMs: 30_000 });

    const waits: number[] = [];
    const controller = new AbortController();
    const result = await deliverWithRetries(
      { kind: 'http', url: destinationUrl(route.subscriber, 'shop'), label: 'orders' },
      { specversion: '1.0', id: 'never-taken', source: '/shop', type: 'order.created' },
      route.delivery,
      // The waits are recorded rather than slept: 0.4 s + 0.8 s + … + 204.8 s would take 409 s.
      { sender, store: undefined as never, signal: controller.signal, sleep: async (ms) => void waits.push(ms) },
    );
    expect(result.ok).toBe(false);
    expect(result.attempts).toBe(1 + DEFAULT_RETRY);
    expect(sub.requests.filter((r) => r.event?.id === 'never-taken')).toHaveLength(11);
    // Knative's exponential formula: backoffDelay × 2^n before retry n.
    expect(waits).toEqual([400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 102400, 204800]);
  } finally {
    await sender.close();
    await sub.close();
  }
});

test('the CRD schema, the construct JSDoc and docs/constructs.md state the same defaults', () => {
  const chart = new Chart(Testing.app(), 'c');
  new EventMesh(chart, 'mesh', {});
  const crd = synth(chart).find((m) => m.kind === 'CustomResourceDefinition' && m.metadata?.name === 'triggers.eventing.knative.dev') as any;
  const delivery = crd.spec.versions.find((v: any) => v.name === 'v1').schema.openAPIV3Schema.properties.spec.properties.delivery;
  expect(delivery.description).toContain(`(a Trigger first takes its Broker's): ${DEFAULT_RETRY} retries after the first attempt, exponential backoff from ${DEFAULT_BACKOFF_DELAY}`);
  expect(delivery.properties.retry.description).toMatch(/Default: 10\.$/);
  expect(delivery.properties.backoffPolicy.description).toMatch(/Default: exponential\.$/);
  expect(delivery.properties.backoffDelay.description).toMatch(/Default: PT0\.2S\./);

  const sentence = '10 retries after the first attempt, exponential backoff from PT0.2S, PT30S per attempt, no dead letter sink';
  expect(readFileSync(path.join(ROOT, 'docs', 'constructs.md'), 'utf8')).toContain(`the broker's, else ${sentence}`);
  expect(readFileSync(path.join(ROOT, 'constructs', 'trigger.ts'), 'utf8')).toContain(`@default - the broker's delivery, else ${sentence}`);
  expect(readFileSync(path.join(ROOT, 'constructs', 'broker.ts'), 'utf8')).toContain(`@default - ${sentence}`);
  for (const file of ['docs/constructs.md', 'docs/runtime-dispatcher.md', 'constructs/trigger.ts', 'constructs/broker.ts']) {
    expect(readFileSync(path.join(ROOT, file), 'utf8')).not.toMatch(/one attempt\b|else no retries/);
  }
});
