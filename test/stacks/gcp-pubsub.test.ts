/** The GcpPubSub Pulumi component under pulumi.runtime.setMocks: resource graph, least privilege, Workload Identity, no secrets. */
import { readFileSync } from 'fs';
import { join } from 'path';
import { byName, installMocks, registered, resetRecords, settle, urnParts, valueOf } from './harness';

installMocks();

import {
  GcpPubSub, PUBSUB_RESOURCE_PERMISSIONS, validateGcpPubSubArgs, type GcpPubSubArgs,
} from '../../stacks/gcp-pubsub';
import { PUBSUB_ADAPTER_SERVICE_ACCOUNT, pubsubTopicId } from '../../constructs/api';

const COMPONENT = 'event-mesh:gcp:GcpPubSub';
const EMAIL = 'event-mesh@my-project.iam.gserviceaccount.com';

async function build(name: string, args: GcpPubSubArgs): Promise<GcpPubSub> {
  const c = new GcpPubSub(name, args);
  await settle([c, c.serviceAccount, ...c.projectMembers, ...c.workloadIdentityBindings, ...c.topics, ...(c.customRole ? [c.customRole] : [])]);
  return c;
}

const projectRoles = () => registered().filter((r) => r.type === 'gcp:projects/iAMMember:IAMMember').map((r) => r.inputs.role).sort();

describe('GcpPubSub', () => {
  beforeEach(() => resetRecords());

  test('a service account, two predefined roles, the custom role and two Workload Identity bindings, all children of the component', async () => {
    const c = await build('pubsub', { project: 'my-project' });
    expect(registered().map((r) => r.type).sort()).toEqual([
      COMPONENT,
      'gcp:projects/iAMCustomRole:IAMCustomRole',
      'gcp:projects/iAMMember:IAMMember',
      'gcp:projects/iAMMember:IAMMember',
      'gcp:projects/iAMMember:IAMMember',
      'gcp:serviceaccount/account:Account',
      'gcp:serviceaccount/iAMMember:IAMMember',
      'gcp:serviceaccount/iAMMember:IAMMember',
    ].sort());
    const component = registered().find((r) => r.type === COMPONENT)!;
    for (const r of registered().filter((x) => x !== component)) {
      expect(r.parent).toBe(component.urn);
      expect(urnParts(r.urn).types).toEqual([COMPONENT, r.type]);
    }
    expect(byName('pubsub-gsa').inputs).toMatchObject({ project: 'my-project', accountId: 'event-mesh' });
    expect(await valueOf(c.serviceAccountEmail)).toBe(EMAIL);
  });

  test('least privilege: exactly publisher, subscriber and the custom role, each for the mesh service account only', async () => {
    await build('pubsub', { project: 'my-project' });
    expect(projectRoles()).toEqual(['projects/my-project/roles/eventMeshPubSubResources', 'roles/pubsub.publisher', 'roles/pubsub.subscriber']);
    for (const r of registered().filter((x) => x.type === 'gcp:projects/iAMMember:IAMMember')) {
      expect(r.inputs).toEqual({ project: 'my-project', role: r.inputs.role, member: `serviceAccount:${EMAIL}` });
      expect(String(r.inputs.role)).not.toMatch(/admin|editor|owner/);
    }
  });

  test('the custom role has exactly the permissions docs/pubsub.md lists, none that deletes', async () => {
    await build('pubsub', { project: 'my-project' });
    const role = byName('pubsub-resources-role').inputs;
    const doc = readFileSync(join(__dirname, '../../docs/pubsub.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Permissions'), doc.indexOf('## Testing'));
    const documented = [...section.matchAll(/`(pubsub\.[a-z]+\.[a-z]+)`/g)].map((m) => m[1]).sort();
    expect(documented.length).toBeGreaterThan(0);
    expect([...(role.permissions as string[])].sort()).toEqual(documented);
    expect(role.permissions).toEqual([...PUBSUB_RESOURCE_PERMISSIONS]);
    expect((role.permissions as string[]).some((p) => /delete|setIamPolicy/.test(p))).toBe(false);
  });

  test('createResources: false drops the custom role', async () => {
    await build('pubsub', { project: 'my-project', createResources: false });
    expect(registered().some((r) => r.type === 'gcp:projects/iAMCustomRole:IAMCustomRole')).toBe(false);
    expect(projectRoles()).toEqual(['roles/pubsub.publisher', 'roles/pubsub.subscriber']);
  });

  test('Workload Identity: roles/iam.workloadIdentityUser on the service account for the dispatcher and the Pub/Sub adapters', async () => {
    const c = await build('pubsub', { project: 'my-project', systemNamespace: 'mesh', integrationNamespace: 'apps' });
    const expected = ['serviceAccount:my-project.svc.id.goog[mesh/event-mesh-dispatcher]', `serviceAccount:my-project.svc.id.goog[apps/${PUBSUB_ADAPTER_SERVICE_ACCOUNT}]`];
    const bindings = registered().filter((r) => r.type === 'gcp:serviceaccount/iAMMember:IAMMember');
    expect(bindings.map((b) => b.inputs.member)).toEqual(expected);
    for (const b of bindings) {
      expect(b.inputs.role).toBe('roles/iam.workloadIdentityUser');
      expect(b.inputs.serviceAccountId).toBe(`projects/my-project/serviceAccounts/${EMAIL}`);
    }
    expect(await valueOf(c.workloadIdentityMembers)).toEqual(expected);
  });

  test('topics per application channel and broker, named as the runtime names them', async () => {
    const c = await build('pubsub', {
      project: 'my-project',
      topics: { applications: ['commerce'], brokers: [{ namespace: 'prod', name: 'default' }], messageRetentionDuration: '86400s' },
    });
    const topics = registered().filter((r) => r.type === 'gcp:pubsub/topic:Topic').map((r) => r.inputs);
    expect(topics).toEqual([
      { project: 'my-project', name: pubsubTopicId('channel.kyma-integration.commerce'), messageRetentionDuration: '86400s' },
      { project: 'my-project', name: pubsubTopicId('broker.prod.default'), messageRetentionDuration: '86400s' },
    ]);
    expect(await valueOf(c.topicIds)).toEqual(topics.map((t) => t.name));
  });

  test('nothing secret: no key is created and no input or output holds key material', async () => {
    const c = await build('pubsub', { project: 'my-project', topics: { applications: ['commerce'] } });
    expect(registered().some((r) => /key/i.test(r.type))).toBe(false);
    const everything = JSON.stringify(registered().map((r) => r.rawInputs))
      + JSON.stringify(await Promise.all([valueOf<unknown>(c.serviceAccountEmail), valueOf<unknown>(c.workloadIdentityMembers), valueOf<unknown>(c.topicIds)]));
    expect(everything).not.toMatch(/PRIVATE KEY|private_key|privateKey/);
  });

  test('bad arguments are reported all at once', () => {
    expect(validateGcpPubSubArgs({ project: 'My Project', accountId: 'x', topics: { applications: ['a', 'a'], messageRetentionDuration: '1d' } })).toEqual([
      'project must be a Google Cloud project ID (6-30 lower-case letters, digits and "-", starting with a letter), got "My Project"',
      'accountId must be 6-30 lower-case letters, digits and "-", starting with a letter, got "x"',
      'topics.messageRetentionDuration must be seconds like "86400s", got "1d"',
      `topic "${pubsubTopicId('channel.kyma-integration.a')}" is listed twice in topics`,
    ]);
    expect(() => new GcpPubSub('bad', { project: 'x' })).toThrow('GcpPubSub "bad": project must be a Google Cloud project ID');
  });
});
