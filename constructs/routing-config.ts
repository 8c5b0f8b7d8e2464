import { ApiObject, Lazy, Yaml } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct, type IConstruct } from 'constructs';
import {
  BROKER_API_VERSION, CHANNEL_API_VERSION, ROUTING_CONFIGMAP, ROUTING_CONFIGMAP_KEY,
  SUBSCRIPTION_API_VERSION, TRIGGER_API_VERSION, isServedBrokerClass,
} from './api';
import { meshLabels } from './mesh-labels';

/** The kinds the dispatcher routes by, in the order they are written. */
const ROUTING_KINDS: readonly { apiVersion: string; kind: string }[] = [
  { apiVersion: BROKER_API_VERSION, kind: 'Broker' },
  { apiVersion: CHANNEL_API_VERSION, kind: 'Channel' },
  { apiVersion: SUBSCRIPTION_API_VERSION, kind: 'Subscription' },
  { apiVersion: TRIGGER_API_VERSION, kind: 'Trigger' },
];

export interface RoutingConfigProps {
  /** The dispatcher's namespace. */
  readonly namespace: string;
}

/**
 * The ConfigMap `event-mesh-routing` (key `routing.yaml`): every Broker (of our class or none),
 * Channel, Subscription and Trigger in the whole cdk8s App, as multi-document YAML. It is
 * filled in lazily, when the App is synthesized, so Triggers a user adds anywhere, before or
 * after the mesh, are included. The dispatcher mounts it and reloads when it changes.
 */
export class RoutingConfig extends Construct {
  public readonly configMap: kplus.ConfigMap;

  constructor(scope: Construct, id: string, props: RoutingConfigProps) {
    super(scope, id);
    this.configMap = new kplus.ConfigMap(this, 'Resource', {
      metadata: { name: ROUTING_CONFIGMAP, namespace: props.namespace, labels: meshLabels(ROUTING_CONFIGMAP, 'dispatcher') },
      data: { [ROUTING_CONFIGMAP_KEY]: Lazy.any({ produce: () => renderRouting(this.node.root) }) },
    });
  }
}

/** The routing documents of every object under `root`, in a stable order. */
export function routingObjects(root: IConstruct): any[] {
  const rank = (o: { apiVersion: string; kind: string }) => ROUTING_KINDS.findIndex((k) => k.apiVersion === o.apiVersion && k.kind === o.kind);
  return root.node.findAll()
    .filter((c): c is ApiObject => ApiObject.isApiObject(c) && rank(c) >= 0)
    .map((o) => o.toJson())
    // Brokers of another class belong to another data plane (e.g. Knative's own); like the
    // dispatcher, treat a Broker without a class as ours.
    .filter((o) => o.kind !== 'Broker' || isServedBrokerClass(o.metadata?.annotations))
    .sort((a, b) => rank(a) - rank(b)
      || String(a.metadata?.namespace ?? '').localeCompare(String(b.metadata?.namespace ?? ''))
      || String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
}

function renderRouting(root: IConstruct): string {
  const docs = routingObjects(root);
  return docs.length ? Yaml.stringify(...docs) : '';
}
