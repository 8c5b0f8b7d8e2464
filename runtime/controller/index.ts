/**
 * `event-mesh controller` (I/O): informers → one debounced reconcile pass (the pure
 * reconcileAll over the informer caches) → the writes that would change something, each
 * queued by object key (dedupe, per-key backoff) → server-side apply, status subresource
 * patch or delete through the guarded kube client. Only the leader writes (Lease-based
 * election); every replica keeps its caches warm. Serves /healthz, /readyz and /metrics.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry, silentLogger, type Logger } from '../observability';
import { sendJson } from '../http';
import type { ManifestObject } from '../dispatcher/routing/manifests';
import { guardClient, kindOf, watchedKinds, type ControllerKubeClient } from './client';
import { addressingOf, type ControllerContext } from './context';
import { objectKey } from './objects';
import { WorkQueue } from './queue';
import { reconcileAll, type DesiredState } from './reconcile-all';
import { pendingWrites, type Write } from './writes';

export { reconcileAll } from './reconcile-all';
export type { DesiredState, ObjectRef } from './reconcile-all';
export type { ControllerContext, ControllerMeshSettings } from './context';

export const CONTROLLER_FIELD_MANAGER = 'event-mesh-controller';
export const CONTROLLER_LEASE_NAME = 'event-mesh-controller';

/** Starts and stops leadership; runtime/kube's runLeaderElection fits. */
export type LeaderElector = (callbacks: { onStartedLeading(): void; onStoppedLeading(): void }) => { stop(): Promise<void> };

export interface StartControllerOptions {
  readonly client: ControllerKubeClient;
  readonly context: ControllerContext;
  /** @default "event-mesh-controller" */
  readonly fieldManager?: string;
  /** Leader election. @default - this replica always leads (one replica, tests) */
  readonly leaderElection?: LeaderElector;
  /** Port of /healthz, /readyz, /metrics (0: any free port). @default 8080 */
  readonly port?: number;
  /** @default "0.0.0.0" */
  readonly host?: string;
  /** Wait this long after a watch event before a pass, so a burst makes one pass. @default 100 */
  readonly debounceMs?: number;
  /** A full pass this often even without events (drift repair). @default 300000 */
  readonly resyncMs?: number;
  /** Per-key requeue backoff on a failed write. @default 200 ms doubling to 60 s */
  readonly backoff?: { readonly baseDelayMs?: number; readonly maxDelayMs?: number };
  /** Also watch and write Knative Services (adapters with workload knative-service). @default false */
  readonly knativeServing?: boolean;
  /** @default - silent */
  readonly logger?: Logger;
  /** @default - a fresh registry with process metrics */
  readonly registry?: Registry;
}

export interface PassResult {
  readonly desired: DesiredState;
  readonly writes: readonly Write[];
}

export interface RunningController {
  readonly port: number;
  readonly isLeader: () => boolean;
  /** Run a pass now (the leader queues its writes); resolves when the pass has been computed. */
  reconcileNow(): Promise<PassResult>;
  /** Resolves when no pass is due and no write is waiting or running (writes backing off do not count). */
  idle(): Promise<void>;
  /** Every call made to the API server (see client.ts). */
  readonly calls: ReturnType<typeof guardClient>['calls'];
  stop(): Promise<void>;
}

