/**
 * The adapter's Prometheus metrics: accepted events by mode, rejected requests by reason
 * and the publish duration. Registers them on a registry once and reuses them when an
 * adapter is started again on the same registry. No I/O.
 */
import { Counter, Histogram } from 'prom-client';
import type { Registry } from '../observability';

export interface AdapterMetrics {
  accepted: Counter<'mode'>;
  rejected: Counter<'reason'>;
  publish: Histogram<string>;
}

export function metricsIn(registry: Registry): AdapterMetrics {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    accepted:
      existing<Counter<'mode'>>('event_mesh_adapter_events_accepted_total') ??
      new Counter({ name: 'event_mesh_adapter_events_accepted_total', help: 'Events stored on the channel (2xx answered), by request mode', labelNames: ['mode'], registers: [registry] }),
    rejected:
      existing<Counter<'reason'>>('event_mesh_adapter_events_rejected_total') ??
      new Counter({ name: 'event_mesh_adapter_events_rejected_total', help: 'Requests to the event endpoints answered with an error, by reason', labelNames: ['reason'], registers: [registry] }),
    publish:
      existing<Histogram<string>>('event_mesh_adapter_publish_duration_seconds') ??
      new Histogram({
        name: 'event_mesh_adapter_publish_duration_seconds',
        help: 'Time from decoded request to the channel durably storing its events',
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
  };
}
