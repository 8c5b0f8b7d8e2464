/**
 * Knative Eventing's data-plane metric names and labels, next to ours, so Knative users'
 * dashboards and alerts keep working (I/O-free: prom-client objects only).
 *
 * As Knative's broker ingress and broker filter report them (knative.dev eventing metrics):
 *   event_count                 counter    events received by a broker / dispatched to a Trigger's subscriber
 *   event_dispatch_latencies    histogram  milliseconds to store an event on the broker's channel /
 *                                          for one delivery attempt to a Trigger's subscriber
 *   event_processing_latencies  histogram  milliseconds a Trigger spends on an event before dispatching it
 * Labels: namespace_name, broker_name, trigger_name (Trigger delivery only), event_type (only
 * when enabled: its values are unbounded), response_code, response_code_class ("2xx"…;
 * "0"/"0xx" when no HTTP response came back), container_name ("ingress" or "filter", the
 * Knative container that reports the series).
 */
import { Counter, Histogram, Registry } from 'prom-client';

/** Knative's millisecond buckets (1, 2, 5, … 10000). */
export const KNATIVE_LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

export interface KnativeMetricsOptions {
  /** Fill the `event_type` label (one series per event type). @default false */
  readonly eventTypeLabel?: boolean;
}

export interface KnativeRoute {
  readonly namespace: string;
  readonly broker: string;
  /** Set for Trigger delivery, unset for broker ingress. */
  readonly trigger?: string;
}

export interface KnativeMetrics {
  /** One event arrived at broker ingress and was answered `status`, after `dispatchMs` storing it. */
  ingress(route: KnativeRoute, eventType: string | undefined, status: number, dispatchMs?: number): void;
  /** One delivery attempt of a Trigger to its subscriber; `status` 0 when no HTTP response came back. */
  dispatch(route: KnativeRoute, eventType: string | undefined, status: number, dispatchMs: number): void;
  /** A Trigger's own work on an event before dispatching it (decoding, filtering). */
  processing(route: KnativeRoute, eventType: string | undefined, ms: number): void;
}

const LABELS = ['namespace_name', 'broker_name', 'trigger_name', 'event_type', 'response_code', 'response_code_class', 'container_name'] as const;

/** `"2xx"` for 204; `"0xx"` for 0 (no response), as Knative writes the class. */
export function responseCodeClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

export function createKnativeMetrics(registry: Registry, options: KnativeMetricsOptions = {}): KnativeMetrics {
  const registers = [registry];
  const count = new Counter({ name: 'event_count', help: 'Number of events received by a Broker, or dispatched by a Trigger to its subscriber (Knative Eventing name).', labelNames: LABELS, registers });
  const dispatch = new Histogram({
    name: 'event_dispatch_latencies',
    help: 'Milliseconds spent dispatching an event: to the broker channel (ingress) or to a Trigger subscriber (filter) (Knative Eventing name).',
    labelNames: LABELS,
    buckets: KNATIVE_LATENCY_BUCKETS_MS,
    registers,
  });
  const processing = new Histogram({
    name: 'event_processing_latencies',
    help: 'Milliseconds a Trigger spends on an event before it is dispatched to the subscriber (Knative Eventing name).',
    labelNames: ['namespace_name', 'broker_name', 'trigger_name', 'event_type', 'container_name'],
    buckets: KNATIVE_LATENCY_BUCKETS_MS,
    registers,
  });
  const type = (t: string | undefined) => (options.eventTypeLabel && t ? t : '');
  const labels = (route: KnativeRoute, eventType: string | undefined, status: number) => ({
    namespace_name: route.namespace,
    broker_name: route.broker,
    trigger_name: route.trigger ?? '',
    event_type: type(eventType),
    response_code: String(status),
    response_code_class: responseCodeClass(status),
    container_name: route.trigger === undefined ? 'ingress' : 'filter',
  });
  return {
    ingress(route, eventType, status, dispatchMs) {
      const l = labels(route, eventType, status);
      count.inc(l);
      if (dispatchMs !== undefined) dispatch.observe(l, dispatchMs);
    },
    dispatch(route, eventType, status, dispatchMs) {
      const l = labels(route, eventType, status);
      count.inc(l);
      dispatch.observe(l, dispatchMs);
    },
    processing(route, eventType, ms) {
      processing.observe({ namespace_name: route.namespace, broker_name: route.broker, trigger_name: route.trigger ?? '', event_type: type(eventType), container_name: 'filter' }, ms);
    },
  };
}
