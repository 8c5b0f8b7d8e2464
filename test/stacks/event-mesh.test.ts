import { installMocks, isRpcSecret, registered, resetRecords, settle, urnParts, valueOf, type Registration } from './harness';

installMocks();

import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { App, Chart } from 'cdk8s';
import { EventMesh as EventMeshConstruct, type EventMeshProps } from '../../constructs/event-mesh';
import { adapterEventsUrl, brokerIngressUrl } from '../../constructs/api';
import { EventMesh, MESH_CHART_ID, MESH_CONSTRUCT_ID, type EventMeshArgs } from '../../stacks/event-mesh';
import { isBuiltinGroup, objectKey, phaseOf, pulumiTypeOf, splitApiVersion, type KubeObject } from '../../stacks/kubernetes-objects';

const COMPONENT = 'event-mesh:index:EventMesh';

const PROPS: EventMeshProps = {
  applications: [
    { name: 'commerce', namespaces: ['prod', 'stage'] },
    { name: 'marketing', namespaces: ['prod'] },
  ],
  triggers: [
    {
      name: 'order-created',
      namespace: 'prod',
      filter: { type: 'order.created', source: 'commerce' },
      subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'orders' } },
    },
  ],
  nats: { persistence: { size: '1Gi', maxAge: '24h' } },
};

/** What the construct alone synthesizes (cdk8s, no Pulumi), keyed by object. */
function constructObjects(props: EventMeshProps): Map<string, KubeObject> {
  const app = new App({ outdir: 'dist' });
  const chart = new Chart(app, MESH_CHART_ID);
  new EventMeshConstruct(chart, MESH_CONSTRUCT_ID, props);
  app.synthYaml();
  const objects = JSON.parse(JSON.stringify(chart.toJson())) as KubeObject[];
  return new Map(objects.map((o) => [objectKey(o), o]));
}

async function deploy(name: string, args: EventMeshArgs, opts?: pulumi.ComponentResourceOptions): Promise<EventMesh> {
  const mesh = new EventMesh(name, args, opts);
  await settle([mesh, ...mesh.deployed.map((d) => d.resource)]);
  return mesh;
}

function childrenOf(component: Registration): Registration[] {
  return registered().filter((r) => r.parent === component.urn);
}

/** What the component handed to Kubernetes, keyed like constructObjects. */
function deployedObjects(componentName: string): Map<string, KubeObject> {
  const component = registered().find((r) => r.type === COMPONENT && r.name === componentName)!;
  const objects = childrenOf(component).map((r) => r.inputs as unknown as KubeObject);
  return new Map(objects.map((o) => [objectKey(o), o]));
}

function changedKeys(a: Map<string, KubeObject>, b: Map<string, KubeObject>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k))).sort();
}

