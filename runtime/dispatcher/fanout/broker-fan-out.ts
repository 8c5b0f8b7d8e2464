/**
 * A broker's fan-out stage (does I/O): one durable consumer reads each event stored on the
 * broker once, runs the broker's filter index (only the filters that can match) and hands
 * each matching fan-out Trigger its share. The event is acknowledged once every share is
 * settled, and given back (to all of them: at least once) when one could not be.
 *
 * Why: with a consumer per Trigger, the server scans every Trigger's filter subject across
 * the events of all the others (nats-server's cost grows with Triggers × events); here it
 * is one sequential read per broker. Isolation stays: each Trigger has its own lane with
 * its own in-flight budget, and a saturated Trigger parks its events on the broker's retry
 * topic instead of holding back others that have room (a retrying one always parks).
 */
import type { Channel, ChannelConsumer, ChannelMessage } from '../../channel/channel';
import { readChannelEvent } from '../../cloudevents';
import type { CloudEventJson } from '../../cloudevents';
import type { Logger } from '../../observability';
import { HeartbeatSweep, heartbeatPeriodMs } from '../delivery/heartbeats';
import { CHANNEL_MAX_DELIVERIES } from '../delivery/undeliverable';
import type { DeliveryWorker } from '../delivery/worker';
import type { BrokerStore } from '../ingress/broker-store';
import type { DispatcherMetrics } from '../metrics';
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
  /** Stamps events read from an application channel as the broker would have stored them. */
  readonly store: BrokerStore;
  readonly metrics: DispatcherMetrics;
}

export interface BrokerFanOutTarget {
  readonly brokerKey: string;
  /** The broker topic and the stage's durable consumer on it. */
  readonly topic: string;
  readonly consumer: string;
  /**
   * Application channels read straight into this broker: each a Subscription whose
   * subscriber is this broker, read with that Subscription's own durable consumer, so the
   * event is not stored a second time on the broker topic (one write less per event).
   */
  readonly channels: readonly FanOutChannelSource[];
}

/** An application channel a stage reads for a Subscription (whose metrics it keeps). */
export interface FanOutChannelSource {
  readonly topic: string;
  readonly consumer: string;
  readonly subscription: { readonly namespace: string; readonly name: string };
}

/** Identifies what a stage reads: a stage whose sources change is restarted. */
export function fanOutSourcesKey(target: BrokerFanOutTarget): string {
  return [target.topic, ...target.channels.map((c) => `${c.topic}|${c.consumer}`).sort()].join(' ');
}

export class BrokerFanOut {
  private consumers: ChannelConsumer[] = [];
  private stopping = false;
  private readonly heartbeats: HeartbeatSweep<ChannelMessage>;

  constructor(
    readonly target: BrokerFanOutTarget,
    private readonly deps: BrokerFanOutDeps,
  ) {
    this.heartbeats = new HeartbeatSweep<ChannelMessage>(heartbeatPeriodMs(deps.ackWaitMs), (m) => m.working());
  }

  /** Start reading; a new durable on the broker topic starts after `startAfter` when given, else at new events. */
  async start(startAfter?: number): Promise<void> {
    const { topic, consumer, channels } = this.target;
    const options = { ordered: false, maxInFlight: FAN_OUT_MAX_IN_FLIGHT, ackWaitMs: this.deps.ackWaitMs, maxDeliveries: CHANNEL_MAX_DELIVERIES };
    try {
      this.consumers.push(
        await this.deps.channel.consume(topic, consumer, (m) => this.handle(m, undefined), { ...options, deliverPolicy: 'new', ...(startAfter !== undefined ? { startAfter } : {}) }),
      );
      // As a Subscription: a new durable also gets what its channel stored before it existed.
      for (const c of channels) {
        const delivered = { kind: 'subscription' as const, namespace: c.subscription.namespace, name: c.subscription.name };
        this.consumers.push(await this.deps.channel.consume(c.topic, c.consumer, (m) => this.handle(m, delivered), { ...options, deliverPolicy: 'all' }));
      }
    } catch (err) {
      await this.stop(0);
      throw err;
    }
    this.heartbeats.start();
  }

