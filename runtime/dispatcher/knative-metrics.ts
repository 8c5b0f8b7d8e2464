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
  // Per-series children, created once: the hot path does one Map lookup per event, no label hashing.
  type Series = { count: ReturnType<typeof count.labels>; dispatch: ReturnType<typeof dispatch.labels> };
  const series = new Map<string, Series>();
  const seriesFor = (route: KnativeRoute, eventType: string | undefined, status: number): Series => {
    const t = type(eventType);
    const key = `${route.namespace}\0${route.broker}\0${route.trigger ?? ''}\0${t}\0${status}`;
    let s = series.get(key);
    if (!s) {
      const l = {
        namespace_name: route.namespace,
        broker_name: route.broker,
        trigger_name: route.trigger ?? '',
        event_type: t,
        response_code: String(status),
        response_code_class: responseCodeClass(status),
        container_name: route.trigger === undefined ? 'ingress' : 'filter',
      };
      s = { count: count.labels(l), dispatch: dispatch.labels(l) };
      series.set(key, s);
    }
    return s;
  };
  const processingSeries = new Map<string, ReturnType<typeof processing.labels>>();
  return {
    ingress(route, eventType, status, dispatchMs) {
      const s = seriesFor(route, eventType, status);
      s.count.inc();
      if (dispatchMs !== undefined) s.dispatch.observe(dispatchMs);
    },
    dispatch(route, eventType, status, dispatchMs) {
      const s = seriesFor(route, eventType, status);
      s.count.inc();
      s.dispatch.observe(dispatchMs);
    },
    processing(route, eventType, ms) {
      const t = type(eventType);
      const key = `${route.namespace}\0${route.broker}\0${route.trigger ?? ''}\0${t}`;
      let h = processingSeries.get(key);
      if (!h) {
        h = processing.labels({ namespace_name: route.namespace, broker_name: route.broker, trigger_name: route.trigger ?? '', event_type: t, container_name: 'filter' });
        processingSeries.set(key, h);
      }
      h.observe(ms);
    },
  };
}
