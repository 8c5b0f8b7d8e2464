/**
 * The hardening options of the `event-mesh` CLI: NATS URL lists (flag and environment),
 * --max-json-depth, and `event-mesh dispatcher --map` running a real dispatcher process
 * outside a cluster against synthesized manifests (the routing ConfigMap expanded as in
 * dev), delivering to the mapped local subscriber.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { ROUTING_CONFIGMAP, ROUTING_CONFIGMAP_KEY } from '../../../constructs/api';
import { parseCommandLine, UsageError } from '../../../runtime/cli';
import { spawnCli } from '../../support/cli-process';
import { startSubscriber } from '../../support/http-subscriber';
import { freePort } from '../../support/nats-server';

describe('NATS URL lists', () => {
  const urls = 'nats://n0:4222,nats://n1:4222, nats://n2:4222';
  test.each(['adapter', 'dispatcher'] as const)('%s: --nats-url and NATS_URL take a comma-separated list', (command) => {
    const base = command === 'adapter' ? ['adapter', '--application', 'shop', '--auth', 'none'] : ['dispatcher'];
    expect(parseCommandLine([...base, '--nats-url', urls], {}).config!.natsUrl).toBe('nats://n0:4222,nats://n1:4222,nats://n2:4222');
    expect(parseCommandLine(base, { NATS_URL: urls }).config!.natsUrl).toBe('nats://n0:4222,nats://n1:4222,nats://n2:4222');
  });
  test('a bad entry is named', () => {
    expect(() => parseCommandLine(['dispatcher', '--nats-url', 'nats://n0:4222,not a url'], {})).toThrow(UsageError);
    expect(() => parseCommandLine(['dispatcher'], { NATS_URL: 'nats://n0:4222,' })).toThrow(/NATS_URL \(environment\) must be a URL or a comma-separated list/);
  });
});

describe('--max-json-depth', () => {
  test('default 64, configurable per command, bounded', () => {
    expect(parseCommandLine(['dispatcher'], {}).config!.maxJsonDepth).toBe(64);
    expect(parseCommandLine(['adapter', '--application', 'a', '--auth', 'none', '--max-json-depth', '16'], {}).config!.maxJsonDepth).toBe(16);
    expect(parseCommandLine(['dev'], { MAX_JSON_DEPTH: '200' }).config!.maxJsonDepth).toBe(200);
    expect(() => parseCommandLine(['dispatcher', '--max-json-depth', '0'], {})).toThrow(/--max-json-depth must be a whole number from 1 to 1000/);
    expect(() => parseCommandLine(['dispatcher', '--max-json-depth', '5000'], {})).toThrow(UsageError);
  });
});

describe('event-mesh dispatcher --map', () => {
  test('parses like dev and refuses a bad entry', () => {
    expect(parseCommandLine(['dispatcher', '--map', 'orders-fn.shop=http://127.0.0.1:3000', '--map', 'audit=http://127.0.0.1:3001'], {}).config!.map).toEqual(['orders-fn.shop=http://127.0.0.1:3000', 'audit=http://127.0.0.1:3001']);
    expect(parseCommandLine(['dispatcher'], { EVENT_MESH_MAP: 'a=http://x:1,b.ns=http://y:2' }).config!.map).toEqual(['a=http://x:1', 'b.ns=http://y:2']);
    expect(() => parseCommandLine(['dispatcher', '--map', 'orders-fn'], {})).toThrow(/--map must be service\[\.namespace\]=http/);
  });

  test('a dispatcher process on synthesized manifests delivers to the mapped Service and warns about the unmapped one', async () => {
    const subscriber = await startSubscriber();
    const dir = mkdtempSync(path.join(tmpdir(), 'dispatcher-map-'));
    // As synthesized: the Broker, and the Triggers inside the routing ConfigMap only.
    const triggers = [
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'orders', namespace: 'shop' }, spec: { broker: 'default', filter: { attributes: { type: 'order.created' } }, subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'orders-fn' } } } },
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'audit', namespace: 'shop' }, spec: { broker: 'default', subscriber: { uri: 'http://audit.tools.svc.cluster.local/in' } } },
    ];
    const objects = [
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROUTING_CONFIGMAP, namespace: 'event-mesh-system' }, data: { [ROUTING_CONFIGMAP_KEY]: triggers.map((t) => stringify(t)).join('---\n') } },
    ];
    writeFileSync(path.join(dir, 'mesh.k8s.yaml'), objects.map((o) => stringify(o)).join('---\n'));
    const port = await freePort();
    const proc = spawnCli(['dispatcher', '--channel', 'inmemory', '--routing', dir, '--port', String(port), '--host', '127.0.0.1', '--map', `orders-fn.shop=${subscriber.url}`]);
    try {
      await proc.waitForOutput(/dispatcher listening/, 30_000);
      await proc.waitForOutput(/audit\.tools \(Trigger shop\/audit subscriber\) has no --map/, 10_000);
      const res = await fetch(`http://127.0.0.1:${port}/shop/default`, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify({ specversion: '1.0', id: 'map-1', source: '/t', type: 'order.created' }) });
      expect(res.status).toBe(202);
      await subscriber.waitFor((s) => s.accepted.length === 1, 20_000);
      expect(subscriber.accepted[0].event?.id).toBe('map-1');
    } finally {
      proc.kill('SIGKILL');
      await proc.exited();
      await subscriber.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
