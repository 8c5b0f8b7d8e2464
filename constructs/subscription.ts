import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { subscriptionObject, validateDelivery, validateDestination, type SubscriptionObjectArgs } from './api';
import { specError } from './errors';
import { requireDnsLabel } from './prop-checks';

/** Name, namespace, channel, subscriber and the optional reply, delivery and labels (constructs/api/resources). */
export interface SubscriptionProps extends SubscriptionObjectArgs {}

/** A Knative `messaging.knative.dev/v1` Subscription: a Channel's events to a subscriber. */
export class Subscription extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: SubscriptionProps) {
    super(scope, id);
    this.name = requireDnsLabel(this, 'subscription name', props.name, 253);
    this.namespace = requireDnsLabel(this, 'subscription namespace', props.namespace);
    const problems = [
      ...validateDestination(props.subscriber, 'spec.subscriber'),
      ...(props.reply ? validateDestination(props.reply, 'spec.reply') : []),
      ...validateDelivery(props.delivery, 'spec.delivery'),
    ];
    if (problems.length) throw specError(this, `subscription "${this.name}"`, problems);
    this.resource = new ApiObject(this, 'Resource', subscriptionObject({
      name: this.name,
      namespace: this.namespace,
      channel: props.channel,
      subscriber: props.subscriber,
      reply: props.reply,
      delivery: props.delivery,
      labels: props.labels,
    }));
  }
}
