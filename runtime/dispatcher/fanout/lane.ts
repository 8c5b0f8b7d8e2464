/**
 * A Trigger's lane in its broker's fan-out stage: at most `maxInFlight` deliveries run at
 * once, later ones wait in order; when `queueLimit` events already wait, a new one that may
 * spill is offered to be parked instead, so one slow subscriber cannot hold its broker's
 * other Triggers back. The caller may decline (nothing else would gain: parking then only
 * adds a write and a read per event to a dispatcher that is already behind) and the task
 * waits. No I/O of its own: running and parking are the caller's functions.
 */
export interface LaneTask {
  run(): Promise<void>;
  /**
   * Park it elsewhere instead of waiting (only asked when `spillable` and the queue is at its
   * limit); false when it declined, and the task waits its turn after all.
   */
  spill(): boolean;
  /** The lane closed before the task ran. */
  abandon(): void;
  readonly spillable: boolean;
}

export class Lane {
  private running = 0;
  private readonly waiting: LaneTask[] = [];
  private head = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private maxInFlight: number,
    private readonly queueLimit: number,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** As many wait as the queue limit allows (a new spillable task would be offered for parking). */
  get saturated(): boolean {
    return this.queued >= this.queueLimit;
  }

  resize(maxInFlight: number): void {
    this.maxInFlight = Math.max(1, maxInFlight);
    this.pump();
  }

  submit(task: LaneTask): void {
    if (this.closed) return task.abandon();
    if (this.running < this.maxInFlight && this.queued === 0) return this.start(task);
    if (task.spillable && this.queued >= this.queueLimit && task.spill()) return;
    this.waiting.push(task);
  }

  /** Resolves once nothing runs (at once when nothing does). */
  idle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Abandon everything waiting; running tasks finish on their own. */
  close(): void {
    this.closed = true;
    const rest = this.waiting.slice(this.head);
    this.waiting.length = 0;
    this.head = 0;
    for (const t of rest) t.abandon();
  }

  private start(task: LaneTask): void {
    this.running++;
    let run: Promise<void>;
    try {
      run = task.run();
    } catch {
      run = Promise.resolve();
    }
    run.then(this.finished, this.finished);
  }

  private readonly finished = (): void => {
    this.running--;
    this.pump();
    if (this.running === 0 && this.idleWaiters.length) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  private pump(): void {
    while (!this.closed && this.running < this.maxInFlight && this.head < this.waiting.length) {
      const next = this.waiting[this.head++];
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      this.start(next);
    }
  }
}
