/**
 * `event-mesh dev [dir]`: the whole mesh in one process, wired from a manifest directory
 * and rewired whenever a file there is added, edited or deleted (I/O). On every change it
 * runs the controller's reconcile against the directory (object-set.ts), starts or stops
 * one adapter per application (its own port), hands the routing to the dispatcher (broker
 * ingress + delivery) without a restart, and prints what changed and a status line. One
 * shared channel (in-memory, or NATS with --nats). Warns about every cluster Service
 * subscriber that has no --map.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { CliConfig } from '../cli';
import { channelConfigFromCli } from '../cli';
import { startAdapter } from '../adapter';
import type { AdapterHandle } from '../adapter';
import { createChannel } from '../channel/factory';
import { startDispatcher } from '../dispatcher';
import type { Dispatcher } from '../dispatcher';
import { RoutingWatcher } from '../dispatcher/routing';
import type { ManifestObject, ManifestSet, RoutingProblem, RoutingSourceFactory, RoutingTable } from '../dispatcher/routing';
import { createMetricsRegistry } from '../observability';
import type { Logger } from '../observability';
import { discoverApplications, findUnmappedServices, parseServiceMap } from './discovery';
import type { DevApplication } from './discovery';
import { DEV_READ_OPTIONS, devContext, missingDirMessage } from './context';
import { prepareDevAuth } from './dev-auth';
import { devObjectSet } from './object-set';
import type { DevObjectSet } from './object-set';
import { statusRows, statusSummary } from './status-table';

export { discoverApplications, findUnmappedServices, parseServiceMap, ServiceMap } from './discovery';
export type { DevApplication, UnmappedService } from './discovery';
export { DEV_READ_OPTIONS, devContext, missingDirMessage } from './context';
export { devObjectSet, foldDesired } from './object-set';
export type { DevObjectSet, DevObjectSetOptions } from './object-set';
export { statusRows, statusSummary, statusTable, formatTable, STATUS_KINDS } from './status-table';
export type { StatusRow } from './status-table';

export interface DevOptions {
  readonly dir: string;
  readonly config: CliConfig;
  readonly logger: Logger;
  /** Where the human-readable lines go (stdout). */
  readonly out: (line: string) => void;
  /** Directory re-read interval (safety net for missed fs events). @default 2000 */
  readonly pollMs?: number;
}

