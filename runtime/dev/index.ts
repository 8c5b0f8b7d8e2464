/**
 * `event-mesh dev [dir]`: the whole mesh in one process, wired from synthesized manifests.
 * One adapter per application (its own port), the dispatcher (broker ingress + delivery),
 * one shared channel (in-memory, or NATS with --nats). Prints one line per application
 * with its events URL, one per broker with its ingress URL, and a warning listing every
 * cluster Service subscriber that has no --map.
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
import { readManifests } from '../dispatcher/routing/manifests';
import { createMetricsRegistry } from '../observability';
import type { Logger } from '../observability';
import { discoverApplications, findUnmappedServices, parseServiceMap } from './discovery';
import type { DevApplication } from './discovery';

export { discoverApplications, findUnmappedServices, parseServiceMap, ServiceMap } from './discovery';
export type { DevApplication, UnmappedService } from './discovery';

export interface DevOptions {
  readonly dir: string;
  readonly config: CliConfig;
  readonly logger: Logger;
  /** Where the human-readable lines go (stdout). */
  readonly out: (line: string) => void;
}

export interface DevHandle {
  readonly dispatcher: Dispatcher;
  readonly adapters: ReadonlyMap<string, AdapterHandle>;
  readonly applications: readonly DevApplication[];
  close(): Promise<void>;
}

export async function startDev(options: DevOptions): Promise<DevHandle> {
  const { config: cfg, logger, out } = options;
  const dir = path.resolve(options.dir);
  if (!existsSync(dir)) {
    throw new Error(`manifest directory ${dir} does not exist: synthesize first (npm run synth) or pass the directory, e.g. event-mesh dev dist`);
  }
  // Files directly in the directory: a cdk8s dist/ may hold other apps' output in subdirectories.
  const readOptions = { expandRoutingConfigMap: true, maxDepth: 0 };
  const manifests = await readManifests(dir, readOptions);
  for (const p of manifests.problems) logger.warn({ problem: p }, 'manifest problem');
  const applications = discoverApplications(manifests.objects);
  const serviceOverrides = parseServiceMap(cfg.map);

  const channel = await createChannel(channelConfigFromCli(cfg), { logger, name: 'event-mesh-dev' });
  const dispatcher = await startDispatcher(
    {
      port: cfg.port,
      host: cfg.host,
      routingDir: dir,
      readOptions,
      maxBodyBytes: cfg.maxBodyBytes,
      systemNamespace: cfg.systemNamespace,
      clusterDomain: cfg.clusterDomain,
      shutdownGraceMs: cfg.shutdownGraceMs,
      ackWaitMs: cfg.ackWaitMs,
      serviceOverrides,
      routingPollMs: 2000,
      topicOptions: { maxAgeMs: cfg.streamMaxAgeMs, maxInactivityMs: cfg.channelMaxInactivityMs, replicas: cfg.streamReplicas },
    },
    { channel, ownsChannel: true, logger, registry: createMetricsRegistry() },
  );

  const adapters = new Map<string, AdapterHandle>();
  const adapterRegistry = createMetricsRegistry({ defaults: false });
  const firstPort = cfg.adapterPort ?? (cfg.port === 0 ? 0 : cfg.port + 1);
  try {
    for (const [i, app] of applications.entries()) {
      const adapter = await startAdapter(
        {
          application: app.name,
          channelNamespace: app.channelNamespace,
          channelName: app.channelName,
          port: firstPort === 0 ? 0 : firstPort + i,
          host: cfg.host,
          maxBodyBytes: cfg.maxBodyBytes,
          shutdownGraceMs: cfg.shutdownGraceMs,
        },
        { channel, logger, registry: adapterRegistry },
      );
      adapters.set(app.name, adapter);
    }
  } catch (err) {
    await Promise.all([...adapters.values()].map((a) => a.close()));
    await dispatcher.close(0);
    throw err;
  }

  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  out(`event-mesh dev: ${dir} on the ${channel.kind === 'inmemory' ? 'in-memory channel' : `${channel.kind} channel`}`);
  if (applications.length === 0) out('no applications found (no HTTPSource or Application objects in the manifests)');
  for (const app of applications) out(`application ${app.name}: http://${host}:${adapters.get(app.name)!.port}/events`);
  for (const b of dispatcher.table().brokers.values()) out(`broker ${b.namespace}/${b.name}: http://${host}:${dispatcher.port}/${b.namespace}/${b.name}`);
  for (const p of dispatcher.problems()) out(`warning: skipped ${p.kind} ${p.namespace}/${p.name}: ${p.message}`);
  const unmapped = findUnmappedServices(dispatcher.table(), serviceOverrides, cfg.clusterDomain);
  if (unmapped.length > 0) {
    out(`warning: ${unmapped.length} subscriber Service(s) run in the cluster and have no local URL; their events will fail (and be retried) until mapped:`);
    for (const u of unmapped) out(`  ${u.service} (${u.usedBy.join(', ')}): add --map ${u.service}=http://127.0.0.1:<port>`);
  }
  out('ready: press Ctrl+C to stop');

  let closing: Promise<void> | undefined;
  return {
    dispatcher,
    adapters,
    applications,
    close: () => {
      closing ??= (async () => {
        await Promise.all([...adapters.values()].map((a) => a.close()));
        await dispatcher.close(cfg.shutdownGraceMs);
      })();
      return closing;
    },
  };
}
