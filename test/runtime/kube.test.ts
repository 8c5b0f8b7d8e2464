/**
 * The kube I/O layer (runtime/kube) against the stand-in API server over real HTTP:
 * informers (list, watch, reconnect, 410 Gone -> relist), server-side apply (idempotent,
 * field manager, removed fields), the status subresource, delete with garbage collection,
 * and Lease leader election handing over between two electors without overlap.
 */
import { createKubeClient, KINDS, KUBE_VERBS, runLeaderElection } from '../../runtime/kube';
import type { KubeClient, WatchEventType } from '../../runtime/kube';
import type { ManifestObject } from '../../runtime/dispatcher/routing/manifests';
import { startKubeApiServer } from '../support/kube-api-server';
import type { KubeApiServerHandle } from '../support/kube-api-server';

async function until(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const trigger = (name: string, extra: Record<string, unknown> = {}): ManifestObject =>
  ({
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name, namespace: 'shop' },
    spec: { broker: 'default', subscriber: { uri: `http://${name}.shop.svc.cluster.local` }, ...extra },
  }) as ManifestObject;

describe('kube layer against the stand-in API server', () => {
  let api: KubeApiServerHandle;
  let client: KubeClient;
  beforeEach(async () => {
    api = await startKubeApiServer();
    client = createKubeClient({ server: api.url, initialBackoffMs: 50, maxBackoffMs: 200 });
  });
  afterEach(async () => {
    await client.close();
    await api.close();
  });

  it('an informer lists, then watches: every change reaches the handler and the cache', async () => {
    await client.apply(trigger('a'), 'test');
    const seen: [WatchEventType, string][] = [];
    const w = await client.watch(KINDS.trigger, (type, obj) => seen.push([type, obj.metadata!.name!]));
    await w.synced;
    expect(seen).toEqual([['ADDED', 'a']]);
    await client.apply(trigger('b'), 'test');
    await client.apply(trigger('a', { filter: { attributes: { type: 'x' } } }), 'test');
    await client.delete(KINDS.trigger, { ...KINDS.trigger, namespace: 'shop', name: 'b' });
    await until(() => seen.length === 4, 10_000, 'four events');
    expect(seen).toEqual([['ADDED', 'a'], ['ADDED', 'b'], ['MODIFIED', 'a'], ['DELETED', 'b']]);
    expect(client.list(KINDS.trigger).map((o) => o.metadata!.name)).toEqual(['a']);
    expect((client.list(KINDS.trigger)[0].spec as { filter?: unknown }).filter).toEqual({ attributes: { type: 'x' } });
  });

  /** Every event of a Trigger informer as "TYPE name", once it listed and its watch is open. */
  async function watchTriggers(): Promise<string[]> {
    const seen: string[] = [];
    const w = await client.watch(KINDS.trigger, (type, obj) => seen.push(`${type} ${obj.metadata!.name}`));
    await w.synced;
    await until(() => api.openWatches() === 1, 10_000, 'the watch');
    return seen;
  }

  it('reconnects a dropped watch and resumes from its resourceVersion (no relist, nothing missed)', async () => {
    const seen = await watchTriggers();
    await api.disconnected(async () => {
      await client.apply(trigger('while-away'), 'test');
    });
    await until(() => seen.includes('ADDED while-away'), 10_000, 'the event made while disconnected');
    await client.apply(trigger('after'), 'test');
    await until(() => seen.includes('ADDED after'), 10_000, 'the event after reconnecting');
    expect(api.requests.filter((r) => r.verb === 'list' && r.resource === 'triggers')).toHaveLength(1);
  });

  it('410 Gone: a too-old resourceVersion makes it list again and report what it missed', async () => {
    await client.apply(trigger('stays'), 'test');
    await client.apply(trigger('goes'), 'test');
    const seen = await watchTriggers();
    // Changes made while the informer is cut off, whose history is then compacted away:
    // its resourceVersion is too old when it reconnects.
    await api.disconnected(
      async () => {
        await client.apply(trigger('new'), 'test');
        await client.delete(KINDS.trigger, { ...KINDS.trigger, namespace: 'shop', name: 'goes' });
        await client.apply(trigger('stays', { filter: { attributes: { type: 'changed' } } }), 'test');
      },
      { compact: true },
    );
    await until(() => seen.length === 5, 10_000, 'the relist diff');
    expect(seen.slice(0, 2).sort()).toEqual(['ADDED goes', 'ADDED stays']);
    expect(seen.slice(2).sort()).toEqual(['ADDED new', 'DELETED goes', 'MODIFIED stays']);
    expect(api.requests.filter((r) => r.verb === 'list' && r.resource === 'triggers')).toHaveLength(2);
    expect(client.list(KINDS.trigger).map((o) => o.metadata!.name)).toEqual(['new', 'stays']);
    // And it keeps watching after the relist.
    await client.apply(trigger('later'), 'test');
    await until(() => seen.includes('ADDED later'), 10_000, 'an event after the relist');
  });

  it('reconnects with backoff while the API server fails, reporting each failure, and catches up when it is back', async () => {
    const errors: { at: number; message: string }[] = [];
    await client.close();
    client = createKubeClient({ server: api.url, initialBackoffMs: 50, maxBackoffMs: 400, onError: (err) => errors.push({ at: Date.now(), message: err.message }) });
    const seen = await watchTriggers();
    api.failRequests(true);
    api.dropWatches();
    await until(() => errors.length >= 6, 20_000, 'five failed reconnects');
    // The first error is the dropped connection; then each reconnect is refused.
    const refused = errors.slice(1);
    expect(refused.map((e) => e.message)).toEqual(refused.map(() => expect.stringMatching(/: 503 ServiceUnavailable: /)));
    const gaps = refused.slice(1).map((e, i) => e.at - refused[i].at);
    // The delay doubles from 50 ms: the later gaps are longer than the first (never a busy loop).
    expect(gaps[gaps.length - 1]).toBeGreaterThanOrEqual(gaps[0]);
    expect(gaps.every((g) => g >= 40)).toBe(true);
    api.failRequests(false);
    await client.apply(trigger('back'), 'test');
    await until(() => seen.includes('ADDED back'), 10_000, 'the event after the API server came back');
  });

  it('410 Gone as a plain HTTP status (no watch cache) makes it list again too', async () => {
    const strict = await startKubeApiServer({ goneAs: 'status' });
    const c = createKubeClient({ server: strict.url, initialBackoffMs: 50 });
    try {
      const seen: string[] = [];
      await (await c.watch(KINDS.trigger, (type, obj) => seen.push(`${type} ${obj.metadata!.name}`))).synced;
      await until(() => strict.openWatches() === 1, 10_000, 'the watch');
      await strict.disconnected(() => c.apply(trigger('missed'), 'test').then(() => undefined), { compact: true });
      await until(() => seen.includes('ADDED missed'), 10_000, 'the relist');
      expect(strict.requests.filter((r) => r.verb === 'list')).toHaveLength(2);
    } finally {
      await c.close();
      await strict.close();
    }
  });

  it('server-side apply is idempotent, records the field manager and removes fields it no longer applies', async () => {
    const first = await client.apply(trigger('t', { filter: { attributes: { type: 'a' } }, delivery: { retry: 3 } }), 'event-mesh-controller');
    const again = await client.apply(trigger('t', { filter: { attributes: { type: 'a' } }, delivery: { retry: 3 } }), 'event-mesh-controller');
    expect(again.metadata).toMatchObject({ resourceVersion: (first.metadata as { resourceVersion: string }).resourceVersion, generation: 1 });
    expect(api.fieldManagers('eventing.knative.dev/v1', 'Trigger', 'shop', 't')).toEqual(['event-mesh-controller']);
    const third = await client.apply(trigger('t', { filter: { attributes: { type: 'a' } } }), 'event-mesh-controller');
    expect((third.spec as { delivery?: unknown }).delivery).toBeUndefined();
    expect(third.metadata).toMatchObject({ generation: 2 });
  });

  it('status goes through the subresource: spec applies leave it, status writes leave spec and generation', async () => {
    await client.apply(trigger('t'), 'event-mesh-controller');
    const ref = { ...KINDS.trigger, namespace: 'shop', name: 't' };
    await client.patchStatus(KINDS.trigger, ref, { conditions: [{ type: 'Ready', status: 'False', reason: 'BrokerDoesNotExist' }] }, 'event-mesh-controller');
    let stored = api.get('eventing.knative.dev/v1', 'Trigger', 'shop', 't')!;
    expect(stored.status).toEqual({ conditions: [{ type: 'Ready', status: 'False', reason: 'BrokerDoesNotExist' }] });
    expect(stored.metadata).toMatchObject({ generation: 1 });
    // An apply carrying a (stale) status does not touch the stored status.
    await client.apply({ ...trigger('t', { broker: 'other' }), status: { conditions: [] } } as ManifestObject, 'someone');
    stored = api.get('eventing.knative.dev/v1', 'Trigger', 'shop', 't')!;
    expect(stored.status).toEqual({ conditions: [{ type: 'Ready', status: 'False', reason: 'BrokerDoesNotExist' }] });
    expect(stored.metadata).toMatchObject({ generation: 2 });
    expect((stored.spec as { broker: string }).broker).toBe('other');
    expect(api.requests.some((r) => r.verb === 'patch' && r.resource === 'triggers/status')).toBe(true);
  });

  it('serves older versions of a kind from one stored object (conversion None)', async () => {
    await client.apply({ ...trigger('old'), apiVersion: 'eventing.knative.dev/v1alpha1' } as ManifestObject, 'kubectl');
    const v1 = await client.get(KINDS.trigger, { ...KINDS.trigger, namespace: 'shop', name: 'old' });
    expect(v1?.apiVersion).toBe('eventing.knative.dev/v1');
    const alpha = await client.get({ ...KINDS.trigger, apiVersion: 'eventing.knative.dev/v1alpha1' }, { ...KINDS.trigger, namespace: 'shop', name: 'old' });
    expect(alpha?.apiVersion).toBe('eventing.knative.dev/v1alpha1');
    expect(alpha?.spec).toEqual(v1?.spec);
  });

  it('delete removes dependents through their ownerReferences (garbage collection) and a Namespace\'s objects; a missing object is fine', async () => {
    const owner = await client.apply({ apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'Application', metadata: { name: 'commerce' } }, 'test');
    const uid = (owner.metadata as { uid: string }).uid;
    const ownerRef = { apiVersion: owner.apiVersion, kind: 'Application', name: 'commerce', uid, controller: true };
    await client.apply({ apiVersion: 'sources.kyma-project.io/v1alpha1', kind: 'HTTPSource', metadata: { name: 'commerce', namespace: 'kyma-integration', ownerReferences: [ownerRef] } as ManifestObject['metadata'] }, 'test');
    await client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: 'kyma-integration' } }, 'test');
    await client.delete(KINDS.application, { ...KINDS.application, name: 'commerce' });
    await until(() => api.list('sources.kyma-project.io/v1alpha1', 'HTTPSource').length === 0, 10_000, 'garbage collection');
    expect(api.list('v1', 'ConfigMap')).toHaveLength(1);
    await expect(client.delete(KINDS.application, { ...KINDS.application, name: 'commerce' })).resolves.toBeUndefined();
    // Deleting a Namespace removes what is in it, as the namespace controller does.
    await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kyma-integration' } }, 'test');
    await client.delete(KINDS.namespace, { ...KINDS.namespace, name: 'kyma-integration' });
    await until(() => api.list('v1', 'ConfigMap').length === 0, 10_000, 'the namespace\'s objects to go');
  });

  it('records what it called as RBAC rules; the requests the stand-in saw are all declared in KUBE_VERBS', async () => {
    const broker = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' } } as ManifestObject;
    await client.apply(broker, 'event-mesh-controller');
    await client.patchStatus(KINDS.broker, { ...KINDS.broker, namespace: 'shop', name: 'default' }, { observedGeneration: 1 }, 'event-mesh-controller');
    const w = await client.watch(KINDS.trigger, () => undefined);
    await w.synced;
    await until(() => api.requests.some((r) => r.verb === 'watch'), 10_000, 'the watch request');
    expect(client.used()).toEqual([
      { group: 'eventing.knative.dev', resource: 'brokers', verbs: ['create', 'patch'] },
      { group: 'eventing.knative.dev', resource: 'brokers/status', verbs: ['patch'] },
      { group: 'eventing.knative.dev', resource: 'triggers', verbs: ['list', 'watch'] },
    ]);
    expect(api.requests.map((r) => `${r.verb} ${r.resource}`)).toEqual(['patch brokers', 'patch brokers/status', 'list triggers', 'watch triggers']);
    for (const r of api.requests) {
      const granted = KUBE_VERBS.find((k) => k.group === r.group && k.resource === r.resource)?.verbs ?? [];
      expect({ request: r, granted: granted.includes(r.verb) }).toEqual({ request: r, granted: true });
    }
  });
});

