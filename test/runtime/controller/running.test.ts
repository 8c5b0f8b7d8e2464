/**
 * The running controller (startController with the real kube layer) against the stand-in API
 * server over HTTP: a Trigger on a missing broker gets Ready=False BrokerDoesNotExist; an
 * Application created at runtime gets its adapter objects applied with owner references; a
 * second pass changes nothing; a removed mapping's Subscription is deleted while its Broker
 * stays; a Broker of another class is logged once. Every call it made is granted by the RBAC
 * table, and the table grants nothing the run did not use.
 */
import { Writable } from 'node:stream';
import { CONTROLLER_ACCESS, controllerGrants } from '../../../constructs/api';
import { startController, type RunningController } from '../../../runtime/controller';
import { createKubeClient, KINDS, runLeaderElection, type KubeClient } from '../../../runtime/kube';
import type { ManifestObject } from '../../../runtime/dispatcher/routing/manifests';
import { createLogger } from '../../../runtime/observability';
import { startKubeApiServer, type KubeApiServerHandle } from '../../support/kube-api-server';

async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

type Conditions = { conditions?: { type: string; status: string; reason?: string }[] };
const readyOf = (obj: Record<string, unknown> | undefined) => ((obj?.status as Conditions | undefined)?.conditions ?? []).find((c) => c.type === 'Ready');
const INTEGRATION = 'kyma-integration';

