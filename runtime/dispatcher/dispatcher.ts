/**
 * The dispatcher process (I/O): routing from manifests or the cluster (reloaded on change), broker
 * ingress over HTTP, one delivery worker per Subscription and per Trigger, health and
 * metrics endpoints, graceful shutdown.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brokerFanOutConsumer, brokerRetryTopic, DEFAULT_SYSTEM_NAMESPACE, triggerRetryConsumer } from '../../constructs/api';
import type { Destination, MeshAddressing } from '../../constructs/api';
import type { Channel, TopicOptions } from '../channel/channel';
import { answerClientError, sendError, sendJson } from '../http';
import { createMetricsRegistry, silentLogger } from '../observability';
import type { Logger, Registry } from '../observability';
import { forEachBounded } from './bounded';
import { HttpSender } from './delivery/http-sender';
import { resolveTarget } from './delivery/targets';
import type { Target } from './delivery/targets';
import { DeliveryWorker } from './delivery/worker';
import type { WorkerRoute } from './delivery/worker';
import { BrokerFanOut, fanOutSourcesKey } from './fanout/broker-fan-out';
import type { BrokerFanOutTarget, FanOutChannelSource } from './fanout/broker-fan-out';
import { parkedAttributes } from './fanout/parked';
import { BrokerStore } from './ingress/broker-store';
import { handleBrokerIngress, parseBrokerPath } from './ingress/http';
import { createDispatcherMetrics } from './metrics';
import type { DispatcherMetrics } from './metrics';
import { buildRoutingTable, consumerSettingsChanged, diffRoutes, EMPTY_ROUTING_TABLE, RoutingWatcher } from './routing';
import type { ManifestSet, ReadManifestOptions, RoutingProblem, RoutingTable, SubscriptionRoute, TriggerRoute } from './routing';
import type { RoutingSource, RoutingSourceFactory } from './routing/cluster-source';

/** Consumers started at once when routing adds many (a few channel round trips each). */
export const WORKER_START_CONCURRENCY = 16;

/** A Subscription a fan-out stage reads straight into its broker. */
interface DirectSubscription {
  readonly topic: string;
  readonly consumer: string;
  readonly brokerKey: string;
  readonly subscription: { readonly namespace: string; readonly name: string };
}

export interface DispatcherOptions {
  /** HTTP port (broker ingress, /healthz, /readyz, /metrics); 0 picks a free one. @default 8080 */
  readonly port?: number;
  /** @default "0.0.0.0" */
  readonly host?: string;
  /** Directory (or file) with the routing manifests (when no `routingSource` is given). */
  readonly routingDir?: string;
  /** Where routing comes from instead of `routingDir`, e.g. ClusterRoutingSource.factory(client). */
  readonly routingSource?: RoutingSourceFactory;
  /** Load the first routing before listening. @default true for routingDir, false for routingSource */
  readonly waitForRouting?: boolean;
  readonly readOptions?: ReadManifestOptions;
  /** Broker ingress request body limit. @default 65536 */
  readonly maxBodyBytes?: number;
  readonly systemNamespace?: string;
  readonly clusterDomain?: string;
  /** How long SIGTERM waits for in-flight deliveries. @default 25000 */
  readonly shutdownGraceMs?: number;
  /** Redelivery timeout of an unacknowledged event (after a crash). @default 30000 */
  readonly ackWaitMs?: number;
  /** Options for the broker and channel topics the dispatcher ensures. */
  readonly topicOptions?: TopicOptions;
  /** `name.namespace` -> URL: where cluster Services are reached (dev mode `--map`). */
  readonly serviceOverrides?: ReadonlyMap<string, string>;
  /** Routing re-read interval (safety net for missed fs events). @default 10000 */
  readonly routingPollMs?: number;
  readonly routingDebounceMs?: number;
  /** Cap on an honoured Retry-After. @default 60000 */
  readonly maxRetryAfterMs?: number;
  /** Fill the `event_type` label of the Knative-named metrics (unbounded values). @default false */
  readonly metricsEventType?: boolean;
  /** Broker ingress: deepest nesting of arrays and objects in a JSON body. @default 64 */
  readonly maxJsonDepth?: number;
  /**
   * Feed a broker's unordered Triggers from one fan-out consumer per broker (each event read
   * once) instead of a consumer per Trigger. Ordered Triggers always have their own.
   * @default true on JetStream and in-memory channels, false on Kafka and Pub/Sub
   */
  readonly fanOut?: boolean;
}

