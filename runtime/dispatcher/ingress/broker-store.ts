/**
 * Storing events into a broker (I/O): broker ingress, subscriptions whose subscriber is a
 * Broker this dispatcher serves, replies and dead letters addressed to one all come here,
 * so every event on a broker topic got the same treatment: `knativearrivaltime` and
 * `knativebrokerttl` added (stampForBroker), stored durably before anyone is told "ok".
 */
import { toChannelBytes } from '../../cloudevents';
import type { CloudEventJson } from '../../cloudevents';
import type { Channel } from '../../channel/channel';
import type { Logger } from '../../observability';
import { brokerTtl, stampForBroker } from '../events';
import type { DispatcherMetrics } from '../metrics';
import type { RoutingTable } from '../routing/table';

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

export class BrokerStore {
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
  async store(namespace: string, broker: string, events: readonly CloudEventJson[], now = new Date()): Promise<StoreResult> {
    const table = this.table();
    const route = table.brokers.get(`${namespace}/${broker}`);
    if (!route) throw new BrokerNotFoundError(namespace, broker);
    const index = table.indexes.get(route.key);
    let expired = 0;
    const publishes: Promise<void>[] = [];
    for (const event of events) {
      const ttl = brokerTtl(event);
      if (ttl !== undefined && ttl <= 0) {
        expired++;
        this.metrics.dropped.inc({ kind: 'broker', namespace, name: broker, reason: 'ttl_exhausted' });
        this.logger.warn({ namespace, broker, id: event.id, source: event.source, type: event.type }, 'event dropped at broker ingress: knativebrokerttl is used up (an event loop?)');
        continue;
      }
      const stamped = stampForBroker(event, now) as CloudEventJson;
      // The index runs only the filters that can match: cheap even with many Triggers.
      if (index && index.match(stamped).length === 0) this.metrics.unmatched.inc({ namespace, broker });
      publishes.push(this.channel.publish(route.topic, toChannelBytes(stamped)));
    }
    const results = await Promise.allSettled(publishes);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { stored: publishes.length, expired };
  }
}
