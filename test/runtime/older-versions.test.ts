/**
 * Older Knative Eventing versions: the Broker and Trigger CRDs serve v1alpha1 and v1beta1
 * (conversion None, v1 stored), the seed's own v1alpha1 Trigger passes the served schema,
 * and the routing table (dispatcher and dev mode) reads such objects as v1.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { parse } from 'yaml';
import { EventMeshCrds } from '../../constructs';
import { isOlderKnativeEventingVersion, normalizeKnativeObject } from '../../constructs/api';
import { buildRoutingTable } from '../../runtime/dispatcher/routing';
import type { ManifestObject } from '../../runtime/dispatcher/routing';
import { synth } from '../support/synth';
import { crdRegistry, customResourceProblems } from '../support/validate-manifests';
import type { Manifest } from '../support/validate-manifests';

const seedTrigger = parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'seed-v1alpha1-trigger.yaml'), 'utf8')) as ManifestObject;

describe('served versions of Broker and Trigger', () => {
  const chart = new Chart(Testing.app(), 'crds');
  new EventMeshCrds(chart, 'crds');
  const crds = synth(chart);
  const registry = crdRegistry(crds);

  it.each(['brokers', 'triggers'])('%s.eventing.knative.dev serves v1, v1beta1 and v1alpha1 with the same schema, v1 stored, the older ones deprecated', (plural) => {
    const crd = crds.find((c) => c.metadata?.name === `${plural}.eventing.knative.dev`)!;
    const versions = (crd.spec as { versions: { name: string; served: boolean; storage: boolean; deprecated?: boolean; schema: unknown }[]; conversion?: unknown }).versions;
    expect(versions.map((v) => [v.name, v.served, v.storage, v.deprecated ?? false])).toEqual([
      ['v1', true, true, false],
      ['v1beta1', true, false, true],
      ['v1alpha1', true, false, true],
    ]);
    for (const v of versions) expect(v.schema).toEqual(versions[0].schema);
    // No conversion webhook: the API server's default strategy None only rewrites apiVersion.
    expect((crd.spec as { conversion?: unknown }).conversion).toBeUndefined();
  });

  it("the seed's v1alpha1 Trigger, unchanged, is valid against the served v1alpha1 schema", () => {
    expect(customResourceProblems(seedTrigger as Manifest, registry)).toEqual([]);
  });

  it('a v1beta1 Broker is valid, and a v1alpha1 Trigger with the old filter.sourceAndType too', () => {
    expect(customResourceProblems({ apiVersion: 'eventing.knative.dev/v1beta1', kind: 'Broker', metadata: { name: 'default', namespace: 'ns' }, spec: {} }, registry)).toEqual([]);
    const old = { apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'Trigger', metadata: { name: 't', namespace: 'ns' }, spec: { broker: 'default', filter: { sourceAndType: { type: 'a', source: 'Any' } }, subscriber: { uri: 'http://x' } } };
    expect(customResourceProblems(old, registry)).toEqual([]);
  });
});

describe('normalizeKnativeObject (pure)', () => {
  it('reads v1alpha1 and v1beta1 Triggers and Brokers as v1 and leaves everything else alone', () => {
    expect(normalizeKnativeObject(seedTrigger)).toEqual({ ...seedTrigger, apiVersion: 'eventing.knative.dev/v1' });
    expect(normalizeKnativeObject({ apiVersion: 'eventing.knative.dev/v1beta1', kind: 'Broker', metadata: { name: 'b' } })).toEqual({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'b' } });
    const v1 = { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger' };
    expect(normalizeKnativeObject(v1)).toBe(v1);
    const sub = { apiVersion: 'messaging.knative.dev/v1alpha1', kind: 'Subscription' };
    expect(normalizeKnativeObject(sub)).toBe(sub);
    expect(isOlderKnativeEventingVersion('eventing.knative.dev/v1alpha1')).toBe(true);
    expect(isOlderKnativeEventingVersion('eventing.knative.dev/v2')).toBe(false);
  });

  it('turns the v1alpha1 filter.sourceAndType into attributes ("Any" matches anything)', () => {
    const t = normalizeKnativeObject({ apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'Trigger', spec: { broker: 'default', filter: { sourceAndType: { type: 'user.created', source: 'Any' } }, subscriber: { uri: 'http://x' } } });
    expect(t.spec).toEqual({ broker: 'default', filter: { attributes: { type: 'user.created' } }, subscriber: { uri: 'http://x' } });
  });
});

describe('the routing table reads older versions as v1', () => {
  it("routes the seed's v1alpha1 Trigger on a v1beta1 Broker like its v1 twin", () => {
    const broker = { apiVersion: 'eventing.knative.dev/v1beta1', kind: 'Broker', metadata: { name: 'default', namespace: 'serverless' } } as ManifestObject;
    const { table, problems } = buildRoutingTable([broker, seedTrigger]);
    expect(problems).toEqual([]);
    const route = table.triggers.get('serverless/test-trigger')!;
    expect(route.brokerKey).toBe('serverless/default');
    expect(route.filter.matches({ type: 'user.created', eventtypeversion: 'v1', source: 'mock', specversion: '1.0', id: '1' })).toBe(true);
    expect(route.filter.matches({ type: 'user.deleted', eventtypeversion: 'v1', source: 'mock', specversion: '1.0', id: '1' })).toBe(false);
    const twin = buildRoutingTable([{ ...broker, apiVersion: 'eventing.knative.dev/v1' }, { ...seedTrigger, apiVersion: 'eventing.knative.dev/v1' }]).table.triggers.get('serverless/test-trigger')!;
    expect(route.fingerprint).toBe(twin.fingerprint);
  });

  it('still refuses a version nobody serves, naming it', () => {
    const { problems } = buildRoutingTable([{ ...seedTrigger, apiVersion: 'eventing.knative.dev/v2' }]);
    expect(problems.map((p) => p.message)).toEqual(['unsupported apiVersion eventing.knative.dev/v2; use eventing.knative.dev/v1']);
  });
});