describe('the running controller against the stand-in API server', () => {
  let api: KubeApiServerHandle;
  let kubectl: KubeClient;
  let controllerClient: KubeClient;
  let controller: RunningController;
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    api = await startKubeApiServer();
    kubectl = createKubeClient({ server: api.url });
    controllerClient = createKubeClient({ server: api.url, initialBackoffMs: 50, maxBackoffMs: 500 });
    const destination = new Writable({ write(chunk, _enc, cb) { for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line)); cb(); } });
    controller = await startController({
      client: controllerClient,
      context: { now: () => new Date() },
      port: 0,
      host: '127.0.0.1',
      debounceMs: 20,
      backoff: { baseDelayMs: 50, maxDelayMs: 500 },
      logger: createLogger({ name: 'controller', level: 'info', destination }),
      leaderElection: (callbacks) => runLeaderElection(controllerClient, {
        namespace: 'event-mesh-system', name: 'event-mesh-controller', identity: 'controller-0', leaseDurationMs: 4000, ...callbacks,
      }),
    });
    await until(() => controller.isLeader(), 'leadership');
  });

  afterAll(async () => {
    await controller?.stop();
    await controllerClient?.close();
    await kubectl?.close();
    await api?.close();
  });

  const apply = (obj: Record<string, unknown>) => kubectl.apply(obj as ManifestObject, 'kubectl');

  test('a Trigger created after start, on a broker that does not exist, gets Ready=False BrokerDoesNotExist', async () => {
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'serverless' } });
    await apply({
      apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'orphan', namespace: 'serverless' },
      spec: { broker: 'missing', subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'fn' } } },
    });
    const ready = await until(() => {
      const c = readyOf(api.get('eventing.knative.dev/v1', 'Trigger', 'serverless', 'orphan'));
      return c?.reason === 'BrokerDoesNotExist' && c;
    }, 'the Trigger status');
    expect(ready).toMatchObject({ status: 'False', reason: 'BrokerDoesNotExist' });
    expect(api.fieldManagers('eventing.knative.dev/v1', 'Trigger', 'serverless', 'orphan')).toContain('event-mesh-controller');
  });

  test('an Application created at runtime, mapped to a namespace, gets its adapter objects applied', async () => {
    await apply({
      apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'Application', metadata: { name: 'commerce' },
      spec: { description: 'Commerce backend', events: [{ type: 'user.created', version: 'v1' }] },
    });
    await apply({ apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'ApplicationMapping', metadata: { name: 'commerce', namespace: 'serverless' }, spec: {} });
    const app = api.get('applicationconnector.kyma-project.io/v1alpha1', 'Application', undefined, 'commerce')!;
    const uid = (app.metadata as { uid: string }).uid;

    const deployment = await until(() => api.get('apps/v1', 'Deployment', INTEGRATION, 'commerce-adapter'), 'the adapter Deployment');
    expect((deployment.metadata as { ownerReferences: unknown[] }).ownerReferences).toEqual([
      { apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'Application', name: 'commerce', uid, controller: true, blockOwnerDeletion: true },
    ]);
    for (const [apiVersion, kind, namespace, name] of [
      ['v1', 'Service', INTEGRATION, 'commerce-adapter'],
      ['networking.k8s.io/v1', 'NetworkPolicy', INTEGRATION, 'commerce-adapter'],
      ['policy/v1', 'PodDisruptionBudget', INTEGRATION, 'commerce-adapter'],
      ['sources.kyma-project.io/v1alpha1', 'HTTPSource', INTEGRATION, 'commerce'],
      ['messaging.knative.dev/v1', 'Channel', INTEGRATION, 'commerce'],
      ['messaging.knative.dev/v1', 'Subscription', INTEGRATION, 'commerce-serverless-default'],
      ['eventing.knative.dev/v1', 'Broker', 'serverless', 'default'],
    ]) {
      await until(() => api.get(apiVersion, kind, namespace, name), `${kind} ${namespace}/${name}`);
      expect(api.fieldManagers(apiVersion, kind, namespace, name)).toContain('event-mesh-controller');
    }
    const ns = api.get('v1', 'Namespace', undefined, 'serverless')!;
    expect((ns.metadata as { labels: Record<string, string> }).labels).toMatchObject({ 'knative-eventing-injection': 'enabled', 'eventing.knative.dev/injection': 'enabled' });

    // Statuses follow: the Broker is addressable, the Trigger on it (once it exists) resolves, the HTTPSource says why it is not Ready.
    await until(() => readyOf(api.get('eventing.knative.dev/v1', 'Broker', 'serverless', 'default'))?.status === 'True', 'the Broker Ready');
    const source = await until(() => readyOf(api.get('sources.kyma-project.io/v1alpha1', 'HTTPSource', INTEGRATION, 'commerce')), 'the HTTPSource status');
    // The stand-in runs no Deployment controller, so the adapter never becomes available.
    expect(source).toMatchObject({ status: 'False', reason: 'DeploymentUnavailable' });
    await until(() => readyOf(api.get('applicationconnector.kyma-project.io/v1alpha1', 'ApplicationMapping', 'serverless', 'commerce')), 'the mapping status');
  });

  test('a second pass changes nothing', async () => {
    // Converged once the caches have seen the controller's own writes.
    await until(async () => {
      await controller.idle();
      return true;
    }, 'idle');
    const converged = async () => {
      await controller.idle();
      return (await controller.reconcileNow()).writes.length === 0;
    };
    const end = Date.now() + 20_000;
    while (!(await converged())) {
      if (Date.now() > end) throw new Error('never converged');
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = api.resourceVersion();
    const writes = () => api.requests.filter((r) => !['list', 'watch', 'get'].includes(r.verb) && r.resource !== 'leases').length;
    const writesBefore = writes();
    const second = await controller.reconcileNow();
    await controller.idle();
    expect(second.writes).toEqual([]);
    expect(writes()).toBe(writesBefore);
    expect(api.resourceVersion()).toBe(before);
  });

  test('the Trigger is fixed by creating its broker at runtime: Ready flips to True', async () => {
    await apply({
      apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'orphan', namespace: 'serverless' },
      spec: { broker: 'default', subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'fn' } } },
    });
    await until(() => readyOf(api.get('eventing.knative.dev/v1', 'Trigger', 'serverless', 'orphan'))?.status === 'True', 'the Trigger Ready');
    const status = api.get('eventing.knative.dev/v1', 'Trigger', 'serverless', 'orphan')!.status as { subscriberUri: string };
    expect(status.subscriberUri).toBe('http://fn.serverless.svc.cluster.local');
  });

  test('a Broker of another class is left alone and logged once at info', async () => {
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'knative-land' } });
    await apply({
      apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'knative-land', annotations: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' } }, spec: {},
    });
    const note = await until(() => logLines.find((l) => String(l.msg).startsWith('broker knative-land/default has class "MTChannelBasedBroker"')), 'the log line');
    expect(note.level).toBe(30); // info
    await controller.reconcileNow();
    await controller.reconcileNow();
    expect(logLines.filter((l) => String(l.msg).startsWith('broker knative-land/default')).length).toBe(1);
    expect(api.get('eventing.knative.dev/v1', 'Broker', 'knative-land', 'default')!.status).toBeUndefined();
  });

  test('deleting the mapping deletes its Subscription; the Broker and the namespace labels stay', async () => {
    await kubectl.delete(KINDS.applicationMapping, { ...KINDS.applicationMapping, namespace: 'serverless', name: 'commerce' });
    await until(() => !api.get('messaging.knative.dev/v1', 'Subscription', INTEGRATION, 'commerce-serverless-default'), 'the Subscription gone');
    expect(api.get('eventing.knative.dev/v1', 'Broker', 'serverless', 'default')).toBeDefined();
    expect(api.get('apps/v1', 'Deployment', INTEGRATION, 'commerce-adapter')).toBeDefined();
  });

  test('deleting the Application removes what it created (owner references), not the Broker', async () => {
    await kubectl.delete(KINDS.application, { ...KINDS.application, name: 'commerce' });
    await until(() => !api.get('apps/v1', 'Deployment', INTEGRATION, 'commerce-adapter'), 'the adapter gone');
    expect(api.get('sources.kyma-project.io/v1alpha1', 'HTTPSource', INTEGRATION, 'commerce')).toBeUndefined();
    expect(api.get('v1', 'Service', INTEGRATION, 'commerce-adapter')).toBeUndefined();
    expect(api.get('eventing.knative.dev/v1', 'Broker', 'serverless', 'default')).toBeDefined();
  });

  test('every call the controller made is granted by the RBAC table, and the table grants nothing more', async () => {
    await controller.idle();
    const flat = (grants: { group: string; resource: string; verbs: readonly string[] }[]) => {
      const set = new Set<string>();
      for (const g of grants) for (const v of g.verbs) set.add(`${g.group}|${g.resource}|${v}`);
      return [...set].sort();
    };
    // The leader renews its Lease (an update) every retry period; wait for one renewal.
    await until(() => controllerClient.used().some((u) => u.resource === 'leases' && u.verbs.includes('update')), 'a Lease renewal');
    // What the code called, as the kube layer recorded it, and as the stand-in saw it.
    const used = flat(controllerClient.used());
    const granted = flat(controllerGrants());
    expect(used).toEqual(granted);
    // Every request the stand-in saw is allowed by a rule of the table, in that rule's namespace.
    const callOf = (verb: string, resource: string) => (resource.endsWith('/status') ? 'patchStatus'
      : resource === 'leases' ? 'lease' : verb === 'list' || verb === 'watch' ? 'watch' : verb === 'delete' ? 'delete' : 'apply');
    const namespaceOf = { cluster: undefined, integration: INTEGRATION, system: 'event-mesh-system' } as const;
    const fromController = api.requests.slice(0); // kubectl's requests are the test's own (apply/delete by "kubectl")
    for (const req of fromController) {
      const call = callOf(req.verb, req.resource);
      const rules = CONTROLLER_ACCESS.filter((r) => r.resource.group === req.group && r.resource.resource === req.resource.replace(/\/status$/, '') && r.calls.includes(call));
      const kubectlWrite = ['namespaces', 'triggers', 'brokers', 'applications', 'applicationmappings'].includes(req.resource) && ['create', 'patch', 'delete'].includes(req.verb);
      if (kubectlWrite) continue;
      expect({ req, allowed: rules.some((r) => r.scope === 'cluster' || namespaceOf[r.scope] === req.namespace) }).toEqual({ req, allowed: true });
    }
  });
});