export interface DispatcherDeps {
  /** The channel; connected here when not yet ready. Closed by close() only when `ownsChannel`. */
  readonly channel: Channel;
  readonly ownsChannel?: boolean;
  readonly logger?: Logger;
  readonly registry?: Registry;
}

export interface Dispatcher {
  readonly url: string;
  readonly port: number;
  readonly metrics: DispatcherMetrics;
  readonly registry: Registry;
  /** The routing in force. */
  table(): RoutingTable;
  /** Problems of the routing in force (skipped objects). */
  problems(): readonly RoutingProblem[];
  /** Routing loaded and channel connected. */
  ready(): boolean;
  /** Re-read the routing now; resolves when applied. */
  reload(): Promise<void>;
  /** Graceful stop: stop accepting, stop fetching, let in-flight deliveries finish within the grace. */
  close(graceMs?: number): Promise<void>;
}

function triggerWorkerRoute(t: TriggerRoute, fanOut: boolean): WorkerRoute {
  if (fanOut && t.order !== 'ordered') {
    return {
      ...triggerWorkerRoute(t, false),
      stage: 'fan-out',
      topic: brokerRetryTopic(t.namespace, t.spec.broker),
      consumer: triggerRetryConsumer(t.namespace, t.name),
      prefilter: parkedAttributes(t.key),
    };
  }
  return {
    kind: 'trigger',
    key: t.key,
    namespace: t.namespace,
    name: t.name,
    topic: t.topic,
    consumer: t.consumer,
    order: t.order,
    maxInFlight: t.maxInFlight,
    prefilter: t.prefilter,
    matches: t.filter.matches,
    subscriber: t.subscriber,
    delivery: t.delivery,
    reply: { broker: { namespace: t.namespace, name: t.spec.broker } },
  };
}

function subscriptionWorkerRoute(s: SubscriptionRoute): WorkerRoute {
  return {
    kind: 'subscription',
    key: s.key,
    namespace: s.namespace,
    name: s.name,
    topic: s.topic,
    consumer: s.consumer,
    order: s.order,
    maxInFlight: s.maxInFlight,
    matches: () => true,
    subscriber: s.subscriber,
    delivery: s.delivery,
    ...(s.reply ? { reply: { destination: s.reply } } : {}),
  };
}

