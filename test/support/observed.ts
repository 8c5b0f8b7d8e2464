/**
 * What a component under test logged and counted, read back: a debug-level logger that
 * keeps its JSON lines, prom-client series summed by label, and an in-memory channel whose
 * publishes fail on request (a channel that is down or full, without a server to stop).
 */
import { InMemoryChannel } from '../../runtime/channel/in-memory';
import { createLogger } from '../../runtime/observability';
import type { Logger, Registry } from '../../runtime/observability';

export type LogLine = { level: number; msg: string } & Record<string, unknown>;

export function captureLogs(name: string): { logger: Logger; lines: LogLine[]; logged: (msg: string) => LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ name, level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } });
  return { logger, lines, logged: (msg) => lines.filter((l) => l.msg === msg) };
}

export interface MetricSeries {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

/** The series of metric `name`; a histogram's `<name>_sum`, `_count` or `_bucket` names those series only. */
export async function metricSeries(registry: Registry, name: string): Promise<MetricSeries[]> {
  const metric = registry.getSingleMetric(name) ?? registry.getSingleMetric(name.replace(/_(sum|count|bucket)$/, ''));
  if (!metric) throw new Error(`no metric ${name}`);
  return ((await metric.get()).values as MetricSeries[]).filter((v) => (v.metricName ?? name) === name);
}

/** The sum of the series of `name` whose labels include every one of `labels`. */
export async function metricTotal(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const series = await metricSeries(registry, name);
  return series.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

/** The in-memory channel; while `failPublish` is set every publish rejects with it. */
export class FailingInMemoryChannel extends InMemoryChannel {
  failPublish?: Error;
  override async publish(topic: string, data: Uint8Array): Promise<void> {
    if (this.failPublish) throw this.failPublish;
    return super.publish(topic, data);
  }
}
