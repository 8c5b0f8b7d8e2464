/**
 * A Knative `Broker` of class EventMeshBroker as a plain object (pure). The Broker construct
 * wraps it; the controller applies it for namespaces that ask for a `default` Broker.
 */
import { meshLabels } from '../labels';
import { BROKER_API_VERSION, BROKER_CLASS, BROKER_CLASS_ANNOTATION } from '../names';
import type { DeliverySpec } from '../trigger-spec';
import type { ResourceObject } from './types';

export interface BrokerObjectArgs {
  readonly name: string;
  readonly namespace: string;
  /** @default - none */
  readonly delivery?: DeliverySpec;
}

export function brokerObject(args: BrokerObjectArgs): ResourceObject {
  return {
    apiVersion: BROKER_API_VERSION,
    kind: 'Broker',
    metadata: {
      name: args.name,
      namespace: args.namespace,
      labels: meshLabels(args.name, 'broker'),
      annotations: { [BROKER_CLASS_ANNOTATION]: BROKER_CLASS },
    },
    spec: args.delivery ? { delivery: args.delivery } : {},
  };
}