export async function startController(options: StartControllerOptions): Promise<RunningController> {
  const logger = options.logger ?? silentLogger();
  const registry = options.registry ?? createMetricsRegistry();
  const fieldManager = options.fieldManager ?? CONTROLLER_FIELD_MANAGER;
  const addressing = addressingOf(options.context);
  const guard = { integrationNamespace: addressing.integrationNamespace, systemNamespace: addressing.systemNamespace, knativeServing: options.knativeServing };
  const client = guardClient(options.client, guard);
  const kinds = watchedKinds(guard);

  const passes = new Counter({ name: 'event_mesh_controller_reconcile_total', help: 'Reconcile passes.', labelNames: ['result'], registers: [registry] });
  const passSeconds = new Histogram({ name: 'event_mesh_controller_reconcile_duration_seconds', help: 'Time to compute one pass.', registers: [registry], buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5] });
  const writesTotal = new Counter({ name: 'event_mesh_controller_writes_total', help: 'API writes by operation, kind and result.', labelNames: ['op', 'kind', 'result'], registers: [registry] });
  const queueDepth = new Gauge({ name: 'event_mesh_controller_queue_depth', help: 'Writes waiting, running or backing off.', registers: [registry] });
  const leaderGauge = new Gauge({ name: 'event_mesh_controller_leader', help: '1 while this replica is the leader.', registers: [registry] });

  let leader = false;
  let synced = false;
  let stopped = false;
  const noted = new Set<string>();
  /** The last successful write per key, with the cached resourceVersion it was made against. */
  const written = new Map<string, { json: string; resourceVersion?: string }>();

  const plain = (k: (typeof kinds)[number]) => ({ apiVersion: k.apiVersion, kind: k.kind, plural: k.plural, namespaced: k.namespaced });
  const observedNow = (): ManifestObject[] => kinds.flatMap((kind) => client.list(plain(kind)));

  const queue = new WorkQueue<Write>(async (_key, write) => {
    if (!leader) return; // a former leader drops what it had queued
    const kindName = write.op === 'apply' ? write.object.kind ?? '' : write.ref.kind;
    try {
      if (write.op === 'apply') {
        await client.apply(write.object, fieldManager);
      } else {
        const kind = kindOf(write.ref.apiVersion, write.ref.kind);
        if (!kind) throw new Error(`no API resource known for ${write.ref.kind} (${write.ref.apiVersion})`);
        if (write.op === 'status') await client.patchStatus(kind, write.ref, write.status, fieldManager);
        else await client.delete(kind, write.ref); // a missing object is not an error
      }
      writesTotal.inc({ op: write.op, kind: kindName, result: 'ok' });
      const current = observedNow().find((o) => `${write.op}:${objectKey(o)}` === write.key) as { metadata?: { resourceVersion?: string } } | undefined;
      written.set(write.key, { json: JSON.stringify(write), resourceVersion: current?.metadata?.resourceVersion });
    } catch (err) {
      writesTotal.inc({ op: write.op, kind: kindName, result: 'error' });
      throw err;
    } finally {
      queueDepth.set(queue.size);
    }
  }, {
    baseDelayMs: options.backoff?.baseDelayMs,
    maxDelayMs: options.backoff?.maxDelayMs,
    onError: (key, error, attempt, retryInMs) => logger.warn({ key, attempt, retryInMs, err: (error as Error).message }, 'write failed; retrying with backoff'),
  });

  const pass = (): PassResult => {
    const end = passSeconds.startTimer();
    try {
      const observed = observedNow();
      const desired = reconcileAll(observed, options.context);
      for (const note of desired.notes) {
        if (noted.has(note.key)) continue;
        noted.add(note.key);
        logger[note.level]({ ref: note.ref }, note.message);
      }
      const rv = new Map(observed.map((o) => [objectKey(o), (o as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion]));
      const writes = pendingWrites(desired, observed).filter((w) => {
        // Written already, and the cache has not caught up with that write yet: not again.
        const last = written.get(w.key);
        return !(last && last.json === JSON.stringify(w) && last.resourceVersion === rv.get(w.key.slice(w.key.indexOf(':') + 1)));
      });
      if (leader) for (const w of writes) queue.add(w.key, w);
      queueDepth.set(queue.size);
      passes.inc({ result: 'ok' });
      return { desired, writes };
    } catch (err) {
      passes.inc({ result: 'error' });
      logger.error({ err: (err as Error).message }, 'reconcile pass failed');
      throw err;
    } finally {
      end();
    }
  };

  let timer: NodeJS.Timeout | undefined;
  let passRunning: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (stopped || !synced || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      passRunning = Promise.resolve().then(() => {
        try {
          pass();
        } catch {
          // counted and logged in pass(); the next event or resync tries again
        }
      });
    }, options.debounceMs ?? 100);
  };

  const watches = await Promise.all(kinds.map((kind) =>
    client.watch(plain(kind), () => schedule(), kind.namespace ? { namespace: kind.namespace } : {})));
  await Promise.all(watches.map((w) => w.synced));
  synced = true;

  const onStartedLeading = () => {
    leader = true;
    leaderGauge.set(1);
    logger.info('leading: writing');
    schedule();
  };
  const onStoppedLeading = () => {
    leader = false;
    leaderGauge.set(0);
    queue.clear();
    written.clear();
    logger.info('not leading: caches only');
  };
  const election = options.leaderElection ? options.leaderElection({ onStartedLeading, onStoppedLeading }) : undefined;
  if (!options.leaderElection) onStartedLeading();

  const resync = setInterval(schedule, options.resyncMs ?? 300_000);
  resync.unref();

  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'method_not_allowed', message: 'use GET' });
    if (url === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url === '/readyz') return sendJson(res, synced ? 200 : 503, { status: synced ? 'ready' : 'syncing', leader });
    if (url === '/metrics') {
      registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      }, () => sendJson(res, 500, { error: 'metrics_failed', message: 'could not render metrics' }));
      return;
    }
    sendJson(res, 404, { error: 'not_found', message: `no route ${url}: use /healthz, /readyz or /metrics` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '0.0.0.0', () => resolve());
  });
  logger.info({ kinds: kinds.map((k) => k.plural), port: (server.address() as AddressInfo).port }, 'controller started');

  return {
    port: (server.address() as AddressInfo).port,
    isLeader: () => leader,
    calls: client.calls,
    async reconcileNow() {
      await passRunning;
      return pass();
    },
    async idle() {
      for (;;) {
        await passRunning;
        await queue.idle();
        if (!timer) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      clearInterval(resync);
      queue.stop();
      for (const w of watches) w.stop();
      await election?.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
