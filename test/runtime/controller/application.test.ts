/**
 * Application and ApplicationMapping reconcile, as tables, and THE acceptance test: for the
 * seed scenario the objects the controller applies deep-equal what the Application construct
 * synthesizes for the same input.
 */
import { ApiObject, Chart, Testing } from 'cdk8s';
import { APPLICATION_ADAPTER_ANNOTATION, APPLICATION_CHANNEL_ANNOTATION, EventMesh, INJECTION_LABELS } from '../../../constructs';
import { reconcileAll, type ControllerContext } from '../../../runtime/controller/reconcile-all';
import type { ManifestObject } from '../../../runtime/dispatcher/routing/manifests';
import { application, broker, clock, mapping, namespace, subscription } from '../../support/controller-objects';

const ctx: ControllerContext = { now: clock('2026-12-01T20:00:00.000Z') };

/** What the construct renders for `commerce` bound to `serverless`, the inputs (Application CR) and the outputs apart. */
function constructOutput(options: Parameters<EventMesh['addApplication']>[0]) {
  const chart = new Chart(Testing.app(), 'seed');
  const mesh = new EventMesh(chart, 'mesh', { applications: [options] });
  Testing.synth(chart);
  const json = (scope: { node: { findAll(): unknown[] } }) => scope.node.findAll()
    .filter((c): c is ApiObject => ApiObject.isApiObject(c as ApiObject))
    .map((o) => JSON.parse(JSON.stringify(o.toJson())) as ManifestObject);
  const appObjects = json(mesh.applications[0]);
  const bindings = (options.namespaces ?? []).flatMap((ns) => json(mesh.bindNamespace(ns)));
  return {
    applicationCr: appObjects.find((o) => o.kind === 'Application')!,
    objects: [...appObjects.filter((o) => o.kind !== 'Application'), ...bindings],
  };
}

