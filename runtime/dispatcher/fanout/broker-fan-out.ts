/**
 * A broker's fan-out stage (does I/O): one durable consumer reads each event stored on the
 * broker once, runs the broker's filter index (only the filters that can match) and hands
 * each matching fan-out Trigger its share. The event is acknowledged once every share is
 * settled, and given back (to all of them: at least once) when one could not be.
 *
 * Why: with a consumer per Trigger, the server scans every Trigger's filter subject across
 * the events of all the others (nats-server's cost grows with Triggers × events); here it
 * is one sequential read per broker. Isolation stays: each Trigger has its own lane with
 * its own in-flight budget, and a saturated or retrying Trigger parks its events on the
 * broker's retry topic instead of holding the others back.
 */
import type { Channel, ChannelConsumer, ChannelMessage } from '../../channel/channel';
import { readChannelEvent } from '../../cloudevents';
import type { CloudEventJson } from '../../cloudevents';
import type { Logger } from '../../observability';
import { HeartbeatSweep, heartbeatPeriodMs } from '../delivery/heartbeats';
import { CHANNEL_MAX_DELIVERIES } from '../delivery/undeliverable';
import type { DeliveryWorker } from '../delivery/worker';
import type { RoutingTable } from '../routing/table';
import { SharedSettlement } from './settlement';
import { FanOutShare } from './shares';

/** Broker events handed out and not yet settled, per broker. */
export const FAN_OUT_MAX_IN_FLIGHT = 4096;

export interface BrokerFanOutDeps {
  readonly channel: Channel;
  readonly logger: Logger;
  readonly table: () => RoutingTable;
  /** The running worker of a Trigger (route key), if any. */
  readonly worker: (triggerKey: string) => DeliveryWorker | undefined;
  readonly ackWaitMs: number;
}

export interface BrokerFanOutTarget {
  readonly brokerKey: string;
  readonly topic: string;
  readonly consumer: string;
}

export class BrokerFanOut {
  private consumer?: ChannelConsumer;
  private stopping = false;
  private readonly heartbeats: HeartbeatSweep<ChannelMessage>;

  constructor(
    readonly target: BrokerFanOutTarget,
    private readonly deps: BrokerFanOutDeps,
  ) {
    this.heartbeats = new HeartbeatSweep<ChannelMessage>(heartbeatPeriodMs(deps.ackWaitMs), (m) => m.working());
  }

  /** Start reading; a new durable starts after `startAfter` when given, else at new events. */
  async start(startAfter?: number): Promise<void> {
    const { topic, consumer } = this.target;
    this.consumer = await this.deps.channel.consume(topic, consumer, (m) => this.handle(m), {
      ordered: false,
      maxInFlight: FAN_OUT_MAX_IN_FLIGHT,
      ackWaitMs: this.deps.ackWaitMs,
      deliverPolicy: 'new',
      ...(startAfter !== undefined ? { startAfter } : {}),
      maxDeliveries: CHANNEL_MAX_DELIVERIES,
    });
    this.heartbeats.start();
  }

  /** Stop reading; shares in flight get `graceMs` (their Triggers' workers stop them). */
  async stop(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    try {
      await this.consumer?.stop(graceMs);
    } finally {
      this.heartbeats.stop();
      this.consumer = undefined;
    }
  }

  /** The Triggers of this broker that take `message` (all of them when it cannot be read). */
  private recipients(message: ChannelMessage, event: CloudEventJson | undefined): DeliveryWorker[] {
    const { table, worker } = this.deps;
    const out: DeliveryWorker[] = [];
    const t = table();
    const candidates = event ? (t.indexes.get(this.target.brokerKey)?.match(event) ?? []) : [...t.triggers.values()].filter((r) => r.brokerKey === this.target.brokerKey);
    for (const route of candidates) {
      const w = worker(route.key);
      if (w && w.fanOut && w.takes(message.sequence)) out.push(w);
    }
    return out;
  }

  private handle(message: ChannelMessage): Promise<void> {
    if (this.stopping) {
      message.nak();
      return Promise.resolve();
    }
    let parsed: { event: CloudEventJson; raw?: Uint8Array } | undefined;
    try {
      parsed = readChannelEvent(message.data);
    } catch {
      // Each Trigger's worker dead-letters (or drops) it with its own delivery spec.
      parsed = undefined;
    }
    const recipients = this.recipients(message, parsed?.event);
    if (recipients.length === 0) return message.ack();
    this.heartbeats.add(message);
    return new Promise<void>((done) => {
      const settlement = new SharedSettlement(recipients.length, (ok) => {
        this.heartbeats.delete(message);
        if (ok) void message.ack();
        else message.nak(1000);
        done();
      });
      for (const w of recipients) w.offer(new FanOutShare(message, settlement, w.park), parsed);
    });
  }
}
