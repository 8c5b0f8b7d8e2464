/**
 * The dispatcher's Prometheus metrics. Labels: `kind` (trigger | subscription),
 * `namespace`, `name` (the Trigger/Subscription), and `reason` for drops.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createKnativeMetrics } from './knative-metrics';
import type { KnativeMetrics, KnativeMetricsOptions } from './knative-metrics';

export type DropReason =
  | 'retries_exhausted'
  | 'not_retryable'
  | 'ttl_exhausted'
  | 'invalid_stored_event'
  | 'invalid_reply'
  | 'reply_ttl_exhausted'
  | 'no_destination'
  | 'broker_not_served';

export interface DispatcherMetrics {
  readonly delivered: Counter<'kind' | 'namespace' | 'name'>;
  readonly retried: Counter<'kind' | 'namespace' | 'name'>;
  readonly deadLettered: Counter<'kind' | 'namespace' | 'name'>;
  readonly dropped: Counter<'kind' | 'namespace' | 'name' | 'reason'>;
  readonly filtered: Counter<'namespace' | 'name'>;
  readonly replies: Counter<'namespace' | 'name' | 'outcome'>;
  readonly latency: Histogram<'kind' | 'namespace' | 'name' | 'outcome'>;
  readonly ingress: Counter<'namespace' | 'broker' | 'outcome'>;
  readonly unmatched: Counter<'namespace' | 'broker'>;
  readonly consumers: Gauge<'kind'>;
  /** Trigger events the fan-out stage parked on the broker's retry topic, by reason. */
  readonly parked: Counter<'namespace' | 'name' | 'reason'>;
  readonly routingReloads: Counter<'result'>;
  readonly routingProblems: Gauge<string>;
  /** Knative Eventing's names and labels (event_count, event_dispatch_latencies, …). */
  readonly knative: KnativeMetrics;
}

export function createDispatcherMetrics(registry: Registry, options: KnativeMetricsOptions = {}): DispatcherMetrics {
  const registers = [registry];
  const route = ['kind', 'namespace', 'name'] as const;
  return {
    delivered: new Counter({ name: 'event_mesh_dispatcher_delivered_total', help: 'Events a subscriber accepted with a 2xx.', labelNames: route, registers }),
    retried: new Counter({ name: 'event_mesh_dispatcher_retried_total', help: 'Delivery attempts that were retries.', labelNames: route, registers }),
    deadLettered: new Counter({ name: 'event_mesh_dispatcher_dead_lettered_total', help: 'Events the dead-letter sink accepted.', labelNames: route, registers }),
    dropped: new Counter({
      name: 'event_mesh_dispatcher_dropped_total',
      help: 'Events dropped (acked without delivery), by reason.',
      labelNames: [...route, 'reason'],
      registers,
    }),
    filtered: new Counter({ name: 'event_mesh_dispatcher_filtered_total', help: "Broker events a Trigger's filter did not match.", labelNames: ['namespace', 'name'], registers }),
    replies: new Counter({
      name: 'event_mesh_dispatcher_replies_total',
      help: 'Reply events from subscribers, by outcome (forwarded, ttl_exhausted, invalid, discarded).',
      labelNames: ['namespace', 'name', 'outcome'],
      registers,
    }),
    latency: new Histogram({
      name: 'event_mesh_dispatcher_delivery_duration_seconds',
      help: 'Time from first attempt to final outcome of one event delivery (retries included).',
      labelNames: [...route, 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    ingress: new Counter({ name: 'event_mesh_broker_ingress_events_total', help: 'Events received by broker ingress, by outcome.', labelNames: ['namespace', 'broker', 'outcome'], registers }),
    unmatched: new Counter({ name: 'event_mesh_broker_unmatched_events_total', help: 'Events stored on a broker that no Trigger matched at arrival.', labelNames: ['namespace', 'broker'], registers }),
    parked: new Counter({
      name: 'event_mesh_dispatcher_parked_total',
      help: "Trigger events parked on their broker's retry topic (reason: saturated = the Trigger had too many waiting; retry = to be tried again later).",
      labelNames: ['namespace', 'name', 'reason'],
      registers,
    }),
    consumers: new Gauge({ name: 'event_mesh_dispatcher_consumers', help: 'Running channel consumers.', labelNames: ['kind'], registers }),
    routingReloads: new Counter({ name: 'event_mesh_dispatcher_routing_reloads_total', help: 'Routing (re)loads, by result.', labelNames: ['result'], registers }),
    routingProblems: new Gauge({ name: 'event_mesh_dispatcher_routing_problems', help: 'Objects skipped in the current routing (invalid or unresolvable).', registers }),
    knative: createKnativeMetrics(registry, options),
  };
}