  /** Stop reading; shares in flight get `graceMs` (their Triggers' workers stop them). */
  async stop(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    try {
      await Promise.all(this.consumers.map((c) => c.stop(graceMs)));
    } finally {
      this.heartbeats.stop();
      this.consumers = [];
    }
  }

  /**
   * The Triggers of this broker that take `message` (all of them when it cannot be read).
   * `sequence`: its broker-topic sequence (undefined for an application channel's event,
   * whose sequence is of another topic and never one an old per-Trigger consumer had).
   */
  private recipients(sequence: number | undefined, event: CloudEventJson | undefined): DeliveryWorker[] {
    const { table, worker } = this.deps;
    const out: DeliveryWorker[] = [];
    const t = table();
    const candidates = event ? (t.indexes.get(this.target.brokerKey)?.match(event) ?? []) : [...t.triggers.values()].filter((r) => r.brokerKey === this.target.brokerKey);
    for (const route of candidates) {
      const w = worker(route.key);
      if (w && w.fanOut && w.takes(sequence)) out.push(w);
    }
    return out;
  }

  /**
   * `subscription`: read from an application channel for that Subscription (not yet stamped
   * by the broker); counted as delivered for it once the broker has it settled.
   */
  private handle(message: ChannelMessage, subscription: { kind: 'subscription'; namespace: string; name: string } | undefined): Promise<void> {
    const fromChannel = subscription !== undefined;
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
    let data = message.data;
    if (fromChannel && parsed) {
      const started = performance.now();
      const broker = this.deps.table().brokers.get(this.target.brokerKey);
      const stamped = broker ? this.deps.store.stamp(broker, parsed.event, parsed.raw) : undefined;
      // No such broker any more, or its TTL is used up (dropped and counted by stamp()).
      if (!stamped) return message.ack();
      // What Knative's broker ingress would have counted for this event.
      this.deps.metrics.knative.ingress({ namespace: broker!.namespace, broker: broker!.name }, parsed.event.type, 202, performance.now() - started);
      parsed = { event: stamped.event, raw: stamped.bytes };
      data = stamped.bytes;
    }
    const recipients = this.recipients(fromChannel ? undefined : message.sequence, parsed?.event);
    if (recipients.length === 0) {
      if (subscription) {
        this.countUnmatched();
        this.deps.metrics.delivered.inc(subscription);
      }
      return message.ack();
    }
    this.heartbeats.add(message);
    return new Promise<void>((done) => {
      const settlement = new SharedSettlement(recipients.length, (ok) => {
        this.heartbeats.delete(message);
        if (ok) {
          void message.ack();
          if (subscription) this.deps.metrics.delivered.inc(subscription);
        } else message.nak(1000);
        done();
      });
      // Asked only when a recipient's lane is full, and answered once per event.
      let others: boolean | undefined;
      const othersWaiting = () => (others ??= this.anyTriggerHasRoom());
      for (const w of recipients) w.offer(new FanOutShare(message, settlement, w.park, data), parsed, othersWaiting);
    });
  }

  /**
   * Whether some fan-out Trigger of this broker has room in its lane. When none has (one
   * Trigger, or all of them behind), parking a share frees the stage's window for nobody and
   * only adds a write and a read per event to a dispatcher that is already behind, so a full
   * lane then waits like a dedicated consumer would. Stops at the first Trigger with room.
   */
  private anyTriggerHasRoom(): boolean {
    const index = this.deps.table().indexes.get(this.target.brokerKey);
    for (const route of index?.items ?? []) {
      const w = this.deps.worker(route.key);
      if (w && w.fanOut && !w.saturated) return true;
    }
    return false;
  }

  private countUnmatched(): void {
    const broker = this.deps.table().brokers.get(this.target.brokerKey);
    if (broker) this.deps.metrics.unmatched.inc({ namespace: broker.namespace, broker: broker.name });
  }
}
