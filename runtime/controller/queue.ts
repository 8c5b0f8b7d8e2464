/**
 * A keyed work queue (no I/O of its own; timers only). Adding a key that is already waiting
 * replaces its item (dedupe: the latest desired state wins); adding one that is being worked
 * on runs it again afterwards with the newer item. A failed key is retried after a per-key
 * exponential backoff (base, doubling, capped), and forgotten on success. Keys are worked on
 * one at a time each, up to `concurrency` keys at once.
 */

export interface WorkQueueOptions {
  /** First retry delay. @default 200 */
  readonly baseDelayMs?: number;
  /** Longest retry delay. @default 60000 */
  readonly maxDelayMs?: number;
  /** Keys worked on at once. @default 4 */
  readonly concurrency?: number;
  /** Called when a key fails (for the log and metrics). @default - nothing */
  readonly onError?: (key: string, error: unknown, attempt: number, retryInMs: number) => void;
}

export type WorkHandler<T> = (key: string, item: T) => Promise<void>;

/** The retry delay after `failures` consecutive failures: base × 2^(failures−1), at most max. */
export function backoffDelay(failures: number, baseDelayMs: number, maxDelayMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(failures - 1, 30));
}

export class WorkQueue<T> {
  private readonly pending = new Map<string, T>();
  private readonly order: string[] = [];
  private readonly active = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly concurrency: number;

  constructor(private readonly handler: WorkHandler<T>, private readonly options: WorkQueueOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  /** Queue `item` under `key`, replacing a waiting item of the same key. */
  add(key: string, item: T): void {
    if (this.stopped) return;
    const waiting = this.pending.has(key);
    this.pending.set(key, item);
    // A key backing off keeps its timer: the retry picks up the newer item.
    if (!waiting && !this.timers.has(key)) this.order.push(key);
    this.pump();
  }

  /** Keys waiting, running or backing off. */
  get size(): number {
    return new Set([...this.pending.keys(), ...this.active, ...this.timers.keys()]).size;
  }

  /** Consecutive failures of `key` (0 after a success). */
  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Resolves when nothing is waiting or running (keys backing off do not count). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drop everything waiting and every retry; running items finish. */
  clear(): void {
    this.pending.clear();
    this.order.length = 0;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.failures.clear();
    this.notifyIdle();
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private isIdle(): boolean {
    return this.order.length === 0 && this.active.size === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private pump(): void {
    while (!this.stopped && this.active.size < this.concurrency) {
      const index = this.order.findIndex((k) => !this.active.has(k));
      if (index < 0) break;
      const [key] = this.order.splice(index, 1);
      if (!this.pending.has(key)) continue;
      const item = this.pending.get(key) as T;
      this.pending.delete(key);
      this.active.add(key);
      void this.run(key, item);
    }
    this.notifyIdle();
  }

  private async run(key: string, item: T): Promise<void> {
    try {
      await this.handler(key, item);
      this.failures.delete(key);
    } catch (error) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      const delay = backoffDelay(attempt, this.baseDelayMs, this.maxDelayMs);
      this.options.onError?.(key, error, attempt, delay);
      // Retry the newest item for the key: the one that failed, unless a newer one came meanwhile.
      if (!this.stopped && !this.pending.has(key)) this.pending.set(key, item);
      if (!this.stopped) {
        const waitingIndex = this.order.indexOf(key);
        if (waitingIndex >= 0) this.order.splice(waitingIndex, 1);
        const timer = setTimeout(() => {
          this.timers.delete(key);
          if (this.pending.has(key)) this.order.push(key);
          this.pump();
        }, delay);
        timer.unref?.();
        this.timers.set(key, timer);
      }
    } finally {
      this.active.delete(key);
      this.pump();
    }
  }
}