describe('leader election on a Lease', () => {
  let api: KubeApiServerHandle;
  beforeEach(async () => {
    api = await startKubeApiServer();
  });
  afterEach(() => api.close());

  /** A real client whose requests fail while `partitioned` is set (a replica cut off from the API server). */
  function partitionable(): { client: KubeClient; cut(on: boolean): void } {
    const real = createKubeClient({ server: api.url });
    let partitioned = false;
    const guard = <T>(fn: () => Promise<T>) => (partitioned ? Promise.reject(new Error('network partition')) : fn());
    const client: KubeClient = {
      ...real,
      get: (k, r) => guard(() => real.get(k, r)),
      create: (k, o) => guard(() => real.create(k, o)),
      replace: (k, o) => guard(() => real.replace(k, o)),
    };
    return { client, cut: (on) => (partitioned = on) };
  }

  it('exactly one of two electors leads; stopping it hands over, and a cut-off leader steps down before the other starts', async () => {
    const state = { a: false, b: false };
    let overlap = false;
    const sampler = setInterval(() => {
      if (state.a && state.b) overlap = true;
    }, 5);
    const pa = partitionable();
    const pb = partitionable();
    const elector = (name: 'a' | 'b', client: KubeClient) =>
      runLeaderElection(client, {
        namespace: 'event-mesh-system',
        name: 'event-mesh-controller',
        identity: name,
        leaseDurationMs: 1500,
        retryPeriodMs: 100,
        onStartedLeading: () => {
          if (state[name === 'a' ? 'b' : 'a']) overlap = true;
          state[name] = true;
        },
        onStoppedLeading: () => (state[name] = false),
      });
    try {
      const a = elector('a', pa.client);
      await until(() => state.a, 10_000, 'a leads');
      const b = elector('b', pb.client);
      await new Promise((r) => setTimeout(r, 2000)); // longer than the lease: a keeps renewing
      expect(state).toEqual({ a: true, b: false });
      expect(a.isLeader()).toBe(true);
      expect(b.isLeader()).toBe(false);

      // Hand-over: a stops and releases; b takes over without waiting for expiry.
      await a.stop();
      expect(state.a).toBe(false);
      await until(() => state.b, 5_000, 'b leads');
      const lease = api.get('coordination.k8s.io/v1', 'Lease', 'event-mesh-system', 'event-mesh-controller')!;
      expect(lease.spec).toMatchObject({ holderIdentity: 'b', leaseDurationSeconds: 2, leaseTransitions: 1 });

      // b is cut off: it steps down after its renew deadline; a new elector takes over only then.
      const pc = partitionable();
      const c = runLeaderElection(pc.client, {
        namespace: 'event-mesh-system',
        name: 'event-mesh-controller',
        identity: 'c',
        leaseDurationMs: 1500,
        retryPeriodMs: 100,
        onStartedLeading: () => {
          if (state.b) overlap = true;
          state.a = true; // reuse slot a for c
        },
        onStoppedLeading: () => (state.a = false),
      });
      pb.cut(true);
      await until(() => !state.b, 5_000, 'b steps down');
      await until(() => state.a, 10_000, 'c leads');
      expect(overlap).toBe(false);
      pb.cut(false);
      await b.stop();
      await c.stop();
      expect(api.get('coordination.k8s.io/v1', 'Lease', 'event-mesh-system', 'event-mesh-controller')!.spec).toMatchObject({ holderIdentity: '' });
    } finally {
      clearInterval(sampler);
    }
  }, 40_000);
});
