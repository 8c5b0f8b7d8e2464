/**
 * Validation rejects unknown fields in built-in and Knative kinds too, as the API server's
 * strict field validation does: a misspelt field in a Deployment or a Trigger fails, while
 * the free-form parts of the schemas (maps, int-or-string, quantities, untyped JSON) and the
 * Knative v1 fields newer than the model library still pass.
 */
import { validateManifest, type Manifest } from '../support/validate-manifests';

const deployment = (): Manifest => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'adapter', namespace: 'kyma-integration', labels: { 'app.kubernetes.io/name': 'adapter' }, annotations: { 'example.com/any': 'thing' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'adapter' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
    template: {
      metadata: { labels: { app: 'adapter' } },
      spec: {
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 1000 },
        containers: [
          {
            name: 'adapter',
            image: 'ghcr.io/example/adapter:1',
            ports: [{ containerPort: 8080, name: 'http' }],
            env: [{ name: 'NATS_URL', value: 'nats://nats:4222' }, { name: 'PASS', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
            resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: 0.1 } },
            readinessProbe: { httpGet: { path: '/readyz', port: 'http' } },
            livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
            securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    },
  },
});

const trigger = (): Manifest => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name: 'orders', namespace: 'shop' },
  spec: {
    broker: 'default',
    filter: { attributes: { type: 'order.created', eventtypeversion: 'v1', myextension: 'x' } },
    subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'fn' }, uri: '/path' },
    delivery: { retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S', deadLetterSink: { uri: 'http://dls.shop.svc.cluster.local' } },
  },
});

/** A copy of `obj` with `value` at the dotted `path` (array indexes as numbers). */
function set(obj: Manifest, path: string, value: unknown): Manifest {
  const copy = JSON.parse(JSON.stringify(obj)) as Manifest;
  const keys = path.split('.');
  let node: any = copy;
  for (const k of keys.slice(0, -1)) node = node[k];
  node[keys[keys.length - 1]] = value;
  return copy;
}
function unset(obj: Manifest, path: string): Manifest {
  const copy = JSON.parse(JSON.stringify(obj)) as Manifest;
  const keys = path.split('.');
  let node: any = copy;
  for (const k of keys.slice(0, -1)) node = node[k];
  delete node[keys[keys.length - 1]];
  return copy;
}

test('a correct Deployment and Trigger pass (maps, int-or-string and quantities are free-form)', () => {
  expect(() => validateManifest(deployment())).not.toThrow();
  expect(() => validateManifest(trigger())).not.toThrow();
});

test.each([
  ['spec.replica (for replicas)', set(unset(deployment(), 'spec.replicas'), 'spec.replica', 2), /spec\.replica is not a field of Deployment \(did you mean replicas\?\)/],
  ['a container field', set(deployment(), 'spec.template.spec.containers.0.imagePullPolice', 'Always'), /spec\.template\.spec\.containers\[0\]\.imagePullPolice is not a field of Deployment \(did you mean imagePullPolicy\?\)/],
  ['a security context field', set(deployment(), 'spec.template.spec.containers.0.securityContext.readOnlyRootFileSystem', true), /readOnlyRootFileSystem is not a field/],
  ['a probe field', set(deployment(), 'spec.template.spec.containers.0.readinessProbe.httpGet.paht', '/x'), /httpGet\.paht is not a field/],
  ['a top-level field', set(deployment(), 'specs', {}), /specs is not a field of Deployment/],
])('a Deployment with a misspelt field fails: %s', (_name, obj, message) => {
  expect(() => validateManifest(obj)).toThrow(message);
  expect(() => validateManifest(obj)).toThrow(/apps\/v1 Deployment kyma-integration\/adapter has fields its published schema does not define/);
});

test.each([
  ['spec.subscriber.url (for uri)', set(unset(trigger(), 'spec.subscriber.uri'), 'spec.subscriber.url', '/path'), /spec\.subscriber\.url is not a field of Trigger \(did you mean uri\?\)/],
  ['spec.filter.attribute (for attributes)', set(unset(trigger(), 'spec.filter.attributes'), 'spec.filter.attribute', { type: 'x' }), /spec\.filter\.attribute is not a field of Trigger/],
  ['spec.delivery.retries (for retry)', set(trigger(), 'spec.delivery.retries', 3), /spec\.delivery\.retries is not a field of Trigger/],
  ['spec.brokr', set(trigger(), 'spec.brokr', 'default'), /spec\.brokr is not a field of Trigger \(did you mean broker\?\)/],
])('a Trigger with a misspelt field fails: %s', (_name, obj, message) => {
  expect(() => validateManifest(obj)).toThrow(message);
});

test('Knative v1 fields newer than the model library pass: filters, delivery.timeout', () => {
  const t = set(set(trigger(), 'spec.filters', [{ exact: { type: 'a' } }, { not: { prefix: { source: 'x' } } }]), 'spec.delivery.timeout', 'PT5S');
  expect(() => validateManifest(t)).not.toThrow();
  const broker: Manifest = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: { delivery: { retry: 2, timeout: 'PT1S' } } };
  expect(() => validateManifest(broker)).not.toThrow();
  expect(() => validateManifest(set(broker, 'spec.delivery.retries', 2))).toThrow(/spec\.delivery\.retries is not a field of Broker/);
});

test('other built-in kinds: Service, ConfigMap, NetworkPolicy', () => {
  const service: Manifest = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { selector: { app: 'a' }, ports: [{ port: 80, targetPort: 'http' }] } };
  expect(() => validateManifest(service)).not.toThrow();
  expect(() => validateManifest(set(service, 'spec.ports', [{ port: 80, targetport: 8080 }]))).toThrow(/spec\.ports\[0\]\.targetport is not a field of Service \(did you mean targetPort\?\)/);
  const cm: Manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { 'any-key': 'v', 'routing.yaml': 'x' } };
  expect(() => validateManifest(cm)).not.toThrow();
  expect(() => validateManifest(set(cm, 'date', {}))).toThrow(/date is not a field of ConfigMap \(did you mean data\?\)/);
  const np: Manifest = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'np' }, spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { a: 'b' } } }], ports: [{ port: 8080 }] }] } };
  expect(() => validateManifest(np)).not.toThrow();
  expect(() => validateManifest(set(np, 'spec.policyType', ['Ingress']))).toThrow(/spec\.policyType is not a field of NetworkPolicy \(did you mean policyTypes\?\)/);
});