describe('two replicas: only the leader writes; the other takes over when it stops', () => {
  test('one leads, the other only watches; after the leader stops the other leads and writes', async () => {
    const api = await startKubeApiServer();
    const clients = [0, 1].map(() => createKubeClient({ server: api.url, initialBackoffMs: 50, maxBackoffMs: 500 }));
    const kubectl = createKubeClient({ server: api.url });
    const controllers: RunningController[] = [];
    try {
      for (const [i, client] of clients.entries()) {
        controllers.push(await startController({
          client, context: { now: () => new Date() }, port: 0, host: '127.0.0.1', debounceMs: 20,
          leaderElection: (callbacks) => runLeaderElection(client, {
            namespace: 'event-mesh-system', name: 'event-mesh-controller', identity: `replica-${i}`, leaseDurationMs: 3000, ...callbacks,
          }),
        }));
      }
      await until(() => controllers.some((c) => c.isLeader()), 'a leader');
      const leader = controllers.find((c) => c.isLeader())!;
      const follower = controllers.find((c) => c !== leader)!;
      expect(follower.isLeader()).toBe(false);
      await kubectl.apply({
        apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't', namespace: 'shop' },
        spec: { broker: 'default', subscriber: { uri: 'http://fn.example/' } },
      } as ManifestObject, 'kubectl');
      await until(() => readyOf(api.get('eventing.knative.dev/v1', 'Trigger', 'shop', 't'))?.reason === 'BrokerDoesNotExist', 'status by the leader');
      await follower.reconcileNow();
      await follower.idle();
      expect(follower.calls.map((c) => c.call).filter((c) => c !== 'watch')).toEqual([]);
      expect(leader.calls.some((c) => c.call === 'patchStatus')).toBe(true);

      await leader.stop(); // releases the Lease
      await until(() => follower.isLeader(), 'the follower leading', 20_000);
      await kubectl.apply({
        apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'u', namespace: 'shop' },
        spec: { broker: 'other', subscriber: { uri: 'http://fn.example/' } },
      } as ManifestObject, 'kubectl');
      await until(() => readyOf(api.get('eventing.knative.dev/v1', 'Trigger', 'shop', 'u'))?.reason === 'BrokerDoesNotExist', 'status by the new leader');
      expect(follower.calls.some((c) => c.call === 'patchStatus')).toBe(true);
    } finally {
      for (const c of controllers) await c.stop();
      for (const c of clients) await c.close();
      await kubectl.close();
      await api.close();
    }
  }, 60_000);
});

