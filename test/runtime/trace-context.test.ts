/**
 * Trace context (W3C traceparent/tracestate, the CloudEvents distributed-tracing extension)
 * passes unchanged from the sender through adapter, channel, Subscription, broker and
 * Trigger to the subscriber and to the dead-letter sink: `event-mesh dev` in process, real
 * HTTP subscribers.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { parseCommandLine } from '../../runtime/cli';
import { adoptTraceContext, encodeBinary, isValidTraceparent } from '../../runtime/cloudevents';
import { startDev } from '../../runtime/dev';
import type { DevHandle } from '../../runtime/dev';
import { silentLogger } from '../../runtime/observability';
import { always, startSubscriber } from '../support/http-subscriber';
import type { Subscriber } from '../support/http-subscriber';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TS = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

describe('trace context (pure)', () => {
  test.each([
    [TP, true],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00', true],
    ['01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future', true],
    ['ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', false],
    ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', false],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', false],
    ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', false],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', false],
    ['garbage', false],
  ])('isValidTraceparent(%s) = %s', (value, valid) => {
    expect(isValidTraceparent(value)).toBe(valid);
  });

  test('the request headers go to events without their own; invalid ones are ignored; delivery carries both forms', () => {
    const events: Record<string, unknown>[] = [{ id: '1' }, { id: '2', traceparent: '00-11111111111111111111111111111111-2222222222222222-01' }];
    adoptTraceContext({ traceparent: TP, tracestate: TS }, events);
    expect(events[0]).toMatchObject({ traceparent: TP, tracestate: TS });
    expect(events[1]).toEqual({ id: '2', traceparent: '00-11111111111111111111111111111111-2222222222222222-01' });
    const untouched: Record<string, unknown>[] = [{ id: '3' }];
    adoptTraceContext({ traceparent: 'nope', tracestate: TS }, untouched);
    expect(untouched).toEqual([{ id: '3' }]);
    const { headers } = encodeBinary({ specversion: '1.0', id: '1', source: '/s', type: 't', traceparent: TP, tracestate: TS });
    expect(headers).toMatchObject({ traceparent: TP, tracestate: TS, 'ce-traceparent': TP, 'ce-tracestate': TS });
  });
});

describe('through the mesh', () => {
  let dir: string;
  let dev: DevHandle;
  let ok: Subscriber;
  let failing: Subscriber;
  let dls: Subscriber;

  beforeAll(async () => {
    ok = await startSubscriber();
    failing = await startSubscriber({ behavior: always(500) });
    dls = await startSubscriber();
    dir = mkdtempSync(path.join(tmpdir(), 'trace-'));
    const objects = [
      { apiVersion: 'sources.kyma-project.io/v1alpha1', kind: 'HTTPSource', metadata: { name: 'commerce', namespace: 'kyma-integration' }, spec: { source: 'commerce' } },
      { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: 'commerce', namespace: 'kyma-integration' } },
      {
        apiVersion: 'messaging.knative.dev/v1',
        kind: 'Subscription',
        metadata: { name: 'commerce-shop-default', namespace: 'kyma-integration' },
        spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'commerce' }, subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: 'shop' } } },
      },
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} },
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'ok', namespace: 'shop' }, spec: { broker: 'default', subscriber: { uri: ok.url } } },
      {
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Trigger',
        metadata: { name: 'failing', namespace: 'shop' },
        spec: { broker: 'default', subscriber: { uri: failing.url }, delivery: { retry: 1, backoffPolicy: 'linear', backoffDelay: 'PT0.01S', deadLetterSink: { uri: dls.url } } },
      },
    ];
    writeFileSync(path.join(dir, 'mesh.k8s.yaml'), objects.map((o) => stringify(o)).join('---\n'));
    const { config } = parseCommandLine(['dev', dir, '--port', '0', '--adapter-port', '0'], {});
    dev = await startDev({ dir, config: config!, logger: silentLogger(), out: () => undefined });
  });
  afterAll(async () => {
    await dev?.close();
    await Promise.all([ok, failing, dls].map((s) => s?.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const adapterUrl = () => `http://127.0.0.1:${dev.adapters.get('commerce')!.port}/events`;

  test('W3C headers on a binary event reach the subscriber and the dead-letter sink unchanged', async () => {
    const res = await fetch(adapterUrl(), {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': 'traced-1', 'ce-source': 'commerce', 'ce-type': 'order.created', 'content-type': 'application/json', traceparent: TP, tracestate: TS },
      body: '{"n":1}',
    });
    expect(res.status).toBe(202);
    await ok.waitFor((s) => s.accepted.some((r) => r.event?.id === 'traced-1'), 20_000);
    await dls.waitFor((s) => s.accepted.some((r) => r.event?.id === 'traced-1'), 20_000);
    for (const sub of [ok, failing, dls]) {
      const got = sub.requests.find((r) => r.event?.id === 'traced-1')!;
      expect(got.headers.traceparent).toBe(TP);
      expect(got.headers.tracestate).toBe(TS);
      expect(got.headers['ce-traceparent']).toBe(TP);
      expect(got.headers['ce-tracestate']).toBe(TS);
    }
    // The dead-letter sink got the dead-letter event (with Knative's error extensions), same trace.
    expect(dls.requests.find((r) => r.event?.id === 'traced-1')!.headers['ce-knativeerrorcode']).toBe('500');
  });

  test('the legacy /v1/events endpoint takes the W3C headers too', async () => {
    const tp = '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01';
    const id = randomUUID();
    const res = await fetch(adapterUrl().replace(/\/events$/, '/v1/events'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: tp },
      body: JSON.stringify({ 'event-type': 'order.created', 'event-type-version': 'v1', 'event-id': id, 'event-time': '2026-01-01T00:00:00Z', data: { n: 3 } }),
    });
    expect([res.status, await res.text()]).toEqual([200, expect.any(String)]);
    await ok.waitFor((s) => s.accepted.some((r) => r.event?.id === id), 20_000);
    const got = ok.requests.find((r) => r.event?.id === id)!;
    expect([got.headers.traceparent, got.headers['ce-traceparent']]).toEqual([tp, tp]);
  });

  test('the extension attributes of a structured event come out as both header forms', async () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await fetch(adapterUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'traced-2', source: 'commerce', type: 'order.created', traceparent: tp, tracestate: 'a=b', data: { n: 2 } }),
    });
    expect(res.status).toBe(202);
    await ok.waitFor((s) => s.accepted.some((r) => r.event?.id === 'traced-2'), 20_000);
    await dls.waitFor((s) => s.accepted.some((r) => r.event?.id === 'traced-2'), 20_000);
    for (const sub of [ok, dls]) {
      const got = sub.requests.find((r) => r.event?.id === 'traced-2')!;
      expect([got.headers.traceparent, got.headers['ce-traceparent'], got.headers.tracestate]).toEqual([tp, tp, 'a=b']);
    }
  });
});
