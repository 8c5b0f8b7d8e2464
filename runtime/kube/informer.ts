/**
 * An informer (I/O): list a kind, then watch it from the list's resourceVersion, keeping a
 * cache and calling the handler for every change. A watch the server ends is resumed from
 * the last resourceVersion seen; a failed one is resumed after a backoff (doubling, capped,
 * reset once a watch delivers); 410 Gone (HTTP status or an ERROR event) means the
 * resourceVersion is too old, so it lists again and reports the difference to its cache
 * as ADDED / MODIFIED / DELETED, as client-go's reflector does.
 */
import type { ManifestObject } from '../dispatcher/routing/manifests';
import { collectionPath } from './kinds';
import type { KubeKind } from './kinds';
import { KubeApiError } from './transport';
import type { Transport } from './transport';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type WatchHandler = (type: WatchEventType, obj: ManifestObject) => void;

export interface InformerOptions {
  /** Only this namespace. @default - all namespaces */
  readonly namespace?: string;
  /** First reconnect delay. @default 250 */
  readonly initialBackoffMs?: number;
  /** @default 30000 */
  readonly maxBackoffMs?: number;
  /** Ask the server to end each watch after this long (it is then resumed). @default 300 */
  readonly watchTimeoutSeconds?: number;
  /** Told about every failed list or watch (it is retried). */
  readonly onError?: (err: Error) => void;
}

interface Meta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
}

const metaOf = (o: ManifestObject): Meta => (o.metadata ?? {}) as Meta;
const keyOf = (o: ManifestObject) => `${metaOf(o).namespace ?? ''}/${metaOf(o).name ?? ''}`;

class Gone extends Error {}

export class Informer {
  private readonly cache = new Map<string, ManifestObject>();
  private resourceVersion = '';
  private readonly abort = new AbortController();
  private backoffMs: number;
  private markSynced!: () => void;
  /** Resolves after the first complete list has been delivered to the handler. */
  readonly synced = new Promise<void>((r) => (this.markSynced = r));
  /** How many times it listed (1 + relists after 410 Gone). */
  lists = 0;
  private sleepTimer?: NodeJS.Timeout;
  private wake?: () => void;
  private loop?: Promise<void>;

  constructor(
    private readonly transport: Transport,
    readonly kind: KubeKind,
    private readonly handler: WatchHandler,
    private readonly options: InformerOptions = {},
  ) {
    this.backoffMs = options.initialBackoffMs ?? 250;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** The cached objects, sorted by namespace/name. */
  list(): ManifestObject[] {
    return [...this.cache.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    this.markSynced();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private emit(type: WatchEventType, obj: ManifestObject): void {
    try {
      this.handler(type, obj);
    } catch (err) {
      this.options.onError?.(err as Error);
    }
  }

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        const started = Date.now();
        const delivered = await this.watch();
        if (!delivered && Date.now() - started < 1000 && !this.stopped) {
          // Ended at once without an event: do not spin against a server that hangs up.
          await this.sleep(this.backoffMs);
          this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 30_000);
        }
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof Gone) {
          needList = true;
          continue; // relist at once: nothing is wrong with the connection
        }
        if (err instanceof KubeApiError && err.statusCode === 410) {
          needList = true;
          continue;
        }
        this.options.onError?.(err as Error);
        await this.sleep(this.backoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 30_000);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      this.wake = r;
      this.sleepTimer = setTimeout(r, ms);
    });
  }

  private async relist(): Promise<void> {
    const res = await this.transport.request('GET', collectionPath(this.kind, this.options.namespace));
    const body = res.body as { metadata?: { resourceVersion?: string }; items?: ManifestObject[] };
    if (this.stopped) return;
    this.lists++;
    const items = (body.items ?? []).map((o) => ({ apiVersion: this.kind.apiVersion, kind: this.kind.kind, ...o }));
    const seen = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj);
      seen.add(key);
      const before = this.cache.get(key);
      this.cache.set(key, obj);
      if (!before) this.emit('ADDED', obj);
      else if (metaOf(before).resourceVersion !== metaOf(obj).resourceVersion) this.emit('MODIFIED', obj);
    }
    for (const [key, obj] of [...this.cache]) {
      if (seen.has(key)) continue;
      this.cache.delete(key);
      this.emit('DELETED', obj);
    }
    this.resourceVersion = body.metadata?.resourceVersion ?? '';
    this.markSynced();
  }

  /** One watch until the server ends it; true when it delivered at least one event. */
  private async watch(): Promise<boolean> {
    const query = new URLSearchParams({
      watch: 'true',
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(this.options.watchTimeoutSeconds ?? 300),
    });
    let gone = false;
    let delivered = false;
    await this.transport.stream(
      `${collectionPath(this.kind, this.options.namespace)}?${query}`,
      (raw) => {
        if (gone) return;
        const event = raw as { type?: string; object?: ManifestObject & { code?: number; message?: string } };
        const obj = event.object;
        if (!obj || typeof obj !== 'object') return;
        if (event.type === 'ERROR') {
          if (obj.code === 410) gone = true;
          else this.options.onError?.(new Error(`watch ${this.kind.plural}: ${obj.code ?? ''} ${obj.message ?? ''}`));
          return;
        }
        const rv = metaOf(obj).resourceVersion;
        if (rv) this.resourceVersion = rv;
        delivered = true;
        this.backoffMs = this.options.initialBackoffMs ?? 250;
        if (event.type === 'BOOKMARK') return;
        const full = { apiVersion: this.kind.apiVersion, kind: this.kind.kind, ...obj };
        const key = keyOf(full);
        if (event.type === 'DELETED') {
          this.cache.delete(key);
          this.emit('DELETED', full);
        } else if (event.type === 'ADDED' || event.type === 'MODIFIED') {
          const had = this.cache.has(key);
          this.cache.set(key, full);
          this.emit(had ? 'MODIFIED' : 'ADDED', full);
        }
      },
      this.abort.signal,
    );
    if (gone) throw new Gone();
    return delivered;
  }
}
