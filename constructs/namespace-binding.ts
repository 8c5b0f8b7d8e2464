import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { DEFAULT_BROKER_NAME, INJECTION_LABELS, type DeliverySpec, type MeshAddressing } from './api';
import { Broker } from './broker';
import { makeClusterScoped } from './cluster-scoped';
import { requireDnsLabel } from './prop-checks';

export interface NamespaceBindingProps {
  readonly namespace: string;
  /** Default delivery of the namespace's broker. @default - none */
  readonly brokerDelivery?: DeliverySpec;
  /** @default - the default addressing */
  readonly addressing?: MeshAddressing;
}

/**
 * A user namespace that receives events: the Namespace, labelled the way Knative asks for a
 * broker (both label spellings), and its `default` Broker. Knative's namespace controller
 * would create that Broker from the label; we render it, so the mesh needs no controller.
 */
export class NamespaceBinding extends Construct {
  public readonly namespace: string;
  public readonly broker: Broker;
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: NamespaceBindingProps) {
    super(scope, id);
    this.namespace = requireDnsLabel(this, 'bound namespace', props.namespace);
    const ns = new kplus.Namespace(this, 'Resource', {
      metadata: { name: this.namespace, labels: { ...INJECTION_LABELS } },
    });
    this.resource = ApiObject.of(ns);
    makeClusterScoped(this.resource);
    this.broker = new Broker(this, 'Broker', {
      namespace: this.namespace,
      name: DEFAULT_BROKER_NAME,
      delivery: props.brokerDelivery,
      addressing: props.addressing,
    });
  }
}
