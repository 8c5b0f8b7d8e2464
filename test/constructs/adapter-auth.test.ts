/**
 * Adapter authentication in the synthesized output: mTLS by default for every adapter (a
 * check that fails for an adapter rendered open without `auth: { mode: 'none' }`),
 * cert-manager objects validated against the published cert-manager schemas, existing
 * Secrets by reference, tokens, read-only mounts, the TLS-passthrough Ingress, and no
 * private key or token anywhere in the output.
 */
import { Chart, Testing } from 'cdk8s';
import { buildCommerceChart } from '../../examples/commerce/main';
import { buildKafkaAzureChart } from '../../examples/kafka-azure/main';
import { buildNatsProductionChart } from '../../examples/nats-production/main';
import { EventMesh, type EventMeshProps } from '../../constructs';
import { all, containerEnv, find, synth } from '../support/synth';
import { validateManifests, type Manifest } from '../support/validate-manifests';

const spec = (m: Manifest) => m.spec as any;
const render = (props: EventMeshProps) => synth((() => {
  const chart = new Chart(Testing.app(), 'c');
  new EventMesh(chart, 'mesh', props);
  return chart;
})());

/** Adapter workloads (Deployments or Knative Services labelled as adapters). */
function adapters(manifests: Manifest[]): Manifest[] {
  return manifests.filter((m) => (m.kind === 'Deployment' || (m.kind === 'Service' && m.apiVersion === 'serving.knative.dev/v1'))
    && m.metadata?.labels?.['app.kubernetes.io/component'] === 'adapter');
}

/** Names of adapters that accept unauthenticated clients: AUTH none or no AUTH at all. */
function openAdapters(manifests: Manifest[]): string[] {
  return adapters(manifests).filter((a) => {
    const auth = containerEnv(a).AUTH;
    return auth !== 'mtls' && auth !== 'token';
  }).map((a) => a.metadata!.name!);
}

/** Every string in the output that looks like key material, or a given secret value. */
function secretsIn(manifests: Manifest[], extra: string[] = []): string[] {
  const text = JSON.stringify(manifests);
  const found = [...text.matchAll(/-----BEGIN [A-Z ]*-----/g)].map((m) => m[0]);
  for (const s of extra) if (text.includes(s)) found.push(s);
  for (const m of manifests) if (m.kind === 'Secret' && (m.data || m.stringData)) found.push(`Secret ${m.metadata?.name} with data`);
  return found;
}

const examples: [string, () => Manifest[]][] = [
  ['commerce', () => synth(buildCommerceChart(Testing.app()))],
  ['kafka-azure', () => synth(buildKafkaAzureChart(Testing.app()))],
  ['nats-production', () => synth(buildNatsProductionChart(Testing.app()))],
  ['three applications, defaults only', () => render({ applications: [{ name: 'a' }, { name: 'b', namespaces: ['x'] }, { name: 'c', channel: 'inmemory' }] })],
];

describe.each(examples)('default output: %s', (_name, make) => {
  let manifests: Manifest[];
  beforeAll(() => {
    manifests = make();
  });

  test('every adapter requires mTLS', () => {
    expect(adapters(manifests).length).toBeGreaterThan(0);
    expect(openAdapters(manifests)).toEqual([]);
    for (const a of adapters(manifests)) {
      const env = containerEnv(a);
      expect(env).toMatchObject({ AUTH: 'mtls', TLS_CERT_FILE: '/etc/event-mesh/tls/tls.crt', TLS_KEY_FILE: '/etc/event-mesh/tls/tls.key', CLIENT_CA_FILE: '/etc/event-mesh/tls/ca.crt', PROBE_PORT: '9090' });
      const pod = spec(a).template.spec;
      const mount = pod.containers[0].volumeMounts.find((m: any) => m.mountPath === '/etc/event-mesh/tls');
      expect(mount).toMatchObject({ readOnly: true });
      const volume = pod.volumes.find((v: any) => v.name === mount.name);
      expect(volume.secret.secretName).toBe(`${a.metadata!.name}-tls`);
    }
  });

  test('the mesh CA Issuer, a serving and a client Certificate per adapter, valid against the cert-manager schemas', () => {
    const certs = manifests.filter((m) => m.apiVersion === 'cert-manager.io/v1');
    expect(certs.length).toBeGreaterThan(0);
    expect(validateManifests(certs)).toBe(certs.length);
    const issuers = all(manifests, 'Issuer');
    expect(issuers.map((i) => i.metadata!.name).sort()).toEqual(['event-mesh-ca', 'event-mesh-selfsigned']);
    expect(spec(find(manifests, 'Issuer', 'event-mesh-ca')).ca).toEqual({ secretName: 'event-mesh-ca' });
    expect(spec(find(manifests, 'Certificate', 'event-mesh-ca'))).toMatchObject({ isCA: true, issuerRef: { name: 'event-mesh-selfsigned', kind: 'Issuer' } });
    for (const a of adapters(manifests)) {
      const app = a.metadata!.labels!['event-mesh.dev/application'];
      const serving = spec(find(manifests, 'Certificate', `${app}-adapter-tls`));
      expect(serving).toMatchObject({ secretName: `${app}-adapter-tls`, issuerRef: { name: 'event-mesh-ca', kind: 'Issuer', group: 'cert-manager.io' }, usages: expect.arrayContaining(['server auth']) });
      expect(serving.dnsNames).toEqual(expect.arrayContaining([`${app}-adapter.${a.metadata!.namespace}.svc`]));
      const client = spec(find(manifests, 'Certificate', `${app}-client-tls`));
      expect(client).toMatchObject({ commonName: app, secretName: `${app}-client-tls`, usages: expect.arrayContaining(['client auth']) });
    }
    // Everything else still validates next to them.
    expect(validateManifests(manifests)).toBe(manifests.length);
  });

  test('the Service and NetworkPolicy carry HTTPS and a separate probe/metrics port', () => {
    for (const a of adapters(manifests)) {
      const svc = find(manifests, 'Service', a.metadata!.name!, a.metadata!.namespace);
      expect(spec(svc).ports.map((p: any) => [p.name, p.port])).toEqual([['https', 443], ['metrics', 9090]]);
      const probe = spec(a).template.spec.containers[0].readinessProbe.httpGet;
      expect(probe.port).toBe(9090);
    }
  });

  test('no private key or token in any synthesized manifest', () => {
    expect(secretsIn(manifests)).toEqual([]);
  });
});

