import { Chart, Testing } from 'cdk8s';
import { EventMesh, EventMeshCrds } from '../../constructs';
import { synth } from '../support/synth';
import { crdRegistry, crdStructuralProblems, customResourceProblems, validateManifest, type CrdRegistry, type Manifest } from '../support/validate-manifests';

let crds: Manifest[];
let registry: CrdRegistry;
beforeAll(() => {
  const chart = new Chart(Testing.app(), 'crds');
  new EventMeshCrds(chart, 'crds');
  crds = synth(chart);
  registry = crdRegistry(crds);
});

const meta = (name: string, namespace = 'ns') => ({ name, namespace });
const valid: Record<string, Manifest> = {
  HTTPSource: { apiVersion: 'sources.kyma-project.io/v1alpha1', kind: 'HTTPSource', metadata: meta('shop'), spec: { source: 'shop' } },
  Application: {
    apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'Application', metadata: { name: 'shop' },
    spec: { description: 'a shop', labels: { team: 'a' }, events: [{ type: 'order.created', version: 'v1' }], services: [{ id: '1', name: 'orders', entries: [{ type: 'Events' }] }] },
  },
  Broker: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: meta('default'), spec: { delivery: { retry: 2, backoffDelay: 'PT1S' } } },
  Trigger: {
    apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: meta('t'),
    spec: {
      broker: 'default',
      filter: { attributes: { type: 'a.b' } },
      filters: [{ prefix: { type: 'a.' } }, { any: [{ exact: { source: 'x' } }, { not: { suffix: { type: '.v2' } } }] }],
      subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 's' } },
      delivery: { retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT0.5S', timeout: 'PT10S', deadLetterSink: { uri: 'http://dl' } },
    },
  },
  Subscription: {
    apiVersion: 'messaging.knative.dev/v1', kind: 'Subscription', metadata: meta('s'),
    spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'c' }, subscriber: { uri: 'http://x' } },
  },
  Channel: {
    apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: meta('c'),
    spec: { channelTemplate: { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel', spec: { numPartitions: 3 } } },
  },
};

test('the CRDs match the snapshot', () => {
  expect(crds).toMatchSnapshot();
});

test('every CRD is structural and passes the published CRD schema', () => {
  expect(crds).toHaveLength(6);
  for (const crd of crds) {
    expect(crdStructuralProblems(crd)).toEqual([]);
    validateManifest(crd);
  }
});

test.each(Object.keys(valid))('a well-formed %s is accepted by its synthesized CRD', (kind) => {
  expect(customResourceProblems(valid[kind], registry)).toEqual([]);
  validateManifest(valid[kind], registry);
});

test('a status written by a controller is accepted', () => {
  const withStatus = {
    ...valid.HTTPSource,
    status: { observedGeneration: 2, sinkUri: 'http://x', conditions: [{ type: 'Ready', status: 'False', reason: 'ServiceNotReady', lastTransitionTime: '2024-01-01T00:00:00Z' }] },
  };
  expect(customResourceProblems(withStatus, registry)).toEqual([]);
});

const set = (obj: Manifest, path: string, value: unknown): Manifest => {
  const copy = JSON.parse(JSON.stringify(obj));
  const keys = path.split('.');
  let node = copy;
  for (const k of keys.slice(0, -1)) node = node[k];
  if (value === undefined) delete node[keys[keys.length - 1]];
  else node[keys[keys.length - 1]] = value;
  return copy;
};

test.each<[string, Manifest, RegExp]>([
  ['HTTPSource without spec.source', set(valid.HTTPSource, 'spec.source', undefined), /must have required property 'source'/],
  ['HTTPSource with an empty source', set(valid.HTTPSource, 'spec.source', ''), /spec\/source must NOT have fewer than 1 characters/],
  ['HTTPSource with an unknown spec field', set(valid.HTTPSource, 'spec.sink', 'x'), /must NOT have additional properties \(sink\)/],
  ['HTTPSource with a condition status of "yes"', set(valid.HTTPSource, 'status', { conditions: [{ type: 'Ready', status: 'yes' }] }), /must be equal to one of the allowed values/],
  ['Application event without a type', set(valid.Application, 'spec.events', [{ version: 'v1' }]), /must have required property 'type'/],
  ['Application service entry of an unknown type', set(valid.Application, 'spec.services', [{ id: '1', name: 'o', entries: [{ type: 'Queue' }] }]), /allowed values/],
  ['Trigger with a negative retry', set(valid.Trigger, 'spec.delivery.retry', -1), /retry must be >= 0/],
  ['Trigger with a non-ISO backoffDelay', set(valid.Trigger, 'spec.delivery.backoffDelay', '500ms'), /backoffDelay must match pattern/],
  ['Trigger with an unknown backoffPolicy', set(valid.Trigger, 'spec.delivery.backoffPolicy', 'random'), /allowed values/],
  ['Trigger without a subscriber', set(valid.Trigger, 'spec.subscriber', undefined), /must have required property 'subscriber'/],
  ['Trigger with a subscriber ref lacking a name', set(valid.Trigger, 'spec.subscriber', { ref: { apiVersion: 'v1', kind: 'Service' } }), /must have required property 'name'/],
  ['Trigger with a filter value that is not a string', set(valid.Trigger, 'spec.filter.attributes', { type: 1 }), /must be string/],
  ['Trigger filters entry with two dialects', set(valid.Trigger, 'spec.filters', [{ exact: { type: 'a' }, prefix: { type: 'b' } }]), /must NOT have more than 1 properties/],
  ['Trigger filters entry with an unknown dialect', set(valid.Trigger, 'spec.filters', [{ regex: { type: 'a' } }]), /additional properties \(regex\)/],
  ['Subscription without channel', set(valid.Subscription, 'spec.channel', undefined), /must have required property 'channel'/],
  ['Channel template without kind', set(valid.Channel, 'spec.channelTemplate', { apiVersion: 'x/v1' }), /must have required property 'kind'/],
  ['Broker with a misspelt field', set(valid.Broker, 'spec.delivery.retries', 3), /additional properties \(retries\)/],
])('rejects %s', (_case, bad, message) => {
  const problems = customResourceProblems(bad, registry);
  expect(problems.join('\n')).toMatch(message);
  expect(() => validateManifest(bad, registry)).toThrow(/fails CRD/);
});

test('Knative CRDs are optional: off for clusters that run Knative Eventing', () => {
  const chart = new Chart(Testing.app(), 'c');
  new EventMesh(chart, 'mesh', { crds: { knative: false } });
  const names = synth(chart).filter((m) => m.kind === 'CustomResourceDefinition').map((m) => m.metadata!.name);
  expect(names.sort()).toEqual(['applications.applicationconnector.kyma-project.io', 'httpsources.sources.kyma-project.io']);
});

describe('the manifest validator itself', () => {
  test('fails an object whose kind no schema knows instead of skipping it', () => {
    expect(() => validateManifest({ apiVersion: 'serverless.kyma-project.io/v1alpha2', kind: 'Function', metadata: { name: 'f' } }))
      .toThrow(/no published model or synthesized CRD knows serverless.kyma-project.io\/v1alpha2 Function/);
  });

  test('fails an invalid built-in object', () => {
    const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 'http' }] }] } } } };
    expect(() => validateManifest(bad)).toThrow(/containerPort must be integer/);
  });

  test('flags a non-structural schema', () => {
    const crd = JSON.parse(JSON.stringify(crds[0]));
    crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.untyped = { description: 'no type' };
    expect(crdStructuralProblems(crd)).toEqual([expect.stringMatching(/spec.untyped has no type/)]);
  });
});
