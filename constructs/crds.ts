import { Construct } from 'constructs';
import { ApplicationCrd, ApplicationMappingCrd, HttpSourceCrd } from './kyma-crds';
import { BrokerCrd, ChannelCrd, SubscriptionCrd, TriggerCrd } from './knative-crds';
import type { CustomResourceDefinition } from './custom-resource-definition';

export interface EventMeshCrdsProps {
  /**
   * Install the Knative-compatible Broker, Trigger, Subscription and Channel CRDs. Turn off
   * on clusters that already run Knative Eventing: its CRDs serve the same kinds, and our
   * Brokers' class annotation keeps Knative's controllers away from them.
   * @default true
   */
  readonly knative?: boolean;
  /**
   * Install the Kyma HTTPSource, Application and ApplicationMapping CRDs. Turn off on clusters that run Kyma.
   * @default true
   */
  readonly kyma?: boolean;
}

/** Every CRD the mesh's custom resources need. */
export class EventMeshCrds extends Construct {
  /** The CRDs rendered, in install order. */
  public readonly definitions: CustomResourceDefinition[] = [];

  constructor(scope: Construct, id: string, props: EventMeshCrdsProps = {}) {
    super(scope, id);
    if (props.kyma ?? true) {
      this.definitions.push(new HttpSourceCrd(this, 'HttpSource'), new ApplicationCrd(this, 'Application'), new ApplicationMappingCrd(this, 'ApplicationMapping'));
    }
    if (props.knative ?? true) {
      this.definitions.push(
        new BrokerCrd(this, 'Broker'),
        new TriggerCrd(this, 'Trigger'),
        new SubscriptionCrd(this, 'Subscription'),
        new ChannelCrd(this, 'Channel'),
      );
    }
  }
}
