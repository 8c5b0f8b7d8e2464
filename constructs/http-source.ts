import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { httpSourceObject, type HttpSourceObjectArgs } from './api';
import { configError } from './errors';
import { requireDnsLabel } from './prop-checks';

/** Name, namespace, source and optional labels (constructs/api/resources). */
export interface HttpSourceProps extends HttpSourceObjectArgs {}

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
