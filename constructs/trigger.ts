import { ApiObject, Chart } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import {
  BROKER_API_VERSION, DEFAULT_BROKER_NAME, DELIVERY_ORDER_ANNOTATION, MAX_IN_FLIGHT_ANNOTATION, MAX_IN_FLIGHT_LIMIT,
  destinationUrl, triggerObject, validateTriggerSpec,
  type DeliveryOrder, type DeliverySpec, type Destination, type SubscriptionsApiFilter, type TriggerSpec,
} from './api';
import { configError, shown, specError } from './errors';
import { requireDnsLabel, requireInteger, requireLabels } from './prop-checks';

/**
 * Exact-match filter on CloudEvents attributes. The three Kyma uses are named; any other
 * key is an extension attribute (lower-case letters and digits, starting with a letter).
 */
export interface TriggerFilterAttributes {
  /** Event type, e.g. `user.created`. @default - any type */
  readonly type?: string;
  /** Event type version (a Kyma extension attribute), e.g. `v1`. @default - any version */
  readonly eventtypeversion?: string;
  /** The sending application, e.g. `commerce`. @default - any source */
  readonly source?: string;
  readonly [attribute: string]: string | undefined;
}

export interface TriggerDelivery extends DeliverySpec {
  /**
   * `ordered`: one event at a time, in the order the broker stored them. `parallel`: up to
   * maxInFlight at once (rendered as the annotation value "unordered").
   * @default - the dispatcher's default (parallel)
   */
  readonly ordering?: 'ordered' | 'parallel';
  /** Events delivered concurrently (parallel ordering only), 1 to 1000. @default - the dispatcher's default */
  readonly maxInFlight?: number;
}

export interface TriggerOptions {
  /** @default - the chart's namespace, else "default" */
  readonly namespace?: string;
  /** Broker in the same namespace. @default "default" */
  readonly broker?: string;
  /** `spec.filter.attributes`: exact matches, all ANDed. @default - every event */
  readonly filter?: TriggerFilterAttributes;
  /**
   * `spec.filters`: the Subscriptions API dialect (exact, prefix, suffix, all, any, not).
   * @default - none
   */
  readonly filters?: readonly SubscriptionsApiFilter[];
  /** Where matching events go; build it with `Sink`. */
  readonly subscriber: Destination;
  /**
   * Retries, backoff, timeout and dead letter sink, field by field over the Broker's.
   * @default - the broker's delivery, else 10 retries after the first attempt, exponential backoff from PT0.2S, PT30S per attempt, no dead letter sink
   */
  readonly delivery?: TriggerDelivery;
  /**
   * Fail synthesis unless the app defines the Broker this Trigger uses. Turn off when the
   * Broker is managed outside this app.
   * @default true
   */
  readonly requireBroker?: boolean;
  /** @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface TriggerProps extends TriggerOptions {
  /** metadata.name; also names the trigger's durable consumer. @default - the construct id */
  readonly name?: string;
}

/** A Knative `Trigger`: the events of a Broker that pass its filter, delivered to a subscriber. */
export class Trigger extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly broker: string;
  public readonly spec: TriggerSpec;
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: TriggerProps) {
    super(scope, id);
    this.name = requireDnsLabel(this, 'trigger name (the construct id unless name is set)', props.name ?? id);
    this.namespace = requireDnsLabel(this, `trigger "${this.name}" namespace`, props.namespace ?? Chart.of(this).namespace ?? 'default');
    this.broker = requireDnsLabel(this, `trigger "${this.name}" broker`, props.broker ?? DEFAULT_BROKER_NAME);
    const { ordering, maxInFlight, ...delivery } = props.delivery ?? {};
    const attributes = Object.fromEntries(Object.entries(props.filter ?? {}).filter(([, v]) => v !== undefined)) as Record<string, string>;
    this.spec = {
      broker: this.broker,
      ...(Object.keys(attributes).length ? { filter: { attributes } } : {}),
      ...(props.filters?.length ? { filters: props.filters } : {}),
      subscriber: props.subscriber,
      ...(Object.keys(delivery).length ? { delivery } : {}),
    };
    const problems = validateTriggerSpec(this.spec);
    if (problems.length) throw specError(this, `trigger "${this.name}"`, problems);
    this.checkAddressable(props.subscriber, 'subscriber');
    if (delivery.deadLetterSink) this.checkAddressable(delivery.deadLetterSink, 'delivery.deadLetterSink');

    const annotations: Record<string, string> = {};
    if (ordering !== undefined) {
      if (ordering !== 'ordered' && ordering !== 'parallel') {
        throw configError(this, `trigger "${this.name}" delivery.ordering must be "ordered" or "parallel", got ${shown(ordering)}`, 'pick one of the two');
      }
      const order: DeliveryOrder = ordering === 'ordered' ? 'ordered' : 'unordered';
      annotations[DELIVERY_ORDER_ANNOTATION] = order;
    }
    if (maxInFlight !== undefined) {
      requireInteger(this, `trigger "${this.name}" delivery.maxInFlight`, maxInFlight, 1, MAX_IN_FLIGHT_LIMIT);
      if (ordering === 'ordered' && maxInFlight > 1) {
        throw configError(this, `trigger "${this.name}" delivery.maxInFlight is ${maxInFlight} but ordering is "ordered", which delivers one event at a time`,
          'drop maxInFlight, or set ordering to "parallel"');
      }
      annotations[MAX_IN_FLIGHT_ANNOTATION] = String(maxInFlight);
    }

    this.resource = new ApiObject(this, 'Resource', triggerObject({
      name: this.name,
      namespace: this.namespace,
      spec: this.spec,
      labels: requireLabels(this, `trigger "${this.name}" labels`, props.labels),
      annotations,
    }));

    if (props.requireBroker ?? true) {
      // Checked at synthesis, not here: the Broker may be added after the Trigger.
      this.node.addValidation({ validate: () => this.checkBrokerExists() });
    }
  }

  private checkAddressable(dest: Destination, field: string): void {
    try {
      destinationUrl(dest, this.namespace);
    } catch (e) {
      throw configError(this, `trigger "${this.name}" ${field}: ${(e as Error).message}`, `point ${field} at something the dispatcher can call`);
    }
  }

  private checkBrokerExists(): string[] {
    const brokers = brokersIn(this.node.root);
    if (brokers.some((b) => b.namespace === this.namespace && b.name === this.broker)) return [];
    const here = brokers.filter((b) => b.namespace === this.namespace).map((b) => `"${b.name}"`);
    return [
      `trigger "${this.name}" uses broker "${this.broker}" in namespace "${this.namespace}", but the app defines no such broker ` +
        `(brokers in "${this.namespace}": ${here.length ? here.join(', ') : 'none'}); ` +
        `bind the namespace (EventMesh namespaces, an application's namespaces, or mesh.bindNamespace("${this.namespace}")), ` +
        `fix broker/namespace, or set requireBroker: false if the broker is managed elsewhere (at ${this.node.path})`,
    ];
  }
}

/** Every Broker object in the app, whichever construct made it. */
function brokersIn(root: IConstruct): { name: string; namespace: string }[] {
  return root.node.findAll()
    .filter((c): c is ApiObject => ApiObject.isApiObject(c) && c.apiVersion === BROKER_API_VERSION && c.kind === 'Broker')
    .map((b) => ({ name: b.name, namespace: b.metadata.namespace ?? 'default' }));
}
