/** A Knative `messaging.knative.dev/v1` Channel, annotated with the kind that backs it, as a plain object (pure). */
import { meshLabels } from '../labels';
import { CHANNEL_API_VERSION, CHANNEL_KIND_ANNOTATION, type ChannelKind } from '../names';
import type { DeliverySpec } from '../trigger-spec';
import type { ResourceObject } from './types';

export interface ChannelObjectArgs {
  readonly name: string;
  readonly namespace: string;
  readonly kind: ChannelKind;
  readonly channelTemplate: { readonly apiVersion: string; readonly kind: string; readonly spec?: Readonly<Record<string, unknown>> };
  /** @default - none */
  readonly delivery?: DeliverySpec;
  /** @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

export function channelObject(args: ChannelObjectArgs): ResourceObject {
  return {
    apiVersion: CHANNEL_API_VERSION,
    kind: 'Channel',
    metadata: {
      name: args.name,
      namespace: args.namespace,
      labels: meshLabels(args.name, 'channel', args.labels),
      annotations: { [CHANNEL_KIND_ANNOTATION]: args.kind },
    },
    spec: {
      channelTemplate: { ...args.channelTemplate },
      ...(args.delivery ? { delivery: args.delivery } : {}),
    },
  };
}
