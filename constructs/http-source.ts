import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { httpSourceObject } from './api';
import { configError } from './errors';
import { requireDnsLabel } from './prop-checks';

export interface HttpSourceProps {
  readonly name: string;
  readonly namespace: string;
  /** Name of the application sending the events; the CloudEvents `source` it uses. */
  readonly source: string;
  /** @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A Kyma `HTTPSource`: the HTTP endpoint (adapter) an external application posts events to. */
export class HttpSource extends Construct {
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: HttpSourceProps) {
    super(scope, id);
    requireDnsLabel(this, 'httpsource name', props.name);
    if (!props.source) throw configError(this, 'httpsource source is empty', 'set source to the name of the application that sends the events');
    this.resource = new ApiObject(this, 'Resource', httpSourceObject({
      name: props.name,
      namespace: requireDnsLabel(this, 'httpsource namespace', props.namespace),
      source: props.source,
      labels: props.labels,
    }));
  }
}
