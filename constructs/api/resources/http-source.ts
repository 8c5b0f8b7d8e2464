/** A Kyma `HTTPSource` as a plain object (pure). */
import { meshLabels } from '../labels';
import { HTTP_SOURCE_API_VERSION } from '../names';
import type { ResourceObject } from './types';

export interface HttpSourceObjectArgs {
  readonly name: string;
  readonly namespace: string;
  /** The application sending the events (its CloudEvents `source`). */
  readonly source: string;
  /** @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

export function httpSourceObject(args: HttpSourceObjectArgs): ResourceObject {
  return {
    apiVersion: HTTP_SOURCE_API_VERSION,
    kind: 'HTTPSource',
    metadata: { name: args.name, namespace: args.namespace, labels: meshLabels(args.name, 'source', args.labels) },
    spec: { source: args.source },
  };
}