const withoutOwners = (o: ManifestObject) => {
  const { ownerReferences: _, ...metadata } = o.metadata as Record<string, unknown>;
  return { ...o, metadata };
};
const sortKey = (o: ManifestObject) => `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
const sorted = (list: ManifestObject[]) => [...list].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));

describe('acceptance: seed scenario (Application commerce + ApplicationMapping in serverless)', () => {
  const seed = {
    name: 'commerce',
    namespaces: ['serverless'],
    description: 'Commerce backend: customers and orders',
    events: [{ type: 'user.created', version: 'v1', description: 'A customer signed up' }],
  };

  test('the objects the controller applies deep-equal what the Application construct synthesizes', () => {
    const expected = constructOutput(seed);
    // The Application CR exactly as the construct renders it, as the API server returns it.
    const cr = { ...expected.applicationCr, metadata: { ...expected.applicationCr.metadata, uid: 'uid-commerce', generation: 1 } };
    const desired = reconcileAll([cr, mapping('commerce', 'serverless'), namespace('serverless')], ctx);

    expect(sorted(desired.apply.map(withoutOwners))).toEqual(sorted(expected.objects));
    expect(desired.apply.map((o) => o.kind).sort()).toEqual([
      // The adapter requires mTLS by default: its serving and client Certificates (cert-manager).
      'Broker', 'Certificate', 'Certificate', 'Channel', 'Deployment', 'HTTPSource', 'Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'Subscription',
    ]);
    expect(desired.delete).toEqual([]);
  });

  test('what the Application owns carries an owner reference to it; the Namespace and Broker do not', () => {
    const desired = reconcileAll([application('commerce', { uid: 'uid-commerce' }), mapping('commerce', 'serverless')], ctx);
    for (const obj of desired.apply) {
      const owners = (obj.metadata as { ownerReferences?: unknown[] }).ownerReferences;
      if (obj.kind === 'Namespace' || obj.kind === 'Broker') {
        expect(owners).toBeUndefined();
      } else {
        expect(owners).toEqual([{
          apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'Application', name: 'commerce', uid: 'uid-commerce',
          controller: true, blockOwnerDeletion: true,
        }]);
      }
    }
  });

  test('annotations carry channel and adapter options, so the controller renders the adapter the construct did', () => {
    const options = { name: 'shop', namespaces: ['serverless'], channel: 'inmemory' as const, adapter: { replicas: 3 } };
    const expected = constructOutput(options);
    expect(expected.applicationCr.metadata?.annotations).toEqual({
      [APPLICATION_CHANNEL_ANNOTATION]: 'inmemory',
      [APPLICATION_ADAPTER_ANNOTATION]: '{"replicas":3}',
    });
    const cr = { ...expected.applicationCr, metadata: { ...expected.applicationCr.metadata, uid: 'u' } };
    const desired = reconcileAll([cr, mapping('shop', 'serverless')], { ...ctx, mesh: { channels: ['nats', 'inmemory'] } });
    expect(sorted(desired.apply.map(withoutOwners))).toEqual(sorted(expected.objects));
    expect((desired.apply.find((o) => o.kind === 'Deployment')!.spec as { replicas: number }).replicas).toBe(3);
  });
});

describe('Application reconcile', () => {
  const kinds = (list: ManifestObject[]) => list.map((o) => `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`).sort();

  test.each([
    {
      name: 'no mapping: adapter objects only, no Subscription, no Broker',
      observed: [application('commerce')],
      apply: ['Certificate kyma-integration/commerce-adapter-tls', 'Certificate kyma-integration/commerce-client-tls', 'Channel kyma-integration/commerce', 'Deployment kyma-integration/commerce-adapter', 'HTTPSource kyma-integration/commerce',
        'NetworkPolicy kyma-integration/commerce-adapter', 'PodDisruptionBudget kyma-integration/commerce-adapter', 'Service kyma-integration/commerce-adapter'],
      delete: [],
    },
    {
      name: 'two mappings: one Subscription per bound namespace, each namespace labelled with a default Broker',
      observed: [application('commerce'), mapping('commerce', 'b'), mapping('commerce', 'a')],
      apply: ['Broker a/default', 'Broker b/default', 'Certificate kyma-integration/commerce-adapter-tls', 'Certificate kyma-integration/commerce-client-tls', 'Channel kyma-integration/commerce', 'Deployment kyma-integration/commerce-adapter',
        'HTTPSource kyma-integration/commerce', 'Namespace /a', 'Namespace /b', 'NetworkPolicy kyma-integration/commerce-adapter',
        'PodDisruptionBudget kyma-integration/commerce-adapter', 'Service kyma-integration/commerce-adapter',
        'Subscription kyma-integration/commerce-a-default', 'Subscription kyma-integration/commerce-b-default'],
      delete: [],
    },
    {
      name: 'an existing default Broker (even of another class) is never applied over',
      observed: [application('commerce'), mapping('commerce', 'a'), broker('a', 'default', { class: 'MTChannelBasedBroker' })],
      apply: ['Certificate kyma-integration/commerce-adapter-tls', 'Certificate kyma-integration/commerce-client-tls', 'Channel kyma-integration/commerce', 'Deployment kyma-integration/commerce-adapter', 'HTTPSource kyma-integration/commerce',
        'Namespace /a', 'NetworkPolicy kyma-integration/commerce-adapter', 'PodDisruptionBudget kyma-integration/commerce-adapter',
        'Service kyma-integration/commerce-adapter', 'Subscription kyma-integration/commerce-a-default'],
      delete: [],
    },
    {
      name: 'mapping deleted: the Subscription the controller made goes, the Broker stays',
      observed: [application('commerce', { uid: 'u1' }), broker('a'),
        subscription('kyma-integration', 'commerce-a-default', {}, { labels: { 'event-mesh.dev/application': 'commerce' } }),
      ].map((o) => (o.kind === 'Subscription' ? { ...o, metadata: { ...o.metadata, ownerReferences: [{ apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'Application', name: 'commerce', uid: 'u1' }] } } : o)),
      apply: ['Certificate kyma-integration/commerce-adapter-tls', 'Certificate kyma-integration/commerce-client-tls', 'Channel kyma-integration/commerce', 'Deployment kyma-integration/commerce-adapter', 'HTTPSource kyma-integration/commerce',
        'NetworkPolicy kyma-integration/commerce-adapter', 'PodDisruptionBudget kyma-integration/commerce-adapter', 'Service kyma-integration/commerce-adapter'],
      delete: ['Subscription kyma-integration/commerce-a-default'],
    },
    {
      name: 'a Subscription someone else made (no owner reference) is left alone',
      observed: [application('commerce'), subscription('kyma-integration', 'commerce-x-default', {}, { labels: { 'event-mesh.dev/application': 'commerce' } })],
      apply: ['Certificate kyma-integration/commerce-adapter-tls', 'Certificate kyma-integration/commerce-client-tls', 'Channel kyma-integration/commerce', 'Deployment kyma-integration/commerce-adapter', 'HTTPSource kyma-integration/commerce',
        'NetworkPolicy kyma-integration/commerce-adapter', 'PodDisruptionBudget kyma-integration/commerce-adapter', 'Service kyma-integration/commerce-adapter'],
      delete: [],
    },
  ])('$name', ({ observed, apply, delete: del }) => {
    const desired = reconcileAll(observed, ctx);
    expect(kinds(desired.apply)).toEqual(apply);
    expect(desired.delete.map((r) => `${r.kind} ${r.namespace ?? ''}/${r.name}`).sort()).toEqual(del);
  });

  test.each([
    ['a name the construct rejects', application('Bad_Name'), /application name must start with a letter/],
    ['a channel the mesh does not deploy', application('shop', { annotations: { [APPLICATION_CHANNEL_ANNOTATION]: 'kafka' } }), /uses channel "kafka", which this mesh does not deploy/],
    ['an adapter annotation that is not JSON', application('shop', { annotations: { [APPLICATION_ADAPTER_ANNOTATION]: '{replicas' } }), /annotation event-mesh.dev\/adapter must be JSON/],
    ['adapter options the construct rejects', application('shop', { annotations: { [APPLICATION_ADAPTER_ANNOTATION]: '{"replicas":0}' } }), /replicas/],
  ])('%s: nothing applied, Ready=False InvalidApplication naming the problem', (_name, app, message) => {
    const desired = reconcileAll([app, mapping(app.metadata!.name!, 'a')], ctx);
    expect(desired.apply).toEqual([]);
    const status = desired.status.find((s) => s.ref.kind === 'Application')!.status as { conditions: { type: string; status: string; reason?: string; message?: string }[] };
    const ready = status.conditions.find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidApplication' });
    expect(ready.message).toMatch(message);
    const mappingStatus = desired.status.find((s) => s.ref.kind === 'ApplicationMapping')!.status as { conditions: { type: string; status: string; reason?: string }[] };
    expect(mappingStatus.conditions[0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'ApplicationNotReady' });
  });

  test('a mapping without its Application: Ready=False ApplicationNotFound, nothing applied', () => {
    const desired = reconcileAll([mapping('ghost', 'a')], ctx);
    expect(desired.apply).toEqual([]);
    expect(desired.status).toEqual([{
      ref: { apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'ApplicationMapping', namespace: 'a', name: 'ghost' },
      status: {
        observedGeneration: 1,
        conditions: [
          { type: 'Ready', status: 'False', reason: 'ApplicationNotFound', message: 'Application "ghost" does not exist', lastTransitionTime: '2026-12-01T20:00:00Z' },
          { type: 'ApplicationFound', status: 'False', reason: 'ApplicationNotFound', message: 'Application "ghost" does not exist', lastTransitionTime: '2026-12-01T20:00:00Z' },
          { type: 'ApplicationReady', status: 'False', reason: 'ApplicationNotFound', message: 'Application "ghost" does not exist', lastTransitionTime: '2026-12-01T20:00:00Z' },
        ],
      },
    }]);
  });

  test('Namespace labels are the injection labels, so the namespace controller path agrees', () => {
    const desired = reconcileAll([application('commerce'), mapping('commerce', 'a')], ctx);
    expect(desired.apply.find((o) => o.kind === 'Namespace')!.metadata!.labels).toEqual(INJECTION_LABELS);
  });
});

describe('the controller renders with the settings the EventMesh construct hands it', () => {
  test.each([
    ['nats with custom stream, image, log level and adapter defaults', {
      image: { name: 'registry.example/runtime', tag: '1.2.3' }, logLevel: 'debug' as const,
      nats: { persistence: { maxAge: '12h' } }, adapters: { replicas: 2, maxBodyBytes: 131072 },
      applications: [{ name: 'erp', namespaces: ['finance'], description: 'ERP' }],
    }],
    ['kafka (a literal Secret kept out of the settings) as the application channel', {
      channels: ['nats' as const, 'kafka' as const],
      kafka: { provider: 'local' as const, insecureLiteralSecret: { brokersHostname: 'kafka', brokersPort: 9092, namespace: 'ns', username: 'u', password: 'p' } },
      applications: [{ name: 'shop', namespaces: ['sales'], channel: 'kafka' as const }],
    }],
    ['other namespaces and cluster domain', {
      addressing: { systemNamespace: 'mesh', integrationNamespace: 'apps', clusterDomain: 'corp.local' },
      applications: [{ name: 'crm', namespaces: ['sales', 'support'] }],
    }],
  ])('%s: the mesh.json ConfigMap round trip gives the construct\'s objects', (_name, props) => {
    const chart = new Chart(Testing.app(), 'user');
    const mesh = new EventMesh(chart, 'mesh', props);
    const manifests = Testing.synth(chart) as ManifestObject[];
    const config = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata?.name === 'event-mesh-controller')!;
    const settings = JSON.parse(config.data!['mesh.json']);
    const env = Object.fromEntries(((manifests.find((m) => m.kind === 'Deployment' && m.metadata?.name === 'event-mesh-controller')!.spec as any)
      .template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    const context: ControllerContext = {
      now: ctx.now,
      mesh: { ...settings, addressing: { systemNamespace: env.SYSTEM_NAMESPACE, integrationNamespace: env.INTEGRATION_NAMESPACE, clusterDomain: env.CLUSTER_DOMAIN } },
    };
    const app = mesh.applications[0];
    const json = (scope: { node: { findAll(): unknown[] } }) => scope.node.findAll()
      .filter((c): c is ApiObject => ApiObject.isApiObject(c as ApiObject))
      .map((o) => JSON.parse(JSON.stringify(o.toJson())) as ManifestObject);
    const appObjects = json(app);
    const cr = appObjects.find((o) => o.kind === 'Application')!;
    const expected = [...appObjects.filter((o) => o.kind !== 'Application'), ...app.namespaces.flatMap((ns) => json(mesh.bindNamespace(ns)))];
    const observed = [{ ...cr, metadata: { ...cr.metadata, uid: 'u' } }, ...app.namespaces.map((ns) => mapping(app.name, ns))];
    expect(sorted(reconcileAll(observed, context).apply.map(withoutOwners))).toEqual(sorted(expected));
  });
});
