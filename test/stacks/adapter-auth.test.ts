/**
 * The Pulumi EventMesh component passes the adapter auth options through unchanged (the
 * same cert-manager objects and Secret references the construct renders) and puts no key
 * material or token into any resource input or output. Runs under pulumi.runtime.setMocks.
 */
import { installMocks, registered, resetRecords, settle, valueOf } from './harness';

installMocks();

import { EventMesh } from '../../stacks/event-mesh';

const COMPONENT = 'event-mesh:index:EventMesh';

beforeEach(() => resetRecords());

test('auth options pass through; outputs and inputs hold no key or token', async () => {
  const mesh = new EventMesh('auth', {
    adapters: { auth: { mode: 'mtls', clientIdentity: 'cn:commerce' } },
    applications: [
      { name: 'commerce', namespaces: ['prod'] },
      { name: 'partner', auth: { mode: 'token', secret: 'partner-tokens' } },
    ],
  });
  await settle([mesh, ...mesh.deployed.map((d) => d.resource)]);
  const component = registered().find((r) => r.type === COMPONENT && r.name === 'auth')!;
  const children = registered().filter((r) => r.parent === component.urn);
  const kinds = children.map((r) => `${(r.inputs as { kind?: string }).kind} ${(r.inputs as { metadata?: { name?: string } }).metadata?.name}`);
  expect(kinds).toEqual(expect.arrayContaining([
    'Issuer event-mesh-ca', 'Certificate commerce-adapter-tls', 'Certificate commerce-client-tls', 'Certificate partner-adapter-tls',
  ]));
  const deployment = children.find((r) => (r.inputs as { kind?: string; metadata?: { name?: string } }).kind === 'Deployment'
    && (r.inputs as { metadata?: { name?: string } }).metadata?.name === 'partner-adapter')!;
  const env = (deployment.inputs as any).spec.template.spec.containers[0].env as { name: string; value?: string }[];
  expect(env).toEqual(expect.arrayContaining([{ name: 'AUTH', value: 'token' }, { name: 'TOKENS_FILE', value: '/etc/event-mesh/tokens/tokens' }]));
  expect(await valueOf(mesh.adapterUrls)).toEqual({
    commerce: 'https://commerce-adapter.kyma-integration.svc.cluster.local/events',
    partner: 'https://partner-adapter.kyma-integration.svc.cluster.local/events',
  });
  const everything = JSON.stringify(registered().map((r) => r.rawInputs));
  expect(everything).not.toMatch(/-----BEGIN [A-Z ]*-----/);
  expect(children.filter((r) => (r.inputs as { kind?: string }).kind === 'Secret')).toEqual([]);
});
