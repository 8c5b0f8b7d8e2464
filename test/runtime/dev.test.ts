/**
 * `event-mesh dev` as a real process: reads manifests, prints the adapter and broker URLs,
 * warns about unmapped cluster Services, and an event posted with the cloudevents SDK to
 * the printed adapter URL reaches the --map'ed local subscriber.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents';
import { stringify } from 'yaml';
import { buildRoutingTable } from '../../runtime/dispatcher/routing';
import type { ManifestObject } from '../../runtime/dispatcher/routing';
import { discoverApplications, findUnmappedServices, parseServiceMap } from '../../runtime/dev/discovery';
import { mapServiceUri } from '../../runtime/dispatcher/delivery/targets';
import { spawnCli } from '../support/cli-process';
import { startSubscriber } from '../support/http-subscriber';

const manifests: ManifestObject[] = [
  { apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'Application', metadata: { name: 'commerce' } },
  { apiVersion: 'sources.kyma-project.io/v1alpha1', kind: 'HTTPSource', metadata: { name: 'commerce', namespace: 'kyma-integration' }, spec: { source: 'commerce' } },
  { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: 'commerce', namespace: 'kyma-integration', labels: { 'event-mesh.dev/application': 'commerce' } } },
  { apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'Application', metadata: { name: 'erp' } },
  {
    apiVersion: 'messaging.knative.dev/v1',
    kind: 'Subscription',
    metadata: { name: 'commerce-shop-default', namespace: 'kyma-integration' },
    spec: {
      channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'commerce' },
      subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: 'shop' } },
    },
  },
  { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop', annotations: { 'eventing.knative.dev/broker.class': 'EventMeshBroker' } } },
  {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: 'orders', namespace: 'shop' },
    spec: { broker: 'default', filter: { attributes: { type: 'order.created', source: 'commerce' } }, subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'orders-fn' } } },
  },
  {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: 'audit', namespace: 'shop' },
    spec: { broker: 'default', subscriber: { uri: 'http://audit.tools.svc.cluster.local/in' } },
  },
];

describe('dev discovery (pure)', () => {
  it('finds applications from HTTPSource and Application CRs', () => {
    expect(discoverApplications(manifests)).toEqual([
      { name: 'commerce', channelNamespace: 'kyma-integration', channelName: 'commerce' },
      { name: 'erp', channelNamespace: 'kyma-integration', channelName: 'erp' },
    ]);
  });
  it('lists unmapped cluster Services; --map with or without namespace covers them', () => {
    const { table } = buildRoutingTable(manifests);
    expect(findUnmappedServices(table, parseServiceMap([])).map((u) => u.service)).toEqual(['audit.tools', 'orders-fn.shop']);
    expect(findUnmappedServices(table, parseServiceMap(['orders-fn=http://127.0.0.1:1', 'audit.tools=http://127.0.0.1:2']))).toEqual([]);
    const map = parseServiceMap(['audit.tools=http://127.0.0.1:2/base']);
    expect(mapServiceUri('http://audit.tools.svc.cluster.local/in?x=1', map, { systemNamespace: 'event-mesh-system', integrationNamespace: 'kyma-integration', clusterDomain: 'cluster.local' })).toBe(
      'http://127.0.0.1:2/base/in?x=1',
    );
  });
});

describe('event-mesh dev', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'dev-'));
    writeFileSync(path.join(dir, 'app.k8s.yaml'), manifests.map((m) => stringify(m)).join('---\n'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the URLs, warns about unmapped Services, and delivers to a --map subscriber', async () => {
    const fn = await startSubscriber();
    const dev = spawnCli(['dev', dir, '--port', '0', '--map', `orders-fn.shop=${fn.url}`], { LOG_LEVEL: 'warn' });
    try {
      await dev.waitForOutput(/^ready/m, 30_000);
      const out = dev.output();
      const commerce = out.match(/^application commerce: (http:\/\/127\.0\.0\.1:\d+\/events)$/m);
      expect(commerce).not.toBeNull();
      expect(out).toMatch(/^application erp: http:\/\/127\.0\.0\.1:\d+\/events$/m);
      expect(out).toMatch(/^broker shop\/default: http:\/\/127\.0\.0\.1:\d+\/shop\/default$/m);
      expect(out).toMatch(/audit\.tools \(Trigger shop\/audit subscriber\): add --map audit\.tools=http:\/\/127\.0\.0\.1:<port>/);
      expect(out).not.toMatch(/add --map orders-fn/);

      const emit = emitterFor(httpTransport(commerce![1]), { mode: Mode.BINARY });
      const ev = new CloudEvent({ type: 'order.created', source: 'ignored-by-adapter', data: { orderId: 42 } });
      await emit(ev);
      await fn.waitFor((s) => s.accepted.length === 1, 10_000);
      expect(fn.accepted[0].event).toMatchObject({ id: ev.id, type: 'order.created', source: 'commerce', data: { orderId: 42 } });
      dev.kill('SIGTERM');
      expect(await dev.exited()).toBe(0);
    } finally {
      dev.kill('SIGKILL');
      await fn.close();
    }
  }, 60_000);

  it('fails clearly when the directory does not exist', async () => {
    const dev = spawnCli(['dev', path.join(dir, 'missing')]);
    expect(await dev.exited()).toBe(1);
    expect(dev.output()).toMatch(/does not exist: synthesize first/);
    expect(dev.output()).not.toMatch(/\n\s+at /);
  });
});