describe('EventMesh component', () => {
  beforeEach(() => resetRecords());

  test('deploys one typed resource per synthesized object, all children of the component', async () => {
    const mesh = await deploy('mesh', PROPS);
    const component = registered().find((r) => r.type === COMPONENT)!;
    expect(component.name).toBe('mesh');
    const children = childrenOf(component);
    expect(children).toHaveLength(mesh.objects.length);
    expect(registered()).toHaveLength(mesh.objects.length + 1);
    for (const child of children) {
      const o = child.inputs as unknown as KubeObject;
      expect(child.type).toBe(pulumiTypeOf(o.apiVersion, o.kind));
      expect(child.custom).toBe(true);
      expect(urnParts(child.urn)).toEqual({ types: [COMPONENT, child.type], name: child.name });
      expect(child.name).toBe(o.metadata.namespace ? `mesh:${o.metadata.namespace}/${o.metadata.name}` : `mesh:${o.metadata.name}`);
    }
    // The typed classes are used for built-in kinds; custom resources go through CustomResource.
    const types = new Set(children.map((c) => c.type));
    for (const t of ['kubernetes:apps/v1:Deployment', 'kubernetes:apps/v1:StatefulSet', 'kubernetes:core/v1:Namespace', 'kubernetes:core/v1:ConfigMap',
      'kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition', 'kubernetes:eventing.knative.dev/v1:Broker', 'kubernetes:eventing.knative.dev/v1:Trigger',
      'kubernetes:messaging.knative.dev/v1:Subscription', 'kubernetes:messaging.knative.dev/v1:Channel']) {
      expect(types).toContain(t);
    }
    const counts = (kind: string) => children.filter((c) => (c.inputs as { kind: string }).kind === kind).length;
    expect(counts('CustomResourceDefinition')).toBeGreaterThan(0);
    expect(counts('Broker')).toBe(2); // prod, stage
    expect(counts('Subscription')).toBe(3); // commerce→prod, commerce→stage, marketing→prod
    expect(counts('Trigger')).toBe(1);
  });

  test('the objects handed to Kubernetes equal those the construct synthesizes for the same props', async () => {
    await deploy('mesh', PROPS);
    const expected = constructObjects(PROPS);
    const actual = deployedObjects('mesh');
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, object] of expected) {
      expect([key, actual.get(key)]).toEqual([key, object]);
    }
  });

  test('CRDs first, then Namespaces, then everything else: explicit dependsOn reaches the engine', async () => {
    const mesh = await deploy('mesh', PROPS);
    const component = registered().find((r) => r.type === COMPONENT)!;
    const children = childrenOf(component);
    const phase = (r: Registration) => phaseOf(r.inputs as unknown as KubeObject);
    const crdUrns = children.filter((r) => phase(r) === 'crd').map((r) => r.urn);
    const nsUrn = new Map(children.filter((r) => phase(r) === 'namespace').map((r) => [(r.inputs as unknown as KubeObject).metadata.name, r.urn]));
    expect(crdUrns.length).toBeGreaterThan(0);
    expect([...nsUrn.keys()].sort()).toEqual(['event-mesh-system', 'kyma-integration', 'prod', 'stage']);

    for (const r of children) {
      const o = r.inputs as unknown as KubeObject;
      if (phase(r) === 'crd') {
        expect([r.name, r.dependencies]).toEqual([r.name, []]);
        continue;
      }
      // Every custom resource (and every other object) waits for every CRD.
      expect([r.name, crdUrns.every((u) => r.dependencies.includes(u))]).toEqual([r.name, true]);
      const ns = o.metadata.namespace;
      if (ns && nsUrn.has(ns)) expect([r.name, r.dependencies]).toEqual([r.name, expect.arrayContaining([nsUrn.get(ns)])]);
    }
    // Custom resources in particular (the point of the ordering).
    const crs = children.filter((r) => !isBuiltinGroup(splitApiVersion((r.inputs as unknown as KubeObject).apiVersion).group));
    expect(crs.length).toBeGreaterThan(5);
    for (const r of crs) expect(crdUrns.every((u) => r.dependencies.includes(u))).toBe(true);

    // The component's own record says the same.
    for (const d of mesh.deployed) {
      if (d.phase === 'crd') expect(d.dependsOn).toEqual([]);
      else expect(d.dependsOn).toEqual(expect.arrayContaining(mesh.crdResources));
    }
  });

  test('pulumi destroy keeps bound user namespaces but not the mesh itself', async () => {
    await deploy('mesh', PROPS);
    const component = registered().find((r) => r.type === COMPONENT)!;
    const children = childrenOf(component);
    const retained = children.filter((r) => r.retainOnDelete).map((r) => `${(r.inputs as unknown as KubeObject).kind}/${(r.inputs as unknown as KubeObject).metadata.name}`);
    // Users' workloads live in the bound namespaces; the mesh's own namespaces go with the stack.
    expect(retained.sort()).toEqual(['Namespace/prod', 'Namespace/stage']);
  });

  test('changing a construct prop changes what the component deploys in the same way', async () => {
    const changed: EventMeshProps = {
      ...PROPS,
      nats: { persistence: { size: '5Gi', maxAge: '24h' } },
      triggers: [{ ...PROPS.triggers![0], filter: { type: 'order.cancelled', source: 'commerce' } }],
    };
    const constructDiff = changedKeys(constructObjects(PROPS), constructObjects(changed));
    expect(constructDiff.length).toBeGreaterThanOrEqual(2);
    expect(constructDiff).toEqual(expect.arrayContaining(['eventing.knative.dev/v1/Trigger:prod/order-created', 'apps/v1/StatefulSet:event-mesh-system/event-mesh-nats']));

    await deploy('before', PROPS);
    await deploy('after', changed);
    const before = deployedObjects('before');
    const after = deployedObjects('after');
    expect(changedKeys(before, after)).toEqual(constructDiff);
    const expectedAfter = constructObjects(changed);
    for (const key of constructDiff) expect(after.get(key)).toEqual(expectedAfter.get(key));
    const trigger = after.get('eventing.knative.dev/v1/Trigger:prod/order-created') as unknown as { spec: { filter: unknown } };
    expect(trigger.spec.filter).toEqual({ attributes: { type: 'order.cancelled', source: 'commerce' } });
  });

  test('outputs: adapter and broker ingress URLs as api/wiring computes them', async () => {
    const mesh = await deploy('mesh', PROPS);
    expect(await valueOf(mesh.adapterUrls)).toEqual({
      // mTLS by default: HTTPS.
      commerce: adapterEventsUrl('commerce', undefined, true),
      marketing: adapterEventsUrl('marketing', undefined, true),
    });
    expect(await valueOf(mesh.brokerIngressUrls)).toEqual({
      'prod/default': brokerIngressUrl('prod', 'default'),
      'stage/default': brokerIngressUrl('stage', 'default'),
    });
    const custom = await deploy('custom', { ...PROPS, addressing: { systemNamespace: 'mesh', clusterDomain: 'example.internal' } });
    expect(await valueOf(custom.brokerIngressUrls)).toEqual({
      'prod/default': 'http://event-mesh-broker-ingress.mesh.svc.example.internal/prod/default',
      'stage/default': 'http://event-mesh-broker-ingress.mesh.svc.example.internal/stage/default',
    });
  });

  test('every child uses the given provider; workloadDependsOn holds back all but CRDs and Namespaces', async () => {
    const provider = new k8s.Provider('kube', { context: 'dev' });
    const gate = new k8s.core.v1.ConfigMap('gate', { metadata: { name: 'gate', namespace: 'default' } }, { provider });
    let release!: (r: pulumi.Resource[]) => void;
    const late = new Promise<pulumi.Resource[]>((resolve) => (release = resolve));
    const mesh = new EventMesh('mesh', { ...PROPS, provider, workloadDependsOn: late });
    release([gate]);
    await settle([mesh, ...mesh.deployed.map((d) => d.resource)]);
    const gateUrn = registered().find((r) => r.name === 'gate')!.urn;
    const component = registered().find((r) => r.type === COMPONENT)!;
    for (const r of childrenOf(component)) {
      expect(r.provider).toContain('::kube::');
      const phase = phaseOf(r.inputs as unknown as KubeObject);
      expect([r.name, r.dependencies.includes(gateUrn)]).toEqual([r.name, phase === 'object']);
    }
  });

  // The typed k8s.core.v1.Secret class marks data/stringData secret; this pins that the component keeps using it.
  test('a Secret the construct renders (insecureLiteralSecret) reaches the engine only as a Pulumi secret', async () => {
    const password = 'Endpoint=sb://dev.servicebus.windows.net/;SharedAccessKeyName=x;SharedAccessKey=LITERALKEY=';
    const mesh = await deploy('literal', {
      defaultChannel: 'kafka',
      kafka: { insecureLiteralSecret: { brokersHostname: 'dev.servicebus.windows.net', brokersPort: 9093, namespace: 'dev', password } },
      applications: [{ name: 'shop' }],
    });
    const component = registered().find((r) => r.type === COMPONENT && r.name === 'literal')!;
    const secrets = childrenOf(component).filter((r) => r.type === 'kubernetes:core/v1:Secret');
    expect(secrets.map((r) => (r.inputs as unknown as KubeObject).metadata.namespace).sort()).toEqual(['event-mesh-system', 'kyma-integration']);
    const encoded = Buffer.from(password).toString('base64');
    for (const secret of secrets) {
      expect(isRpcSecret(secret.rawInputs.data)).toBe(true);
      expect(secret.additionalSecretOutputs).toEqual(expect.arrayContaining(['data', 'stringData']));
      // Still exactly what the construct rendered, once unwrapped.
      expect((secret.inputs.data as Record<string, string>).password).toBe(encoded);
    }
    for (const d of mesh.deployed.filter((x) => x.object.kind === 'Secret')) expect(await pulumi.isSecret((d.resource as k8s.core.v1.Secret).data)).toBe(true);
    // Neither the password nor its base64 appears unmarked in anything the engine receives.
    for (const r of registered()) {
      const plain = JSON.stringify(r.rawInputs, (_k, v) => (isRpcSecret(v) ? '[secret]' : v));
      expect([r.name, plain.includes(encoded) || plain.includes('LITERALKEY')]).toEqual([r.name, false]);
    }
  });

  test('the construct\'s errors, including synth-time validation, surface as Pulumi resource errors', () => {
    // Constructor check in the construct.
    expect(() => new EventMesh('bad-replicas', { nats: { replicas: 2 } })).toThrow(pulumi.ResourceError);
    expect(() => new EventMesh('bad-replicas2', { nats: { replicas: 2 } })).toThrow(/EventMesh "bad-replicas2": nats replicas must be 1, 3 or 5/);
    // Validation that only runs at synthesis (node.addValidation): a Trigger on a broker that does not exist.
    const dangling: EventMeshArgs = {
      triggers: [{ name: 't', namespace: 'nowhere', subscriber: { uri: 'http://x.example/' } }],
    };
    expect(() => new EventMesh('dangling', dangling)).toThrow(/Validation failed[\s\S]*broker "default" in namespace "nowhere"/);
  });
});
