/**
 * The messages a fan-out Trigger's worker handles instead of a channel delivery of its own
 * (does I/O through the functions it is given):
 * - `FanOutShare`: its share of a broker event the fan-out stage read once for all
 *   Triggers. Settling it settles the share (`SharedSettlement`); giving it back parks the
 *   event on the broker's retry topic for this Trigger alone.
 * - `ParkedMessage`: an event parked for this Trigger, read back from the retry topic.
 *   Giving it back parks it again, one delivery further, so the count survives restarts.
 */
import type { ChannelMessage } from '../../channel/channel';
import type { SharedSettlement } from './settlement';

/** Park `event` for the Trigger after `deliveries` deliveries, to be tried after `delayMs`. */
export type Park = (event: Uint8Array, deliveries: number, delayMs: number, reason: 'saturated' | 'retry') => Promise<void>;

const RESOLVED: Promise<void> = Promise.resolve();

export class FanOutShare implements ChannelMessage {
  private settled = false;

  /** `data`: the event as the broker has it (stamped, when read from an application channel). */
  constructor(
    private readonly parent: ChannelMessage,
    private readonly settlement: SharedSettlement,
    private readonly park: Park,
    readonly data: Uint8Array = parent.data,
  ) {}

  get deliveryCount(): number {
    return this.parent.deliveryCount;
  }

  get sequence(): number | undefined {
    return this.parent.sequence;
  }

  ack(): Promise<void> {
    this.finish(true);
    return RESOLVED;
  }

  nak(delayMs?: number): void {
    this.parkHere(this.deliveryCount, delayMs ?? 0, 'retry');
  }

  /** The fan-out stage heartbeats the broker event itself while any share is open. */
  working(): void {}

  /** Park before any delivery (the Trigger's lane is full). */
  spill(): void {
    this.parkHere(this.deliveryCount - 1, 0, 'saturated');
  }

  /** Could not be settled: the broker event goes back for redelivery. */
  fail(): void {
    this.finish(false);
  }

  private parkHere(deliveries: number, delayMs: number, reason: 'saturated' | 'retry'): void {
    if (this.settled) return;
    this.settled = true;
    this.park(this.data, Math.max(0, deliveries), delayMs, reason).then(
      () => this.settlement.settle(true),
      () => this.settlement.settle(false),
    );
  }

  private finish(ok: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.settlement.settle(ok);
  }
}

export class ParkedMessage implements ChannelMessage {
  private settled = false;

  constructor(
    private readonly message: ChannelMessage,
    readonly data: Uint8Array,
    private readonly deliveries: number,
    private readonly park: Park,
  ) {}

  get deliveryCount(): number {
    return this.deliveries + 1;
  }

  ack(): Promise<void> {
    if (this.settled) return RESOLVED;
    this.settled = true;
    return this.message.ack();
  }

  nak(delayMs?: number): void {
    if (this.settled) return;
    this.settled = true;
    // Parked again one delivery further, then this copy is done; if parking fails the
    // channel redelivers this copy instead.
    this.park(this.data, this.deliveryCount, delayMs ?? 0, 'retry').then(
      () => void this.message.ack(),
      () => this.message.nak(delayMs),
    );
  }

  working(): void {
    if (!this.settled) this.message.working();
  }
}
