/**
 * Storing events into a broker (I/O): broker ingress, subscriptions whose subscriber is a
 * Broker this dispatcher serves, replies and dead letters addressed to one all come here,
 * so every event on a broker topic got the same treatment: `knativearrivaltime` and
 * `knativebrokerttl` added (stampForBroker), stored durably before anyone is told "ok".
 */
import { DEFAULT_BROKER_TTL, EXT_ARRIVAL_TIME, EXT_BROKER_TTL } from '../../../constructs/api';
import { toChannelBytes } from '../../cloudevents';
import type { CloudEventJson } from '../../cloudevents';
import type { Channel } from '../../channel/channel';
import type { Logger } from '../../observability';
import { appendBrokerStamp, brokerTtl, stampForBroker } from '../events';
import type { DispatcherMetrics } from '../metrics';
import type { BrokerRoute, RoutingTable } from '../routing/table';

export class BrokerNotFoundError extends Error {
  constructor(readonly namespace: string, readonly broker: string) {
    super(`there is no Broker "${broker}" in namespace "${namespace}" served by this dispatcher: check the URL (/<namespace>/<broker>) and that the Broker exists with class EventMeshBroker`);
    this.name = 'BrokerNotFoundError';
  }
}

export interface StoreResult {
  readonly stored: number;
  /** Events dropped because their TTL was already used up. */
  readonly expired: number;
}

const has = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

export class BrokerStore {
  /** Per routing table: brokers with a Trigger filter that names a stamp attribute. */
  private readonly stampReaders = new WeakMap<RoutingTable, Set<string>>();
  private isoAt = NaN;
  private iso = '';

  constructor(
    private readonly channel: Channel,
    private readonly table: () => RoutingTable,
    private readonly metrics: DispatcherMetrics,
    private readonly logger: Logger,
  ) {}

  /** True when this dispatcher serves the broker `namespace/name`. */
  serves(namespace: string, broker: string): boolean {
    return this.table().brokers.has(`${namespace}/${broker}`);
  }

  /**
   * Stamp and durably store `events` on the broker's topic; resolves once all are stored.
   * Rejects with BrokerNotFoundError, or the channel's ChannelUnavailableError /
   * ChannelFullError. An event whose TTL is 0 or less is dropped (a loop), not stored.
   */
  async store(namespace: string, broker: string, events: readonly CloudEventJson[], now?: Date): Promise<StoreResult> {
    const table = this.table();
    const route = table.brokers.get(`${namespace}/${broker}`);
    if (!route) throw new BrokerNotFoundError(namespace, broker);
    let expired = 0;
    const publishes: Promise<void>[] = [];
    for (const event of events) {
      const publish = this.stampAndPublish(table, route, event, undefined, now);
      if (publish) publishes.push(publish);
      else expired++;
    }
    const results = await Promise.allSettled(publishes);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { stored: publishes.length, expired };
  }

  /**
   * store() for one event. `raw`, when given, must be a JSON text of exactly `event` (as
   * read from a channel, see readChannelEvent): the stamp is then appended to those bytes
   * instead of serializing the event again.
   */
  async storeOne(namespace: string, broker: string, event: CloudEventJson, raw?: Uint8Array): Promise<StoreResult> {
    const table = this.table();
    const route = table.brokers.get(`${namespace}/${broker}`);
    if (!route) throw new BrokerNotFoundError(namespace, broker);
    const publish = this.stampAndPublish(table, route, event, raw);
    if (!publish) return { stored: 0, expired: 1 };
    await publish;
    return { stored: 1, expired: 0 };
  }

  /**
   * The event as a broker stores it — `knativearrivaltime` and `knativebrokerttl` added — and
   * its bytes; undefined (dropped and counted) when its TTL is used up. For events that
   * reach a broker without being stored on its topic (a fan-out stage reading an
   * application channel directly) as much as for those that are.
   */
  stamp(route: BrokerRoute, event: CloudEventJson, raw: Uint8Array | undefined, now?: Date): { event: CloudEventJson; bytes: Uint8Array; appended: boolean } | undefined {
    const ttl = brokerTtl(event);
    if (ttl !== undefined && ttl <= 0) {
      this.metrics.dropped.inc({ kind: 'broker', namespace: route.namespace, name: route.name, reason: 'ttl_exhausted' });
      this.logger.warn({ namespace: route.namespace, broker: route.name, id: event.id, source: event.source, type: event.type }, 'event dropped at broker ingress: knativebrokerttl is used up (an event loop?)');
      return undefined;
    }
    // The common case (an event that never went through a broker): append the stamp to the
    // bytes read from the channel. Byte for byte what serializing stampForBroker(event)
    // gives when `raw` is canonical JSON, and the same event in any case.
    if (raw !== undefined && ttl === undefined && !has(event, EXT_ARRIVAL_TIME) && !has(event, EXT_BROKER_TTL)) {
      const iso = now ? now.toISOString() : this.isoNow();
      const bytes = appendBrokerStamp(raw, iso);
      if (bytes !== undefined) return { event: { ...event, [EXT_ARRIVAL_TIME]: iso, [EXT_BROKER_TTL]: DEFAULT_BROKER_TTL }, bytes, appended: true };
    }
    const stamped = stampForBroker(event, now ?? new Date()) as CloudEventJson;
    return { event: stamped, bytes: toChannelBytes(stamped), appended: false };
  }

  /** Stamp one event and start publishing it; undefined when its TTL is used up. */
  private stampAndPublish(table: RoutingTable, route: BrokerRoute, event: CloudEventJson, raw: Uint8Array | undefined, now?: Date): Promise<void> | undefined {
    const stamped = this.stamp(route, event, raw, now);
    if (!stamped) return undefined;
    const index = table.indexes.get(route.key);
    if (index && index.size > 0) {
      // Filters read named attributes only: unless one names a stamp attribute, the
      // unstamped event matches exactly the Triggers the stamped one does (the index runs
      // only the filters that can match: cheap even with many Triggers).
      const probe = stamped.appended && !this.readsStamp(table, route.key) ? event : stamped.event;
      if (index.match(probe).length === 0) this.metrics.unmatched.inc({ namespace: route.namespace, broker: route.name });
    }
    return this.channel.publish(route.topic, stamped.bytes, stamped.event);
  }

  /** Now as RFC 3339, formatted once per millisecond. */
  private isoNow(): string {
    const ms = Date.now();
    if (ms !== this.isoAt) {
      this.isoAt = ms;
      this.iso = new Date(ms).toISOString();
    }
    return this.iso;
  }

  private readsStamp(table: RoutingTable, brokerKey: string): boolean {
    let readers = this.stampReaders.get(table);
    if (!readers) {
      readers = new Set();
      for (const t of table.triggers.values()) {
        const spec = JSON.stringify([t.spec.filter ?? null, t.spec.filters ?? null]);
        if (spec.includes(EXT_ARRIVAL_TIME) || spec.includes(EXT_BROKER_TTL)) readers.add(t.brokerKey);
      }
      this.stampReaders.set(table, readers);
    }
    return readers.has(brokerKey);
  }
}
