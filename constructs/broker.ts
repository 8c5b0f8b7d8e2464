import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { DEFAULT_BROKER_NAME, brokerIngressUrl, brokerObject, validateDelivery, type DeliverySpec, type MeshAddressing } from './api';
import { specError } from './errors';
import { requireDnsLabel } from './prop-checks';

export interface BrokerProps {
  readonly namespace: string;
  /** @default "default" */
  readonly name?: string;
  /**
   * Default delivery of the broker's Triggers (each Trigger's own fields win).
   * @default - 10 retries after the first attempt, exponential backoff from PT0.2S, PT30S per attempt, no dead letter sink
   */
  readonly delivery?: DeliverySpec;
  /** Only used for `url`. @default - the default addressing */
  readonly addressing?: MeshAddressing;
}

/**
 * A Knative `Broker` of class EventMeshBroker: the mesh's dispatcher serves it at
 * `/<namespace>/<name>` on the broker ingress, and a Knative installation in the same
 * cluster leaves it alone.
 */
export class Broker extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  /** The broker's ingress URL, where events for its Triggers are posted. */
  public readonly url: string;
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: BrokerProps) {
    super(scope, id);
    this.name = requireDnsLabel(this, 'broker name', props.name ?? DEFAULT_BROKER_NAME);
    this.namespace = requireDnsLabel(this, 'broker namespace', props.namespace);
    const problems = validateDelivery(props.delivery, 'spec.delivery');
    if (problems.length) throw specError(this, `broker "${this.name}"`, problems);
    this.url = brokerIngressUrl(this.namespace, this.name, props.addressing);
    this.resource = new ApiObject(this, 'Resource', brokerObject({ name: this.name, namespace: this.namespace, delivery: props.delivery }));
  }
}
