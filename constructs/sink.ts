import type { Destination } from './api';

export const KYMA_FUNCTION_API_VERSION = 'serverless.kyma-project.io/v1alpha2';
export const KNATIVE_SERVICE_API_VERSION = 'serving.knative.dev/v1';

export interface SinkOptions {
  /** @default - the namespace of the Trigger or Subscription */
  readonly namespace?: string;
  /** A path (relative URI) on the addressed object, e.g. "/events". @default - the root */
  readonly path?: string;
}

/**
 * Destinations (subscribers, dead letter sinks, replies) as plain data, so they can sit in
 * JSON-serializable props: `Sink.service('dead-letters')` is just
 * `{ ref: { apiVersion: 'v1', kind: 'Service', name: 'dead-letters' } }`.
 */
export class Sink {
  /** A Kubernetes Service, reached on port 80. */
  public static service(name: string, options: SinkOptions = {}): Destination {
    return Sink.ref('v1', 'Service', name, options);
  }

  /** A Knative Service. */
  public static knativeService(name: string, options: SinkOptions = {}): Destination {
    return Sink.ref(KNATIVE_SERVICE_API_VERSION, 'Service', name, options);
  }

  /** A Kyma Function (`serverless.kyma-project.io/v1alpha2`). */
  public static function(name: string, options: SinkOptions = {}): Destination {
    return Sink.ref(KYMA_FUNCTION_API_VERSION, 'Function', name, options);
  }

  /** A Broker: events go through its ingress again (e.g. replies into another namespace). */
  public static broker(name: string, options: SinkOptions = {}): Destination {
    return Sink.ref('eventing.knative.dev/v1', 'Broker', name, options);
  }

  /** An absolute URL, e.g. a service outside the cluster. */
  public static uri(uri: string): Destination {
    return { uri };
  }

  private static ref(apiVersion: string, kind: string, name: string, options: SinkOptions): Destination {
    return {
      ref: { apiVersion, kind, name, ...(options.namespace ? { namespace: options.namespace } : {}) },
      ...(options.path ? { uri: options.path } : {}),
    };
  }

  private constructor() {}
}
