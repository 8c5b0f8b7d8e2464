/**
 * Destinations as plain data (pure): what a Trigger, Subscription or delivery spec points at.
 * `Sink.fromService` also takes a cdk8s-plus Service and checks at that call that the port
 * it addresses exists on the Service.
 */
import type { IConstruct } from 'constructs';
import type * as kplus from 'cdk8s-plus-27';
import { serviceUrl, type Destination } from './api';
import { configError } from './errors';

export const KYMA_FUNCTION_API_VERSION = 'serverless.kyma-project.io/v1alpha2';
export const KNATIVE_SERVICE_API_VERSION = 'serving.knative.dev/v1';

/** The port a Knative Service reference resolves to (Knative addresses `http://<name>.<namespace>.svc.<domain>`). */
export const SERVICE_REF_PORT = 80;

export interface SinkOptions {
  /** @default - the namespace of the Trigger or Subscription */
  readonly namespace?: string;
  /** A path (relative URI) on the addressed object, e.g. "/events". @default - the root */
  readonly path?: string;
}

export interface ServiceSinkOptions extends SinkOptions {
  /**
   * The Service port events are posted to. Port 80 is addressed as a Knative Service
   * reference; any other port as an absolute URL that carries the port
   * (`http://<name>.<namespace>.svc.<domain>:<port>/<path>`), which needs the namespace.
   * @default 80
   */
  readonly port?: number;
  /** Cluster DNS domain, for a URL with a port other than 80. @default "cluster.local" */
  readonly clusterDomain?: string;
}

export interface FromServiceOptions {
  /**
   * One of the Service's ports. @default - port 80 when the Service has it, else its only
   * port; a Service with several ports and none of them 80 needs this.
   */
  readonly port?: number;
  /** A path (relative URI), e.g. "/events". @default - the root */
  readonly path?: string;
  /** @default - the Service's namespace (its chart's), else the Trigger's */
  readonly namespace?: string;
  /** Cluster DNS domain, for a URL with a port other than 80. @default "cluster.local" */
  readonly clusterDomain?: string;
}

/**
 * Destinations (subscribers, dead letter sinks, replies) as plain data, so they can sit in
 * JSON-serializable props: `Sink.service('dead-letters')` is just
 * `{ ref: { apiVersion: 'v1', kind: 'Service', name: 'dead-letters' } }`.
 */
export class Sink {
  /**
   * A Kubernetes Service by name: port 80 as a Service reference (the way Knative
   * resolves it), another `port` as a URL carrying the port (then `namespace` is required).
   */
  public static service(name: string, options: ServiceSinkOptions = {}): Destination {
    const port = options.port ?? SERVICE_REF_PORT;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`Sink.service("${name}"): port must be a whole number from 1 to 65535, got ${JSON.stringify(options.port)}; pass the Service port events should go to`);
    }
    if (port === SERVICE_REF_PORT) return Sink.ref('v1', 'Service', name, options);
    if (!options.namespace) {
      throw new Error(
        `Sink.service("${name}", { port: ${port} }): a port other than 80 is addressed by URL, which needs the namespace; ` +
          `pass { namespace: '<the Service namespace>' }, or bind port 80 on the Service (targetPort ${port})`,
      );
    }
    return { uri: servicePortUrl(name, options.namespace, port, options.path, options.clusterDomain) };
  }

  /**
   * A cdk8s-plus Service (or the one `deployment.exposeViaService()` returns) as the
   * destination, at its actual port. Checks now that the port exists on the Service: add
   * the Service's ports before calling this.
   */
  public static fromService(service: kplus.Service, options: FromServiceOptions = {}): Destination {
    const ports = service.ports.map((p) => p.port);
    const listed = ports.length === 0 ? 'none' : ports.join(', ');
    const at = service as IConstruct;
    let port = options.port;
    if (port === undefined) {
      if (ports.includes(SERVICE_REF_PORT)) port = SERVICE_REF_PORT;
      else if (ports.length === 1) port = ports[0];
      else if (ports.length === 0) {
        throw configError(at, `service "${service.name}" has no ports to deliver events to`, 'add a port first (service.bind(80, { targetPort: <container port> }), or exposeViaService({ ports: [...] })), then call Sink.fromService');
      } else {
        throw configError(at, `service "${service.name}" has several ports (${listed}) and none is 80`, `pass { port } with one of ${listed} to Sink.fromService`);
      }
    } else if (!ports.includes(port)) {
      throw configError(
        at,
        `service "${service.name}" has no port ${port} (its ports: ${listed})`,
        `pass one of its ports to Sink.fromService, or bind ${port} on the Service (service.bind(${port}, { targetPort: <container port> }))`,
      );
    }
    const namespace = options.namespace ?? service.metadata.namespace;
    if (port === SERVICE_REF_PORT) return Sink.ref('v1', 'Service', service.name, { namespace, path: options.path });
    if (!namespace) {
      throw configError(
        at,
        `service "${service.name}" is addressed on port ${port}, by URL, but has no namespace`,
        `give its chart a namespace, pass { namespace } to Sink.fromService, or bind port 80 on the Service with targetPort ${port}`,
      );
    }
    return { uri: servicePortUrl(service.name, namespace, port, options.path, options.clusterDomain) };
  }

  /** Same as `fromService`. */
  public static from(service: kplus.Service, options: FromServiceOptions = {}): Destination {
    return Sink.fromService(service, options);
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

/** `http://<name>.<namespace>.svc.<domain>:<port>/<path>`. */
function servicePortUrl(name: string, namespace: string, port: number, path: string | undefined, clusterDomain: string | undefined): string {
  const base = `${serviceUrl(name, namespace, clusterDomain ? { clusterDomain } : undefined)}:${port}/`;
  return path ? new URL(path.replace(/^\//, ''), base).toString() : base;
}
