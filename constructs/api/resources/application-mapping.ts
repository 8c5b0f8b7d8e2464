/** A Kyma `ApplicationMapping` (binds an Application to the namespace it is created in) as a plain object (pure). */
import { meshLabels } from '../labels';
import { APPLICATION_LABEL, APPLICATION_MAPPING_API_VERSION } from '../names';
import type { ResourceObject } from './types';

export interface ApplicationMappingObjectArgs {
  /** The application (the mapping is named after it). */
  readonly application: string;
  /** The namespace the application's events go to. */
  readonly namespace: string;
}

export function applicationMappingObject(args: ApplicationMappingObjectArgs): ResourceObject {
  return {
    apiVersion: APPLICATION_MAPPING_API_VERSION,
    kind: 'ApplicationMapping',
    metadata: {
      name: args.application,
      namespace: args.namespace,
      labels: meshLabels(args.application, 'application-mapping', { [APPLICATION_LABEL]: args.application }),
    },
    spec: {},
  };
}