export interface DevHandle {
  readonly dispatcher: Dispatcher;
  /** The adapters running now, by application. */
  readonly adapters: ReadonlyMap<string, AdapterHandle>;
  /** The applications running now. */
  readonly applications: readonly DevApplication[];
  /** The last reconcile of the directory. */
  current(): DevObjectSet;
  /** Re-read the directory now; resolves when the change (if any) is applied. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

const sameApp = (a: DevApplication, b: DevApplication) => a.channelNamespace === b.channelNamespace && a.channelName === b.channelName;

export async function startDev(options: DevOptions): Promise<DevHandle> {
  const { config: cfg, logger, out } = options;
  const dir = path.resolve(options.dir);
  if (!existsSync(dir)) throw new Error(missingDirMessage(dir));
  const ctx = devContext(cfg);
  const serviceOverrides = parseServiceMap(cfg.map);
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  // Plain HTTP unless --auth mtls: then a throwaway CA and certificates in a temp dir.
  const devAuth = await prepareDevAuth(cfg.auth === 'mtls' ? 'mtls' : 'none');

  // Changes seen while starting up wait until the first wiring is done.
  let markWired!: () => void;
  let chain: Promise<void> = new Promise<void>((r) => (markWired = r));
  const watcher = new RoutingWatcher({
    dir,
    readOptions: DEV_READ_OPTIONS,
    debounceMs: 100,
    pollMs: options.pollMs ?? 2000,
    onChange: (set) => {
      chain = chain.then(() => applyChange(set)).catch((err) => logger.error({ err }, 'applying a change failed'));
      return chain;
    },
    onError: (err) => out(`warning: reading ${dir} failed, keeping the wiring in force: ${err.message}`),
  });
  const initial = await watcher.start();
  for (const p of initial.problems) logger.warn({ problem: p }, 'manifest problem');
  let current = devObjectSet(initial.objects, ctx);

  // The dispatcher's routing comes from the reconciled object set, pushed on every change.
  let pushRouting: ((set: ManifestSet) => void | Promise<void>) | undefined;
  const routingSet = (objects: ManifestObject[], fingerprint: string): ManifestSet => ({ objects, problems: [], fingerprint, files: [] });
  const routingSource: RoutingSourceFactory = (handlers) => {
    pushRouting = handlers.onChange;
    return { start: async () => routingSet(current.objects, initial.fingerprint), check: async () => undefined, stop: async () => undefined };
  };

  const giveUp = async () => {
    markWired();
    await watcher.stop();
    devAuth.remove();
  };
  const channel = await createChannel(channelConfigFromCli(cfg), { logger, name: 'event-mesh-dev' });
  const dispatcher = await startDispatcher(
    {
      port: cfg.port,
      host: cfg.host,
      routingSource,
      waitForRouting: true,
      maxBodyBytes: cfg.maxBodyBytes,
      systemNamespace: cfg.systemNamespace,
      clusterDomain: cfg.clusterDomain,
      shutdownGraceMs: cfg.shutdownGraceMs,
      ackWaitMs: cfg.ackWaitMs,
      serviceOverrides,
      metricsEventType: cfg.metricsEventType,
      maxJsonDepth: cfg.maxJsonDepth,
      topicOptions: { maxAgeMs: cfg.streamMaxAgeMs, maxInactivityMs: cfg.channelMaxInactivityMs, replicas: cfg.streamReplicas },
    },
    { channel, ownsChannel: true, logger, registry: createMetricsRegistry() },
  ).catch(async (err) => {
    await giveUp();
    throw err;
  });

  // Adapters: one per application, on the first free port slot (or any free port with --port 0).
  const adapters = new Map<string, AdapterHandle>();
  const running = new Map<string, { app: DevApplication; slot: number }>();
  const adapterRegistry = createMetricsRegistry({ defaults: false });
  const firstPort = cfg.adapterPort ?? (cfg.port === 0 ? 0 : cfg.port + 1);
  const stopAdapter = async (name: string) => {
    const handle = adapters.get(name);
    adapters.delete(name);
    running.delete(name);
    await handle?.close();
  };
  /** Start and stop adapters to match `apps`; returns lines to print. */
  const syncAdapters = async (apps: readonly DevApplication[]): Promise<string[]> => {
    const lines: string[] = [];
    const wanted = new Map(apps.map((a) => [a.name, a]));
    for (const [name, r] of [...running]) {
      const want = wanted.get(name);
      if (want && sameApp(want, r.app)) continue;
      await stopAdapter(name);
      if (!want) lines.push(`application ${name} stopped`);
    }
    for (const app of apps) {
      if (running.has(app.name)) continue;
      const used = new Set([...running.values()].map((r) => r.slot));
      let slot = 0;
      while (used.has(slot)) slot++;
      const adapter = await startAdapter(
        {
          application: app.name,
          channelNamespace: app.channelNamespace,
          channelName: app.channelName,
          port: firstPort === 0 ? 0 : firstPort + slot,
          host: cfg.host,
          maxBodyBytes: cfg.maxBodyBytes,
          shutdownGraceMs: cfg.shutdownGraceMs,
          auth: await devAuth.authFor(app.name),
          ...(cfg.auth === 'mtls' ? { probePort: 0 } : {}),
          maxJsonDepth: cfg.maxJsonDepth,
        },
        { channel, logger, registry: adapterRegistry },
      );
      adapters.set(app.name, adapter);
      running.set(app.name, { app, slot });
      lines.push(devAuth.lineFor(app.name, adapter.url));
    }
    return lines;
  };

  /** Reconcile again, now that adapters run (their Deployments count as available). */
  const reconcileWithAdapters = (objects: readonly ManifestObject[]) => devObjectSet(objects, ctx, { runningAdapters: new Set(adapters.keys()) });

