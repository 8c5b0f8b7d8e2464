import { Testing } from 'cdk8s';
import { buildCommerceChart } from '../../examples/commerce/main';
import { buildKafkaAzureChart } from '../../examples/kafka-azure/main';
import { buildNatsProductionChart } from '../../examples/nats-production/main';
import { buildRoutingTable } from '../../runtime/dispatcher/routing';
import type { ManifestObject } from '../../runtime/dispatcher/routing';
import { synth } from '../support/synth';
import { crdRegistry, validateManifest, validateManifests, type Manifest } from '../support/validate-manifests';

const examples: [string, (app: ReturnType<typeof Testing.app>) => import('cdk8s').Chart][] = [
  ['commerce', (app) => buildCommerceChart(app)],
  ['kafka-azure', (app) => buildKafkaAzureChart(app)],
  ['nats-production', (app) => buildNatsProductionChart(app)],
];

describe.each(examples)('example %s', (_name, build) => {
  let manifests: Manifest[];
  beforeAll(() => {
    manifests = synth(build(Testing.app()));
  });

  test('manifests match the snapshot', () => {
    // The CRDs are the same in every example and have their own snapshot (crds.test.ts).
    expect(manifests.map((m) => (m.kind === 'CustomResourceDefinition' ? `CustomResourceDefinition ${m.metadata!.name}` : m))).toMatchSnapshot();
  });

  test('every object validates against the published Kubernetes/Knative schemas and our CRDs', () => {
    expect(validateManifests(manifests)).toBe(manifests.length);
  });

  test('cluster routing: no routing ConfigMap, and every object the dispatcher watches validates and loads without a problem', () => {
    expect(manifests.filter((m) => m.kind === 'ConfigMap' && m.metadata?.name === 'event-mesh-routing')).toEqual([]);
    const crds = crdRegistry(manifests);
    const docs = manifests.filter((m) => ['Broker', 'Trigger', 'Subscription', 'Channel'].includes(m.kind));
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) validateManifest(doc, crds);
    const { table, problems } = buildRoutingTable(manifests as unknown as ManifestObject[]);
    expect(problems).toEqual([]);
    expect(table.brokers.size).toBeGreaterThan(0);
  });

  test('every custom resource has its CRD in the same manifests', () => {
    const crds = crdRegistry(manifests);
    const custom = manifests.filter((m) => /kyma-project\.io|knative\.dev/.test(m.apiVersion));
    expect(custom.length).toBeGreaterThan(0);
    for (const cr of custom) expect(crds.has(`${cr.apiVersion}/${cr.kind}`)).toBe(true);
  });
});