describe('choosing the auth', () => {
  test('an adapter rendered open is caught, and only with an explicit mode none', () => {
    const manifests = render({ applications: [{ name: 'open', auth: { mode: 'none' } }, { name: 'closed' }] });
    expect(openAdapters(manifests)).toEqual(['open-adapter']);
    expect(containerEnv(find(manifests, 'Deployment', 'open-adapter'))).toMatchObject({ AUTH: 'none' });
    expect(spec(find(manifests, 'Service', 'open-adapter')).ports.map((p: any) => [p.name, p.port])).toEqual([['http', 80], ['metrics', 9090]]);
    expect(all(manifests, 'Certificate').map((c) => c.metadata!.name).sort()).toEqual(['closed-adapter-tls', 'closed-client-tls', 'event-mesh-ca']);
  });

  test('a mesh-wide default in adapters.auth, overridden per application', () => {
    const manifests = render({
      adapters: { auth: { mode: 'token', secret: 'mesh-tokens' } },
      applications: [{ name: 'a' }, { name: 'b', auth: { mode: 'mtls' } }, { name: 'c', adapter: { auth: { mode: 'none' } } }],
    });
    expect(containerEnv(find(manifests, 'Deployment', 'a-adapter')).AUTH).toBe('token');
    expect(containerEnv(find(manifests, 'Deployment', 'b-adapter')).AUTH).toBe('mtls');
    expect(containerEnv(find(manifests, 'Deployment', 'c-adapter')).AUTH).toBe('none');
    expect(validateManifests(manifests)).toBe(manifests.length);
  });

  test('tokens from an existing Secret, mounted read-only; HTTPS from cert-manager unless turned off', () => {
    const manifests = render({ applications: [
      { name: 'tok', auth: { mode: 'token', secret: 'tok-tokens', secretKey: 'list' } },
      { name: 'plain', auth: { mode: 'token', secret: 'plain-tokens', servingSecret: false } },
    ] });
    const tok = find(manifests, 'Deployment', 'tok-adapter');
    expect(containerEnv(tok)).toMatchObject({ AUTH: 'token', TOKENS_FILE: '/etc/event-mesh/tokens/tokens', TLS_CERT_FILE: '/etc/event-mesh/tls/tls.crt' });
    const pod = spec(tok).template.spec;
    const tokenVolume = pod.volumes.find((v: any) => v.secret?.secretName === 'tok-tokens');
    expect(tokenVolume.secret.items).toEqual([{ key: 'list', path: 'tokens' }]);
    expect(pod.containers[0].volumeMounts.find((m: any) => m.name === tokenVolume.name)).toMatchObject({ mountPath: '/etc/event-mesh/tokens', readOnly: true });
    expect(find(manifests, 'Certificate', 'tok-adapter-tls')).toBeDefined();
    expect(manifests.some((m) => m.kind === 'Certificate' && m.metadata!.name === 'tok-client-tls')).toBe(false);
    expect(containerEnv(find(manifests, 'Deployment', 'plain-adapter')).TLS_CERT_FILE).toBeUndefined();
    expect(spec(find(manifests, 'Service', 'plain-adapter')).ports[0]).toMatchObject({ name: 'http', port: 80 });
    expect(validateManifests(manifests)).toBe(manifests.length);
  });

  test('existing Secrets by reference: no cert-manager objects at all', () => {
    // Without the controller (which would render later Applications with the default auth).
    const manifests = render({ controller: { enabled: false }, applications: [{
      name: 'byref',
      auth: { mode: 'mtls', servingSecret: 'byref-serving', clientCaSecret: 'partner-ca', clientCaKey: 'bundle.pem', clientIdentity: 'uri:spiffe://partner/byref', trustedProxies: ['10.0.0.0/8'] },
    }] });
    expect(manifests.filter((m) => m.apiVersion === 'cert-manager.io/v1')).toEqual([]);
    const d = find(manifests, 'Deployment', 'byref-adapter');
    expect(containerEnv(d)).toMatchObject({
      AUTH: 'mtls', CLIENT_CA_FILE: '/etc/event-mesh/client-ca/ca.crt', CLIENT_IDENTITY: 'uri:spiffe://partner/byref', TRUSTED_PROXIES: '10.0.0.0/8',
    });
    const pod = spec(d).template.spec;
    expect(pod.volumes.map((v: any) => v.secret?.secretName).filter(Boolean).sort()).toEqual(['byref-serving', 'partner-ca']);
    for (const m of pod.containers[0].volumeMounts.filter((x: any) => x.mountPath.startsWith('/etc/event-mesh'))) expect(m.readOnly).toBe(true);
    expect(validateManifests(manifests)).toBe(manifests.length);
  });

  test('a given issuer is used and no mesh CA is rendered', () => {
    const manifests = render({ certificateIssuer: { name: 'corp-ca', kind: 'ClusterIssuer' }, applications: [{ name: 'a' }] });
    expect(all(manifests, 'Issuer')).toEqual([]);
    for (const c of all(manifests, 'Certificate')) expect(spec(c).issuerRef).toEqual({ name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
    expect(validateManifests(manifests)).toBe(manifests.length);
  });

  test('the mesh CA is rendered when an adapter may need it: a static one, or one the controller renders later', () => {
    const certManager = (props: EventMeshProps) => render(props).filter((m) => m.apiVersion === 'cert-manager.io/v1').map((m) => `${m.kind} ${m.metadata!.name}`).sort();
    const ca = ['Certificate event-mesh-ca', 'Issuer event-mesh-ca', 'Issuer event-mesh-selfsigned'];
    expect(certManager({ applications: [{ name: 'a', auth: { mode: 'none' } }], controller: { enabled: false } })).toEqual([]);
    expect(certManager({ adapters: { auth: { mode: 'none' } }, applications: [{ name: 'a' }] })).toEqual([]);
    // No static application, but the controller renders Applications with the default (mTLS) auth.
    expect(certManager({})).toEqual(ca);
    expect(certManager({ controller: { enabled: false } })).toEqual([]);
    // The controller's mesh settings carry a custom issuer, so its Certificates reference the same one.
    const settings = render({ certificateIssuer: { name: 'corp-ca', kind: 'ClusterIssuer' } }).find((m) => m.kind === 'ConfigMap' && JSON.stringify(m).includes('corp-ca'));
    expect(settings).toBeDefined();
  });

  test('an Ingress in TLS passthrough; its host is in the serving certificate', () => {
    const manifests = render({ applications: [{ name: 'shop', adapter: { ingress: { host: 'shop.events.example.com' } } }] });
    const ingress = find(manifests, 'Ingress', 'shop-adapter');
    expect(ingress.metadata!.annotations).toMatchObject({ 'nginx.ingress.kubernetes.io/ssl-passthrough': 'true' });
    expect(spec(ingress).rules[0]).toMatchObject({ host: 'shop.events.example.com', http: { paths: [{ backend: { service: { name: 'shop-adapter', port: { name: 'https' } } } }] } });
    expect(spec(find(manifests, 'Certificate', 'shop-adapter-tls')).dnsNames).toContain('shop.events.example.com');
    expect(validateManifests(manifests)).toBe(manifests.length);
  });

  test.each([
    [{ applications: [{ name: 'x', auth: { mode: 'basic' } as never }] }, /adapter auth\.mode must be "mtls", "token" or "none", got "basic".*at c\/mesh\/Applications\/x\/Adapter/],
    [{ applications: [{ name: 'x', auth: { mode: 'token' } as never }] }, /adapter auth\.secret \(tokens\) must name a Secret.*got undefined/],
    [{ applications: [{ name: 'x', auth: { mode: 'mtls', servingSecret: 'Bad_Name' } }] }, /auth\.servingSecret must name a Secret.*got "Bad_Name"/],
    [{ applications: [{ name: 'x', auth: { mode: 'none' }, adapter: { ingress: { host: 'x.example.com' } } }] }, /ingress is TLS passthrough, but the adapter serves plain HTTP \(auth "none"\)/],
    [{ applications: [{ name: 'x', adapter: { ingress: { host: 'Not A Host' } } }] }, /ingress\.host must be a DNS name, got "Not A Host"/],
  ] as [EventMeshProps, RegExp][])('bad props fail at synth with the path and the fix: %#', (props, message) => {
    expect(() => render(props)).toThrow(message);
  });

  test('tokens never enter the output: only the Secret name does', () => {
    const manifests = render({ applications: [{ name: 'a', auth: { mode: 'token', secret: 'a-tokens' } }] });
    expect(secretsIn(manifests)).toEqual([]);
    expect(JSON.stringify(manifests)).toContain('a-tokens');
  });
});