  let lastUnmapped = '';
  const routingLines = (before: RoutingTable | undefined, beforeProblems: readonly RoutingProblem[]): string[] => {
    const table = dispatcher.table();
    const lines: string[] = [];
    for (const b of table.brokers.values()) if (!before?.brokers.has(b.key)) lines.push(`broker ${b.namespace}/${b.name}: http://${host}:${dispatcher.port}/${b.namespace}/${b.name}`);
    if (before) {
      for (const b of before.brokers.values()) if (!table.brokers.has(b.key)) lines.push(`broker ${b.key} removed`);
      for (const t of table.triggers.values()) {
        const was = before.triggers.get(t.key);
        if (!was) lines.push(`trigger ${t.key} routed`);
        else if (was.fingerprint !== t.fingerprint) lines.push(`trigger ${t.key} changed`);
      }
      for (const t of before.triggers.values()) if (!table.triggers.has(t.key)) lines.push(`trigger ${t.key} removed`);
      for (const s of table.subscriptions.values()) if (!before.subscriptions.has(s.key)) lines.push(`subscription ${s.key} routed`);
      for (const s of before.subscriptions.values()) if (!table.subscriptions.has(s.key)) lines.push(`subscription ${s.key} removed`);
    }
    const seen = new Set(beforeProblems.map((p) => `${p.kind}|${p.namespace}|${p.name}|${p.message}`));
    for (const p of dispatcher.problems()) if (!seen.has(`${p.kind}|${p.namespace}|${p.name}|${p.message}`)) lines.push(`warning: skipped ${p.kind} ${p.namespace}/${p.name}: ${p.message}`);
    const unmapped = findUnmappedServices(table, serviceOverrides, cfg.clusterDomain);
    const text = JSON.stringify(unmapped);
    if (text !== lastUnmapped && unmapped.length > 0) {
      lines.push(`warning: ${unmapped.length} subscriber Service(s) run in the cluster and have no local URL; their events will fail (and be retried) until mapped:`);
      for (const u of unmapped) lines.push(`  ${u.service} (${u.usedBy.join(', ')}): add --map ${u.service}=http://127.0.0.1:<port>`);
    }
    lastUnmapped = text;
    return lines;
  };

  // First wiring.
  let adapterLines: string[];
  try {
    adapterLines = await syncAdapters(discoverApplications(current.objects));
  } catch (err) {
    await Promise.all([...adapters.values()].map((a) => a.close()));
    await dispatcher.close(0);
    await giveUp();
    throw err;
  }
  current = reconcileWithAdapters(initial.objects);
  out(`event-mesh dev: ${dir} on the ${channel.kind === 'inmemory' ? 'in-memory channel' : `${channel.kind} channel`}`);
  for (const note of devAuth.notes) out(note);
  if (running.size === 0) out('no applications found (no HTTPSource or Application objects in the manifests)');
  for (const line of adapterLines) out(line);
  for (const line of routingLines(undefined, [])) out(line);
  for (const line of statusSummary(statusRows(current.desired))) out(line);
  out(`ready: watching ${dir} for changes; press Ctrl+C to stop`);

  /** One change of the directory, applied: reconcile, adapters, routing, status. */
  const applyChange = async (set: ManifestSet): Promise<void> => {
    for (const p of set.problems) logger.warn({ problem: p }, 'manifest problem');
    const before = dispatcher.table();
    const beforeProblems = dispatcher.problems();
    let next: DevObjectSet;
    try {
      next = devObjectSet(set.objects, ctx, { runningAdapters: new Set(adapters.keys()) });
    } catch (err) {
      out(`warning: reconciling ${dir} failed, keeping the wiring in force: ${(err as Error).message}`);
      return;
    }
    const lines = [`change in ${dir}:`];
    try {
      lines.push(...(await syncAdapters(discoverApplications(next.objects))));
    } catch (err) {
      lines.push(`warning: starting an adapter failed: ${(err as Error).message}`);
    }
    current = reconcileWithAdapters(set.objects);
    await pushRouting?.(routingSet(current.objects, set.fingerprint));
    lines.push(...routingLines(before, beforeProblems));
    lines.push(...statusSummary(statusRows(current.desired)));
    for (const line of lines) out(line);
  };

  markWired();

  let closing: Promise<void> | undefined;
  return {
    dispatcher,
    adapters,
    get applications() {
      return [...running.values()].map((r) => r.app).sort((a, b) => a.name.localeCompare(b.name));
    },
    current: () => current,
    reload: async () => {
      await watcher.check();
      await chain;
    },
    close: () => {
      closing ??= (async () => {
        await watcher.stop();
        await chain;
        await Promise.all([...adapters.values()].map((a) => a.close()));
        await dispatcher.close(cfg.shutdownGraceMs);
        devAuth.remove();
      })();
      return closing;
    },
  };
}