describe('a failed write is requeued with backoff', () => {
  test('status writes that fail twice are retried until they land; the error is logged with the attempt', async () => {
    const api = await startKubeApiServer();
    const real = createKubeClient({ server: api.url });
    const kubectl = createKubeClient({ server: api.url });
    let failures = 0;
    const flaky: KubeClient = {
      ...real,
      async patchStatus(kind, ref, status, fieldManager) {
        if (failures < 2) {
          failures++;
          throw new Error(`injected failure ${failures}`);
        }
        return real.patchStatus(kind, ref, status, fieldManager);
      },
    };
    const logLines: Record<string, unknown>[] = [];
    const destination = new Writable({ write(chunk, _enc, cb) { for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line)); cb(); } });
    const controller = await startController({
      client: flaky, context: { now: () => new Date() }, port: 0, host: '127.0.0.1', debounceMs: 20,
      backoff: { baseDelayMs: 100, maxDelayMs: 1000 }, logger: createLogger({ level: 'warn', destination }),
    });
    try {
      await kubectl.apply({
        apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't', namespace: 'shop' },
        spec: { broker: 'default', subscriber: { uri: 'http://fn.example/' } },
      } as ManifestObject, 'kubectl');
      await until(() => readyOf(api.get('eventing.knative.dev/v1', 'Trigger', 'shop', 't'))?.reason === 'BrokerDoesNotExist', 'the status after two failures');
      expect(failures).toBe(2);
      const retries = logLines.filter((l) => l.msg === 'write failed; retrying with backoff');
      expect(retries.map((l) => [l.attempt, l.retryInMs])).toEqual([[1, 100], [2, 200]]);
      expect(retries[0].err).toBe('injected failure 1');
    } finally {
      await controller.stop();
      await real.close();
      await kubectl.close();
      await api.close();
    }
  }, 60_000);
});
