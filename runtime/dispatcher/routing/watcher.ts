/**
 * Watching the routing directory (I/O): fs.watch on the directory (a ConfigMap update is
 * a rename of `..data`, which the directory watch sees), debounced, plus a periodic
 * re-read as a safety net for missed events. A reload whose content hash equals the last
 * one is not reported.
 */
import { watch, FSWatcher } from 'node:fs';
import { readManifests, readManifestsIfChanged } from './manifests';
import type { ManifestSet, ReadManifestOptions } from './manifests';

export interface RoutingWatcherOptions {
  readonly dir: string;
  readonly debounceMs?: number;
  readonly pollMs?: number;
  readonly readOptions?: ReadManifestOptions;
  /** Called with every new content (not for the initial load). */
  readonly onChange: (set: ManifestSet) => void | Promise<void>;
  readonly onError?: (err: Error) => void;
}

export class RoutingWatcher {
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private poller?: NodeJS.Timeout;
  private lastFingerprint?: string;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: RoutingWatcherOptions) {}

  /** Read once (throws when the directory is missing) and start watching. */
  async start(): Promise<ManifestSet> {
    let set: ManifestSet | undefined;
    try {
      set = await readManifests(this.options.dir, this.options.readOptions);
      this.lastFingerprint = set.fingerprint;
      return set;
    } finally {
      this.watchDir();
      this.poller = setInterval(() => this.schedule(0), this.options.pollMs ?? 10_000);
      this.poller.unref();
    }
  }

  private watchDir(): void {
    if (this.stopped || this.watcher) return;
    try {
      this.watcher = watch(this.options.dir, { persistent: false }, () => this.schedule(this.options.debounceMs ?? 250));
      this.watcher.on('error', () => {
        // The directory went away (or was replaced): re-establish on the next poll.
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined;
    }
  }

  /** Re-read now (after `delayMs`), e.g. from a test or a signal. */
  schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running.then(() => this.check());
    }, delayMs);
    this.timer.unref();
  }

  /** Re-read and report when the content changed; resolves when done. */
  async check(): Promise<void> {
    if (this.stopped) return;
    this.watchDir();
    let set: ManifestSet | undefined;
    try {
      set = await readManifestsIfChanged(this.options.dir, this.lastFingerprint, this.options.readOptions);
    } catch (err) {
      this.options.onError?.(err as Error);
      return;
    }
    if (!set || set.fingerprint === this.lastFingerprint || this.stopped) return;
    this.lastFingerprint = set.fingerprint;
    try {
      await this.options.onChange(set);
    } catch (err) {
      this.options.onError?.(err as Error);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.poller) clearInterval(this.poller);
    this.watcher?.close();
    await this.running;
  }
}
