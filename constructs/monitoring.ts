/**
 * Prometheus scraping of the dispatcher (a construct, pure synthesis): a prometheus-operator
 * `ServiceMonitor` for the broker ingress Service's `/metrics` (our metrics and the
 * Knative-named `event_count`, `event_dispatch_latencies`, `event_processing_latencies`),
 * and a NetworkPolicy letting Prometheus' namespace reach that port.
 */
import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { DISPATCHER_PORT } from './api';
import type { Dispatcher } from './dispatcher';
import { configError, shown } from './errors';
import { requireDnsLabel, requireLabels } from './prop-checks';

export const SERVICE_MONITOR_API_VERSION = 'monitoring.coreos.com/v1';

export interface MonitoringOptions {
  /** Render a prometheus-operator ServiceMonitor for the dispatcher. @default false */
  readonly serviceMonitor?: boolean;
  /** Scrape interval, a Prometheus duration such as "30s" or "1m". @default "30s" */
  readonly interval?: string;
  /**
   * Labels on the ServiceMonitor, e.g. `{ release: 'kube-prometheus-stack' }` when your
   * Prometheus selects ServiceMonitors by label. @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * The namespace Prometheus runs in: the dispatcher's NetworkPolicy admits only mesh pods,
   * so a second policy admits this namespace to the metrics port (which is also the broker
   * ingress port). Ignored when the data plane renders no NetworkPolicies. @default "monitoring"
   */
  readonly prometheusNamespace?: string;
  /**
   * Fill the `event_type` label of the Knative-named metrics (`METRICS_EVENT_TYPE`): one
   * series per event type, so only with a bounded set of types. @default false
   */
  readonly eventTypeLabel?: boolean;
}

export interface MonitoringProps extends MonitoringOptions {
  readonly dispatcher: Dispatcher;
  /** Whether the dispatcher renders NetworkPolicies. */
  readonly networkPolicy: boolean;
}

/** A ServiceMonitor (and NetworkPolicy) for the dispatcher's /metrics. */
export class Monitoring extends Construct {
  public readonly serviceMonitor?: ApiObject;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { dispatcher } = props;
    const interval = props.interval ?? '30s';
    if (!/^(\d+(ms|s|m|h))+$/.test(interval)) {
      throw configError(this, `monitoring.interval must be a Prometheus duration such as "30s" or "1m", got ${shown(interval)}`, 'set a duration like "30s"');
    }
    if (props.labels) requireLabels(this, 'monitoring.labels', props.labels);
    const prometheusNamespace = requireDnsLabel(this, 'monitoring.prometheusNamespace', props.prometheusNamespace ?? 'monitoring');

    if (props.eventTypeLabel) {
      dispatcher.workload.deployment.containers[0].env.addVariable('METRICS_EVENT_TYPE', kplus.EnvValue.fromValue('true'));
    }
    if (!props.serviceMonitor) return;

    const service = dispatcher.service;
    this.serviceMonitor = new ApiObject(this, 'Resource', {
      apiVersion: SERVICE_MONITOR_API_VERSION,
      kind: 'ServiceMonitor',
      metadata: { name: service.name, namespace: dispatcher.namespace, ...(props.labels ? { labels: { ...props.labels } } : {}) },
      spec: {
        selector: { matchLabels: { ...(service.metadata.toJson().labels as Record<string, string>) } },
        namespaceSelector: { matchNames: [dispatcher.namespace] },
        endpoints: [{ port: service.ports[0].name ?? 'http', path: '/metrics', interval, scheme: 'http' }],
      },
    });
    if (props.networkPolicy) {
      new kplus.NetworkPolicy(this, 'NetworkPolicy', {
        metadata: { name: `${service.name}-metrics`, namespace: dispatcher.namespace },
        selector: kplus.Pods.select(this, 'DispatcherPods', { labels: dispatcher.workload.selector }),
        ingress: {
          rules: [{
            peer: kplus.Namespaces.select(this, 'Prometheus', { names: [prometheusNamespace] }),
            ports: [kplus.NetworkPolicyPort.tcp(DISPATCHER_PORT)],
          }],
        },
      });
    }
  }
}
