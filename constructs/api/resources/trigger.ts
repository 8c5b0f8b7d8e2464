/** A Knative `Trigger` as a plain object (pure): the spec is built and validated by the caller. */
import { meshLabels } from '../labels';
import { TRIGGER_API_VERSION } from '../names';
import type { TriggerSpec } from '../trigger-spec';
import type { ResourceObject } from './types';

export interface TriggerObjectArgs {
  readonly name: string;
  readonly namespace: string;
  readonly spec: TriggerSpec;
  /** @default - none */
  readonly labels?: Readonly<Record<string, string>>;
  /** @default - none */
  readonly annotations?: Readonly<Record<string, string>>;
}

export function triggerObject(args: TriggerObjectArgs): ResourceObject {
  return {
    apiVersion: TRIGGER_API_VERSION,
    kind: 'Trigger',
    metadata: {
      name: args.name,
      namespace: args.namespace,
      labels: meshLabels(args.name, 'trigger', args.labels),
      ...(args.annotations && Object.keys(args.annotations).length ? { annotations: { ...args.annotations } } : {}),
    },
    spec: args.spec as unknown as Record<string, unknown>,
  };
}
