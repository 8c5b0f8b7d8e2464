/**
 * When a broker event handed to several Triggers by the fan-out stage is done with: it is
 * acknowledged once every Trigger's share is settled (delivered, dead-lettered, dropped by
 * policy or parked on the retry topic), and given back for redelivery (to all of them:
 * at least once) when any share could not be settled. Pure.
 */
export class SharedSettlement {
  private remaining: number;
  private failed = false;
  private finished = false;

  constructor(
    shares: number,
    private readonly finish: (ok: boolean) => void,
  ) {
    this.remaining = shares;
    if (shares <= 0) this.end();
  }

  /** One share is settled (`ok`) or could not be (`!ok`). Each share reports once. */
  settle(ok: boolean): void {
    if (this.finished) return;
    if (!ok) this.failed = true;
    if (--this.remaining <= 0) this.end();
  }

  get done(): boolean {
    return this.finished;
  }

  private end(): void {
    this.finished = true;
    this.finish(!this.failed);
  }
}
