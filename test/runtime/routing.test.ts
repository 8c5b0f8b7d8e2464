import { mkdtempSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import {
  buildRoutingTable,
  consumerSettingsChanged,
  diffRoutingTables,
  isEmptyDiff,
  parseManifests,
  readManifests,
  RoutingWatcher,
} from '../../runtime/dispatcher/routing';
import type { ManifestObject, ManifestSet } from '../../runtime/dispatcher/routing';

const broker = (name: string, ns = 'shop', extra: Record<string, unknown> = {}) => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  metadata: { name, namespace: ns, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
  spec: extra.spec ?? {},
});
const trigger = (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>, ns = 'shop') => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
  spec: { broker: 'default', subscriber: { uri: 'http://sub.example/' }, ...spec },
});
const subscription = (name: string, channel: string) => ({
  apiVersion: 'messaging.knative.dev/v1',
  kind: 'Subscription',
  metadata: { name, namespace: 'kyma-integration' },
  spec: {
    channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: channel },
    subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: 'shop' } },
  },
});

describe('routing table', () => {
  it('builds brokers, triggers (validated, compiled), subscriptions and channels', () => {
    const { table, problems } = buildRoutingTable([
      broker('default', 'shop', { spec: { delivery: { retry: 4, backoffDelay: 'PT1S', deadLetterSink: { uri: 'http://dls/' } } } }),
      trigger('orders', { filter: { attributes: { type: 'order.created' } }, delivery: { retry: 1 } }, { 'event-mesh.dev/delivery.order': 'ordered' }),
      trigger('all', {}, { 'event-mesh.dev/delivery.max-in-flight': '5' }),
      subscription('commerce-shop-default', 'commerce'),
      { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: 'commerce', namespace: 'kyma-integration' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ignored' } },
    ] as ManifestObject[]);
    expect(problems).toEqual([]);
    expect([...table.brokers.keys()]).toEqual(['shop/default']);
    const orders = table.triggers.get('shop/orders')!;
    expect(orders).toMatchObject({ topic: 'broker.shop.default', consumer: 'trigger.shop.orders', order: 'ordered', maxInFlight: 1 });
    expect(orders.delivery).toMatchObject({ retry: 1, backoffDelayMs: 1000, deadLetterSink: { uri: 'http://dls/' } });
    expect(table.triggers.get('shop/all')).toMatchObject({ order: 'unordered', maxInFlight: 5 });
    expect(table.subscriptions.get('kyma-integration/commerce-shop-default')).toMatchObject({ topic: 'channel.kyma-integration.commerce', consumer: 'sub.kyma-integration.commerce-shop-default' });
    expect(table.channels.get('kyma-integration/commerce')?.topic).toBe('channel.kyma-integration.commerce');
    expect(table.indexes.get('shop/default')!.match({ type: 'order.created', source: 'x' }).map((t) => t.name).sort()).toEqual(['all', 'orders']);
  });

  it('logs and skips invalid triggers without failing the rest', () => {
    const { table, problems } = buildRoutingTable([
      broker('default'),
      trigger('bad-attr', { filter: { attributes: { 'Bad-Name': 'x' } } }),
      trigger('cesql', { filters: [{ cesql: "type = 'x'" }] }),
      trigger('no-broker', { broker: 'missing' }),
      trigger('bad-annotation', {}, { 'event-mesh.dev/delivery.max-in-flight': 'lots' }),
      trigger('bad-delivery', { delivery: { backoffDelay: '1s' } }),
      trigger('ok', {}),
    ] as ManifestObject[]);
    expect([...table.triggers.keys()]).toEqual(['shop/ok']);
    const byName = Object.fromEntries(problems.map((p) => [p.name, p.message]));
    expect(byName['bad-attr']).toMatch(/must match/);
    expect(byName['cesql']).toMatch(/cesql filter dialect is not supported/);
    expect(byName['no-broker']).toMatch(/Broker "missing" not found/);
    expect(byName['bad-annotation']).toMatch(/max-in-flight/);
    expect(byName['bad-delivery']).toMatch(/ISO-8601/);
  });

  it('serves Brokers of class EventMeshBroker or without class, leaves others (and their Triggers) alone', () => {
    const { table, problems } = buildRoutingTable([
      broker('default', 'a', { annotations: { 'eventing.knative.dev/broker.class': 'EventMeshBroker' } }),
      broker('default', 'b'),
      broker('default', 'c', { annotations: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' } }),
      trigger('t', {}, undefined, 'c'),
    ] as ManifestObject[]);
    expect([...table.brokers.keys()].sort()).toEqual(['a/default', 'b/default']);
    expect(table.foreignBrokers.get('c/default')).toBe('MTChannelBasedBroker');
    expect(table.triggers.size).toBe(0);
    expect(problems).toEqual([]);
  });

  it('diffs: unchanged routes keep running, new ones start, removed ones stop', () => {
    const before = buildRoutingTable([broker('default'), trigger('a', {}), trigger('b', {}), trigger('c', {})] as ManifestObject[]).table;
    const after = buildRoutingTable([
      broker('default'),
      trigger('a', {}),
      trigger('b', { filter: { attributes: { type: 'x' } } }),
      trigger('d', {}),
    ] as ManifestObject[]).table;
    const diff = diffRoutingTables(before, after);
    expect(diff.triggers.unchanged.map((t) => t.name)).toEqual(['a']);
    expect(diff.triggers.changed.map((c) => c.after.name)).toEqual(['b']);
    expect(diff.triggers.added.map((t) => t.name)).toEqual(['d']);
    expect(diff.triggers.removed.map((t) => t.name)).toEqual(['c']);
    const [b] = diff.triggers.changed;
    // b's new exact type is a server-side filter (prefilter): its consumer restarts, same durable, same position.
    expect(b.after.prefilter).toEqual({ type: 'x' });
    expect(consumerSettingsChanged(b.before, b.after)).toBe(true);
    expect(isEmptyDiff(diffRoutingTables(after, after))).toBe(true);
  });

  it('diffs: a filter change that leaves the exact terms alone keeps the consumer running', () => {
    const before = buildRoutingTable([broker('default'), trigger('b', { filters: [{ prefix: { type: 'x.' } }] })] as ManifestObject[]).table;
    const after = buildRoutingTable([broker('default'), trigger('b', { filters: [{ prefix: { type: 'y.' } }] })] as ManifestObject[]).table;
    const [b] = diffRoutingTables(before, after).triggers.changed;
    expect(consumerSettingsChanged(b.before, b.after)).toBe(false);
  });

  it('a change of broker delivery defaults changes its triggers', () => {
    const before = buildRoutingTable([broker('default'), trigger('a', {})] as ManifestObject[]).table;
    const after = buildRoutingTable([broker('default', 'shop', { spec: { delivery: { retry: 1 } } }), trigger('a', {})] as ManifestObject[]).table;
    expect(diffRoutingTables(before, after).triggers.changed).toHaveLength(1);
  });
});

describe('manifests', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'routing-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('parses multi-document YAML and List, reports bad documents, keeps the rest', () => {
    const problems: string[] = [];
    const objs = parseManifests(
      ['kind: Broker\nmetadata: {name: a}', 'kind: List\nitems:\n- kind: Trigger\n  metadata: {name: t}', 'kind: [unclosed', ''].join('\n---\n'),
      'f.yaml',
      problems,
    );
    expect(objs.map((o) => o.kind)).toEqual(['Broker', 'Trigger']);
    expect(problems).toHaveLength(1);
  });

  it('reads a ConfigMap mount (..data symlink swap) once, and sees the swap', async () => {
    const write = (version: string, content: string) => {
      mkdirSync(path.join(dir, `..${version}`));
      writeFileSync(path.join(dir, `..${version}`, 'routing.yaml'), content);
      symlinkSync(`..${version}`, path.join(dir, '..data_tmp'));
      renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    };
    write('v1', stringify(broker('default')));
    symlinkSync('..data/routing.yaml', path.join(dir, 'routing.yaml'));
    writeFileSync(path.join(dir, 'notes.txt'), 'not yaml');
    const first = await readManifests(dir);
    expect(first.objects.map((o) => o.kind)).toEqual(['Broker']);

    const changes: ManifestSet[] = [];
    const watcher = new RoutingWatcher({ dir, debounceMs: 20, pollMs: 60_000, onChange: (s) => void changes.push(s) });
    await watcher.start();
    write('v2', [stringify(broker('default')), stringify(trigger('t', {}))].join('---\n'));
    for (let i = 0; i < 100 && changes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await watcher.stop();
    expect(changes).toHaveLength(1);
    expect(changes[0].objects.map((o) => o.kind)).toEqual(['Broker', 'Trigger']);
  });

  it('expands the routing ConfigMap when asked (dev mode reading dist/)', async () => {
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'event-mesh-routing', namespace: 'event-mesh-system' },
      data: { 'routing.yaml': [stringify(broker('default')), stringify(trigger('t', {}))].join('---\n') },
    };
    writeFileSync(path.join(dir, 'app.k8s.yaml'), stringify(cm));
    expect((await readManifests(dir)).objects.map((o) => o.kind)).toEqual(['ConfigMap']);
    const expanded = await readManifests(dir, { expandRoutingConfigMap: true });
    expect(expanded.objects.map((o) => o.kind)).toEqual(['ConfigMap', 'Broker', 'Trigger']);
    expect(buildRoutingTable(expanded.objects).table.triggers.size).toBe(1);
  });
});
