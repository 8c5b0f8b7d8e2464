/**
 * Keep-alive signals for long deliveries, pure apart from the one interval it owns: one
 * sweep per worker instead of a timer per delivery. A delivery is added when it starts and
 * deleted when it settles; every sweep calls `beat` for each delivery that has not had a
 * heartbeat (or started) for `periodMs` or longer.
 *
 * With sweeps every `periodMs` the longest gap between a delivery's start or heartbeat and
 * its next heartbeat is 2 × periodMs (it may miss a sweep by a hair and be due at the next
 * one); callers pick periodMs = ackWait / 6 to keep the gap within ackWait / 3, the period
 * of the per-delivery interval this replaces.
 */
export class HeartbeatSweep<T> {
  /** Delivery -> when (ms) it started or last had a heartbeat. */
  private readonly last = new Map<T, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    readonly periodMs: number,
    private readonly beat: (item: T) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  get size(): number {
    return this.last.size;
  }

  add(item: T, now = this.clock()): void {
    this.last.set(item, now);
  }

  delete(item: T): void {
    this.last.delete(item);
  }

  /** Beat every delivery due at `now`; returns how many were beaten. */
  sweep(now = this.clock()): number {
    let n = 0;
    for (const [item, at] of this.last) {
      if (now - at < this.periodMs) continue;
      this.last.set(item, now);
      n++;
      try {
        this.beat(item);
      } catch {
        // a failed heartbeat is the channel's business (redelivery after ackWait)
      }
    }
    return n;
  }

  /** Sweep every periodMs (the interval does not keep the process alive). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** The sweep period for an ackWait: a heartbeat at least every ackWait / 3. */
export function heartbeatPeriodMs(ackWaitMs: number): number {
  return Math.max(50, Math.floor(ackWaitMs / 6));
}
