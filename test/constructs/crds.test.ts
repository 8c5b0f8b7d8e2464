import { Chart, Testing } from 'cdk8s';
import { EventMesh, EventMeshCrds } from '../../constructs';
import { synth } from '../support/synth';
import {
  crdDefinitionProblems, crdRegistry, crdStructuralProblems, customResourceProblems, metadataProblems, validateManifest, type CrdRegistry, type Manifest,
} from '../support/validate-manifests';

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
  expect(crds).toHaveLength(7);
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
  expect(names.sort()).toEqual(['applicationmappings.applicationconnector.kyma-project.io', 'applications.applicationconnector.kyma-project.io', 'httpsources.sources.kyma-project.io']);
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

  test('fails a CRD the API server would refuse: name not <plural>.<group>, a column on no field, status without subresource', () => {
    const crd = JSON.parse(JSON.stringify(crds.find((c) => c.metadata!.name === 'httpsources.sources.kyma-project.io')));
    expect(crdDefinitionProblems(crd)).toEqual([]);
    crd.metadata.name = 'httpsource.sources.kyma-project.io';
    crd.spec.versions[0].additionalPrinterColumns.push({ name: 'SINK2', type: 'string', jsonPath: '.status.sinkURI' });
    delete crd.spec.versions[0].subresources;
    expect(crdDefinitionProblems(crd)).toEqual([
      expect.stringMatching(/metadata.name must be "<plural>.<group>" = "httpsources.sources.kyma-project.io"/),
      expect.stringMatching(/no status subresource/),
      expect.stringMatching(/column SINK2 jsonPath ".status.sinkURI" names no field/),
    ]);
    expect(() => validateManifest(crd)).toThrow(/would be rejected by the API server/);
  });

  test('every printer column of our CRDs points at a field of its schema', () => {
    const columns = crds.flatMap((c) => (c.spec as any).versions[0].additionalPrinterColumns as { jsonPath: string }[]);
    expect(columns.map((c) => c.jsonPath)).toEqual(expect.arrayContaining(['.status.conditions[?(@.type=="Ready")].status', '.status.sinkUri', '.spec.broker']));
    for (const crd of crds) expect(crdDefinitionProblems(crd)).toEqual([]);
  });

  test('fails labels, annotations and names the API server would refuse, wherever they are', () => {
    const long = 'x'.repeat(64);
    const bad = {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'Bad_Name', labels: { ok: 'a', 'a/b/c': 'v' }, annotations: { 'bad key': 'v' } },
      spec: { selector: { matchLabels: { app: long } }, template: { metadata: { labels: { app: '-x' } } }, volumeClaimTemplates: [{ metadata: { labels: { v: 'ok' } } }] },
    };
    expect(metadataProblems(bad)).toEqual([
      expect.stringMatching(/metadata.name "Bad_Name" is not a DNS-1123 subdomain/),
      expect.stringMatching(/metadata.labels: key "a\/b\/c" has an invalid prefix/),
      expect.stringMatching(/metadata.annotations: key "bad key" is not a qualified name/),
      expect.stringMatching(/spec.template.metadata.labels: value "-x" must be alphanumeric at both ends/),
      expect.stringMatching(/spec.selector.matchLabels: value "x{64}" is longer than 63 characters/),
    ]);
    expect(metadataProblems({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a.b' }, spec: { selector: { app: long } } })).toEqual([
      expect.stringMatching(/"a.b" is not a DNS-1123 label/),
      expect.stringMatching(/spec.selector: value "x{64}" is longer than 63/),
    ]);
    expect(() => validateManifest({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { l: long } } })).toThrow(/has invalid metadata/);
  });

  test('flags a non-structural schema', () => {
    const crd = JSON.parse(JSON.stringify(crds[0]));
    crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.untyped = { description: 'no type' };
    expect(crdStructuralProblems(crd)).toEqual([expect.stringMatching(/spec.untyped has no type/)]);
  });
});
