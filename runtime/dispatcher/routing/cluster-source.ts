/**
 * Routing from the cluster (I/O through the kube layer): informers on Brokers, Triggers,
 * Subscriptions and Channels, their caches handed to the same pure buildRoutingTable as
 * the manifest directory's objects. The second routing source next to RoutingWatcher,
 * with the same shape: `start()` resolves with the first complete set once every informer
 * has listed; afterwards every change (debounced) is reported with the whole set, so a
 * Trigger applied with kubectl is routed within a moment and a deleted one is dropped.
 */
import { createHash } from 'node:crypto';
import { DISPATCHER_USES } from '../../kube/kinds';
import type { KubeKind } from '../../kube/kinds';
import type { KubeClient } from '../../kube/client';
import type { ManifestObject, ManifestSet } from './manifests';

export interface RoutingSource {
  /** The first complete set (then watching starts); rejects when it cannot be read at all. */
  start(): Promise<ManifestSet>;
  /** Re-read now; resolves when a change (if any) has been reported. */
  check(): Promise<void>;
  stop(): Promise<void>;
}

export interface RoutingSourceHandlers {
  /** Called with every new content (not for the initial set). */
  readonly onChange: (set: ManifestSet) => void | Promise<void>;
  readonly onError?: (err: Error) => void;
}

/** What the dispatcher builds a RoutingSource from (the directory watcher, or the cluster). */
export type RoutingSourceFactory = (handlers: RoutingSourceHandlers) => RoutingSource;

export interface ClusterRoutingOptions {
  /** The kinds watched. @default Broker, Trigger, Subscription and Channel (DISPATCHER_USES) */
  readonly kinds?: readonly KubeKind[];
  /** Changes arriving within this window are reported once. @default 100 */
  readonly debounceMs?: number;
}

/** Fingerprint of the objects as the API server versions them. */
function fingerprintOf(objects: readonly ManifestObject[]): string {
  const hash = createHash('sha256');
  for (const o of objects) {
    const m = (o.metadata ?? {}) as { namespace?: string; name?: string; resourceVersion?: string };
    hash.update(`${o.apiVersion}|${o.kind}|${m.namespace ?? ''}|${m.name ?? ''}|${m.resourceVersion ?? ''}\0`);
  }
  return hash.digest('hex');
}

export class ClusterRoutingSource implements RoutingSource {
  private readonly kinds: readonly KubeKind[];
  private readonly stops: (() => void)[] = [];
  private timer?: NodeJS.Timeout;
  private started = false;
  private stopped = false;
  private lastFingerprint = '';
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly handlers: RoutingSourceHandlers,
    private readonly options: ClusterRoutingOptions = {},
  ) {
    this.kinds = options.kinds ?? DISPATCHER_USES.map((u) => u.kind);
  }

  /** Build a RoutingSourceFactory for startDispatcher's `routingSource`. */
  static factory(client: KubeClient, options: ClusterRoutingOptions = {}): RoutingSourceFactory {
    return (handlers) => new ClusterRoutingSource(client, handlers, options);
  }

  private snapshot(): ManifestSet {
    const objects = this.kinds.flatMap((k) => this.client.list(k));
    return { objects, problems: [], fingerprint: fingerprintOf(objects), files: [] };
  }

  async start(): Promise<ManifestSet> {
    const watches = await Promise.all(
      this.kinds.map((k) =>
        this.client.watch(k, () => this.schedule(), {
          onError: (err) => this.handlers.onError?.(err),
        }),
      ),
    );
    for (const w of watches) this.stops.push(() => w.stop());
    await Promise.all(watches.map((w) => w.synced));
    const set = this.snapshot();
    this.lastFingerprint = set.fingerprint;
    this.started = true;
    return set;
  }

  private schedule(): void {
    if (!this.started || this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running.then(() => this.check());
    }, this.options.debounceMs ?? 100);
    this.timer.unref();
  }

  async check(): Promise<void> {
    if (!this.started || this.stopped) return;
    const set = this.snapshot();
    if (set.fingerprint === this.lastFingerprint) return;
    this.lastFingerprint = set.fingerprint;
    try {
      await this.handlers.onChange(set);
    } catch (err) {
      this.handlers.onError?.(err as Error);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const stop of this.stops.splice(0)) stop();
    await this.running;
  }
}