export async function startDispatcher(options: DispatcherOptions, deps: DispatcherDeps): Promise<Dispatcher> {
  const logger = deps.logger ?? silentLogger();
  const registry = deps.registry ?? createMetricsRegistry();
  const metrics = createDispatcherMetrics(registry, { eventTypeLabel: options.metricsEventType });
  const channel = deps.channel;
  const addressing: Required<MeshAddressing> = {
    systemNamespace: options.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE,
    integrationNamespace: 'kyma-integration',
    clusterDomain: options.clusterDomain ?? 'cluster.local',
  };
  const graceDefault = options.shutdownGraceMs ?? 25_000;
  const ackWaitMs = options.ackWaitMs ?? 30_000;

  let table: RoutingTable = EMPTY_ROUTING_TABLE;
  let problems: RoutingProblem[] = [];
  let routingLoaded = false;
  let accepting = true;
  let closing: Promise<void> | undefined;
  const triggerWorkers = new Map<string, DeliveryWorker>();
  const fanOutEnabled = options.fanOut ?? (channel.kind === 'nats' || channel.kind === 'inmemory');
  /** Per broker key: its fan-out stage, while it has fan-out Triggers. */
  const fanOuts = new Map<string, BrokerFanOut>();
  /** Subscriptions a fan-out stage read straight into their broker at the last reconcile. */
  let directBefore = new Map<string, DirectSubscription>();
  /**
   * Per-Trigger consumers of an earlier version, taken over by a fan-out stage: removed once
   * the stage has settled past where they were (key: topic|consumer).
   */
  const legacyConsumers = new Map<string, { topic: string; consumer: string; brokerKey: string; upTo: number }>();
  const subscriptionWorkers = new Map<string, DeliveryWorker>();
  /**
   * Topics created (or being created) by this dispatcher: one ensureTopic per topic, however
   * many workers starting at once share it (a broker's retry topic); a failed one is tried again.
   */
  const ensuredTopics = new Map<string, Promise<void>>();
  /** Durable consumers of deleted routes still to remove (retried with the reconcile). */
  const consumersToDelete = new Map<string, { topic: string; consumer: string }>();
  let retryTimer: NodeJS.Timeout | undefined;

  const sender = new HttpSender();
  const store = new BrokerStore(channel, () => table, metrics, logger);
  const resolve = (dest: Destination, namespace: string): Target =>
    resolveTarget(dest, namespace, table, { addressing, serviceOverrides: options.serviceOverrides });
  const workerDeps = { channel, sender, store, metrics, logger, resolve, table: () => table, ackWaitMs, maxRetryAfterMs: options.maxRetryAfterMs };

  if (!channel.isReady()) {
    try {
      await channel.connect();
    } catch (err) {
      // The channel keeps connecting in the background; /readyz says no until it is up and
      // consumers are started by the reconcile retry.
      logger.warn({ err: (err as Error).message, channel: channel.kind }, 'channel not reachable yet; will keep trying');
    }
  }

  const ensureTopic = (topic: string): Promise<void> => {
    let ensured = ensuredTopics.get(topic);
    if (!ensured) {
      ensured = channel.ensureTopic(topic, options.topicOptions);
      ensuredTopics.set(topic, ensured);
      ensured.catch(() => ensuredTopics.delete(topic));
    }
    return ensured;
  };

  /** Bring running workers in line with `table`. Failures are retried by a timer. */
  const reconcile = async (): Promise<void> => {
    if (closing) return;
    let failures = 0;
    for (const topic of [...[...table.brokers.values()].map((b) => b.topic), ...[...table.channels.values()].map((c) => c.topic), ...[...table.subscriptions.values()].map((s) => s.topic)]) {
      try {
        await ensureTopic(topic);
      } catch (err) {
        failures++;
        logger.warn({ topic, err: (err as Error).message }, 'could not create topic; will retry');
      }
    }
    const sync = async (workers: Map<string, DeliveryWorker>, wanted: Map<string, WorkerRoute>) => {
      for (const [key, worker] of workers) {
        if (!wanted.has(key)) {
          workers.delete(key);
          logger.info({ kind: worker.current.kind, route: key }, 'stopping consumer (removed from routing)');
          await worker.stop(graceDefault, true);
          consumersToDelete.set(`${worker.current.topic}|${worker.current.consumer}`, { topic: worker.current.topic, consumer: worker.current.consumer });
        }
      }
      // Several at once: each start is a few round trips to the channel (the old consumer's
      // position, creating the consumer), so one at a time, 1,000 Triggers took 4.5-5.9 s.
      await forEachBounded(wanted, WORKER_START_CONCURRENCY, async ([key, route]) => {
        const existing = workers.get(key);
        if (existing) {
          if (!consumerSettingsChanged(existing.current, route)) {
            existing.update(route);
            return;
          }
          workers.delete(key);
          logger.info({ kind: route.kind, route: key }, 'restarting consumer (ordering, max-in-flight or server-side filter changed)');
          await existing.stop(graceDefault);
        }
        if (closing) return;
        consumersToDelete.delete(`${route.topic}|${route.consumer}`);
        const worker = new DeliveryWorker(route, workerDeps);
        try {
          await ensureTopic(route.topic);
          if (worker.fanOut) await takeOverLegacy(worker);
          // Registered as soon as start() has made its lane (synchronously), before its
          // consumer exists: the fan-out stage hands a new Trigger every broker event from
          // then on, so once the consumer can be seen the Trigger is live.
          const starting = worker.start();
          workers.set(key, worker);
          await starting;
          logger.info({ kind: route.kind, route: key, topic: route.topic, consumer: route.consumer }, 'consumer started');
        } catch (err) {
          if (workers.get(key) === worker) {
            workers.delete(key);
            // Shares it was already handed go back parked (or with their broker event).
            await worker.stop(0).catch(() => undefined);
          }
          failures++;
          logger.warn({ kind: route.kind, route: key, err: (err as Error).message }, 'could not start consumer; will retry');
        }
      });
    };
    // Triggers first: a new Trigger consumer starts at "new", so it must exist before the
    // Subscriptions start feeding its broker.
    await sync(triggerWorkers, new Map([...table.triggers].map(([k, t]) => [k, triggerWorkerRoute(t, fanOutEnabled)])));
    const direct = directSubscriptions();
    failures += await syncFanOuts(direct);
    await sync(subscriptionWorkers, new Map([...table.subscriptions].filter(([k]) => !direct.has(k)).map(([k, s]) => [k, subscriptionWorkerRoute(s)])));
    // A Subscription read straight into its broker keeps its durable consumer (the stage reads it).
    for (const d of direct.values()) consumersToDelete.delete(`${d.topic}|${d.consumer}`);
    for (const [key, d] of directBefore) if (!table.subscriptions.has(key)) consumersToDelete.set(`${d.topic}|${d.consumer}`, { topic: d.topic, consumer: d.consumer });
    directBefore = direct;
    // A deleted Trigger or Subscription owes no more events: remove its durable consumer.
    for (const [key, c] of consumersToDelete) {
      if (!channel.deleteConsumer || closing) break;
      try {
        await channel.deleteConsumer(c.topic, c.consumer);
        consumersToDelete.delete(key);
        logger.info({ topic: c.topic, consumer: c.consumer }, 'durable consumer removed');
      } catch (err) {
        failures++;
        logger.warn({ topic: c.topic, consumer: c.consumer, err: (err as Error).message }, 'could not remove durable consumer; will retry');
      }
    }
    failures += await removeLegacy();
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    if ((failures > 0 || legacyConsumers.size > 0) && !closing) {
      retryTimer = setTimeout(() => void serial(reconcile), 2000);
      retryTimer.unref();
    }
  };

  /**
   * Upgrade from per-Trigger consumers: a fan-out Trigger whose old durable consumer on the
   * broker topic still exists leaves everything up to where that one had settled to it
   * (`startAfter`); the old consumer, no longer read, is removed by removeLegacy once the
   * fan-out stage has settled past that point.
   */
  const takeOverLegacy = async (worker: DeliveryWorker): Promise<void> => {
    const r = worker.current;
    const t = table.triggers.get(r.key);
    if (!t || !channel.consumerSettledUpTo) return;
    const upTo = await channel.consumerSettledUpTo(t.topic, t.consumer);
    if (upTo === undefined) return;
    worker.startAfter = upTo;
    legacyConsumers.set(`${t.topic}|${t.consumer}`, { topic: t.topic, consumer: t.consumer, brokerKey: t.brokerKey, upTo });
    logger.info({ route: r.key, consumer: t.consumer, upTo }, 'taking over from the per-Trigger consumer of an earlier version');
  };

  /**
   * Subscriptions whose subscriber is a served Broker fed by a fan-out stage: that stage reads
   * their application channel straight away, with the Subscription's own durable consumer,
   * instead of the event being stored again on the broker topic. Not when the Broker has an
   * ordered Trigger (its dedicated consumer reads the broker topic, so events must be there).
   */
  const directSubscriptions = (): Map<string, DirectSubscription> => {
    const out = new Map<string, DirectSubscription>();
    if (!fanOutEnabled) return out;
    const dedicated = new Set([...table.triggers.values()].filter((t) => t.order === 'ordered').map((t) => t.brokerKey));
    for (const [key, s] of table.subscriptions) {
      const target = resolve(s.subscriber, s.namespace);
      if (target.kind !== 'broker') continue;
      const brokerKey = `${target.namespace}/${target.broker}`;
      if (table.brokers.has(brokerKey) && !dedicated.has(brokerKey)) out.set(key, { topic: s.topic, consumer: s.consumer, brokerKey, subscription: { namespace: s.namespace, name: s.name } });
    }
    return out;
  };

  /**
   * Bring the fan-out stages in line with the running fan-out Triggers and the Subscriptions
   * read straight into their brokers; returns failures.
   */
  const syncFanOuts = async (direct: Map<string, DirectSubscription>): Promise<number> => {
    let failures = 0;
    const wanted = new Map<string, BrokerFanOutTarget>();
    const want = (brokerKey: string): FanOutChannelSource[] | undefined => {
      const b = table.brokers.get(brokerKey);
      if (!b) return undefined;
      let t = wanted.get(brokerKey);
      if (!t) wanted.set(brokerKey, (t = { brokerKey, topic: b.topic, consumer: brokerFanOutConsumer(b.namespace, b.name), channels: [] }));
      return t.channels as FanOutChannelSource[];
    };
    for (const w of triggerWorkers.values()) {
      const t = w.fanOut ? table.triggers.get(w.current.key) : undefined;
      if (t) want(t.brokerKey);
    }
    for (const d of direct.values()) want(d.brokerKey)?.push({ topic: d.topic, consumer: d.consumer, subscription: d.subscription });
    for (const [key, f] of fanOuts) {
      const target = wanted.get(key);
      if (target && fanOutSourcesKey(target) === fanOutSourcesKey(f.target)) continue;
      fanOuts.delete(key);
      await f.stop(graceDefault);
      if (target?.topic === f.target.topic) {
        logger.info({ broker: key }, 'fan-out stage restarting (what it reads changed)');
        continue;
      }
      consumersToDelete.set(`${f.target.topic}|${f.target.consumer}`, { topic: f.target.topic, consumer: f.target.consumer });
      logger.info({ broker: key }, 'fan-out stage stopped (nothing left to fan out)');
    }
    for (const [key, target] of wanted) {
      if (fanOuts.has(key) || closing) continue;
      const { topic, consumer } = target;
      consumersToDelete.delete(`${topic}|${consumer}`);
      const f = new BrokerFanOut(target, { channel, logger, table: () => table, worker: (k) => triggerWorkers.get(k), ackWaitMs, store, metrics });
      // A new stage starts where the earliest per-Trigger consumer it takes over had settled.
      const floors = [...legacyConsumers.values()].filter((l) => l.brokerKey === key).map((l) => l.upTo);
      try {
        await ensureTopic(topic);
        await f.start(floors.length ? Math.min(...floors) : undefined);
        fanOuts.set(key, f);
        logger.info({ broker: key, topic, consumer, channels: target.channels.map((c) => c.topic) }, 'fan-out stage started');
      } catch (err) {
        failures++;
        logger.warn({ broker: key, err: (err as Error).message }, 'could not start the fan-out stage; will retry');
      }
    }
    return failures;
  };

  /** Remove the per-Trigger consumers the fan-out stages have settled past; returns failures. */
  const removeLegacy = async (): Promise<number> => {
    let failures = 0;
    // One look at each stage's position per pass, however many old consumers it took over.
    const settledBy = new Map<string, Promise<number | undefined>>();
    for (const [key, l] of legacyConsumers) {
      if (closing || !channel.consumerSettledUpTo || !channel.deleteConsumer) break;
      try {
        const f = fanOuts.get(l.brokerKey);
        let position = settledBy.get(l.brokerKey);
        if (f && !position) settledBy.set(l.brokerKey, (position = channel.consumerSettledUpTo(f.target.topic, f.target.consumer)));
        const settled = await position;
        if (!f && table.brokers.has(l.brokerKey)) continue;
        if (f && (settled === undefined || settled < l.upTo)) continue;
        await channel.deleteConsumer(l.topic, l.consumer);
        legacyConsumers.delete(key);
        logger.info({ topic: l.topic, consumer: l.consumer }, 'per-Trigger consumer of an earlier version removed (taken over by the fan-out stage)');
      } catch (err) {
        failures++;
        logger.warn({ topic: l.topic, consumer: l.consumer, err: (err as Error).message }, 'could not remove an old per-Trigger consumer; will retry');
      }
    }
    return failures;
  };

  // Routing changes and retries are applied one at a time, in order.
  let chain: Promise<void> = Promise.resolve();
  const serial = (fn: () => Promise<void>): Promise<void> => {
    chain = chain.then(fn, fn).catch((err) => logger.error({ err }, 'applying routing failed'));
    return chain;
  };

  const apply = (set: ManifestSet): Promise<void> =>
    serial(async () => {
      for (const p of set.problems) logger.warn({ problem: p }, 'routing file problem');
      const built = buildRoutingTable(set.objects);
      const diff = { triggers: diffRoutes(table.triggers, built.table.triggers), subscriptions: diffRoutes(table.subscriptions, built.table.subscriptions) };
      for (const p of built.problems) logger.warn({ kind: p.kind, namespace: p.namespace, object: p.name }, `skipped ${p.kind} ${p.namespace}/${p.name}: ${p.message}`);
      table = built.table;
      problems = built.problems;
      routingLoaded = true;
      metrics.routingReloads.inc({ result: 'ok' });
      metrics.routingProblems.set(problems.length);
      logger.info(
        {
          brokers: table.brokers.size,
          triggers: table.triggers.size,
          subscriptions: table.subscriptions.size,
          added: diff.triggers.added.length + diff.subscriptions.added.length,
          removed: diff.triggers.removed.length + diff.subscriptions.removed.length,
          changed: diff.triggers.changed.length + diff.subscriptions.changed.length,
          problems: problems.length,
        },
        'routing loaded',
      );
      await reconcile();
    });

  const routingFrom = options.routingSource ? 'cluster' : options.routingDir;
  const handlers = {
    onChange: (set: ManifestSet) => apply(set),
    onError: (err: Error) => {
      metrics.routingReloads.inc({ result: 'error' });
      logger.warn({ routing: routingFrom, err: err.message }, 'reading routing failed; keeping the routing in force');
    },
  };
  if (!options.routingSource && !options.routingDir) throw new Error('startDispatcher: routingDir or routingSource is required');
  const watcher: RoutingSource = options.routingSource
    ? options.routingSource(handlers)
    : new RoutingWatcher({ dir: options.routingDir!, debounceMs: options.routingDebounceMs, pollMs: options.routingPollMs, readOptions: options.readOptions, ...handlers });

  // HTTP: ingress, health, metrics.
  const server: Server = createServer((req, res) => void route(req, res));
  server.keepAliveTimeout = 65_000;
  server.on('clientError', answerClientError(logger));
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const pathname = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' || req.method === 'HEAD') {
        if (pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
        if (pathname === '/readyz') {
          const ok = isReady();
          return sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', channel: channel.isReady(), routing: routingLoaded, accepting });
        }
        if (pathname === '/metrics') {
          const text = await registry.metrics();
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
          return;
        }
      }
      const target = parseBrokerPath(pathname);
      if (!target) {
        req.resume();
        return sendError(res, 404, 'not_found', `no such endpoint ${pathname}: POST CloudEvents to /<namespace>/<broker>; GET /healthz, /readyz, /metrics`);
      }
      await handleBrokerIngress(req, res, target, store, { maxBodyBytes: options.maxBodyBytes ?? 65_536, accepting: () => accepting, maxJsonDepth: options.maxJsonDepth }, metrics, logger);
    } catch (err) {
      logger.error({ err }, 'request failed');
      sendError(res, 500, 'internal_error', 'the request failed unexpectedly; retry');
    }
  };
  const isReady = () => accepting && routingLoaded && channel.isReady();

  const initialLoad = (async () => {
    try {
      const initial = await watcher.start();
      await apply(initial);
    } catch (err) {
      metrics.routingReloads.inc({ result: 'error' });
      logger.error({ routing: routingFrom, err: (err as Error).message }, 'cannot read routing; not ready until it appears');
    }
  })();
  // A directory is read before listening; the cluster may take a while (or be unreachable
  // for a bit): listen at once, and /readyz says no until the informers have listed.
  if (options.waitForRouting ?? !options.routingSource) await initialLoad;

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const close = (graceMs = graceDefault): Promise<void> => {
    if (closing) return closing;
    closing = (async () => {
      accepting = false;
      if (retryTimer) clearTimeout(retryTimer);
      await watcher.stop();
      await initialLoad;
      await chain;
      const workers = [...triggerWorkers.values(), ...subscriptionWorkers.values()];
      const stages = [...fanOuts.values()];
      fanOuts.clear();
      // The fan-out stages stop reading first, while the Triggers' workers finish or park
      // what they were handed; then the workers stop.
      const stagesStopped = Promise.all(stages.map((f) => f.stop(graceMs)));
      await Promise.all(workers.map((w) => w.stop(graceMs)));
      await stagesStopped;
      triggerWorkers.clear();
      subscriptionWorkers.clear();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections();
        setTimeout(() => {
          server.closeAllConnections();
          r();
        }, Math.min(graceMs, 2000)).unref();
      });
      await sender.close();
      if (deps.ownsChannel) await channel.close();
      logger.info('dispatcher stopped');
    })();
    return closing;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    metrics,
    registry,
    table: () => table,
    problems: () => problems,
    ready: isReady,
    reload: async () => {
      await watcher.check();
      await chain;
    },
    close,
  };
}
