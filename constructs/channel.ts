import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { channelObject, validateDelivery, type ChannelKind, type DeliverySpec } from './api';
import type { ChannelTemplate } from './channel-backend';
import { specError } from './errors';
import { requireDnsLabel } from './prop-checks';

export interface ChannelProps {
  readonly name: string;
  readonly namespace: string;
  /** Which implementation stores the channel's events (the runtime reads the annotation). */
  readonly kind: ChannelKind;
  /** The Knative-compatible template of that implementation. */
  readonly channelTemplate: ChannelTemplate;
  /** Default delivery of its Subscriptions. @default - none */
  readonly delivery?: DeliverySpec;
  /** @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A Knative `messaging.knative.dev/v1` Channel, annotated with the kind that backs it. */
export class Channel extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly kind: ChannelKind;
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: ChannelProps) {
    super(scope, id);
    this.name = requireDnsLabel(this, 'channel name', props.name);
    this.namespace = requireDnsLabel(this, 'channel namespace', props.namespace);
    this.kind = props.kind;
    const problems = validateDelivery(props.delivery, 'spec.delivery');
    if (problems.length) throw specError(this, `channel "${this.name}"`, problems);
    this.resource = new ApiObject(this, 'Resource', channelObject({
      name: this.name,
      namespace: this.namespace,
      kind: props.kind,
      channelTemplate: props.channelTemplate,
      delivery: props.delivery,
      labels: props.labels,
    }));
  }
}
