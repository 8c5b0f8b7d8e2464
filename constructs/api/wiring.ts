/**
 * How the parts of the mesh find each other: object names, cluster-local URLs and the
 * channel topics events travel on. The constructs render these names, the Pulumi
 * components export these URLs and the runtime routes by them — this file is the one
 * place they are decided.
 */
import { DEFAULT_INTEGRATION_NAMESPACE, DEFAULT_SYSTEM_NAMESPACE } from './names';
import type { Destination } from './trigger-spec';

export interface MeshAddressing {
  /** Namespace of the dispatcher, controller and NATS. @default "event-mesh-system" */
  readonly systemNamespace?: string;
  /** Namespace of the applications' HTTP adapters and channels. @default "kyma-integration" */
  readonly integrationNamespace?: string;
  /** The cluster's DNS domain. @default "cluster.local" */
  readonly clusterDomain?: string;
}

export const DISPATCHER_NAME = 'event-mesh-dispatcher';
export const BROKER_INGRESS_SERVICE = 'event-mesh-broker-ingress';
export const NATS_SERVICE = 'event-mesh-nats';
/** Headless Service of the NATS StatefulSet: stable per-server DNS names for routes and clients. */
export const NATS_HEADLESS_SERVICE = `${NATS_SERVICE}-headless`;
export const NATS_CLIENT_PORT = 4222;
export const ADAPTER_PORT = 8080;
/** The adapter's plain-HTTP port of /healthz, /readyz and /metrics (the event port may be HTTPS). */
export const ADAPTER_PROBE_PORT = 9090;
export const DISPATCHER_PORT = 8080;

function resolved(a: MeshAddressing = {}) {
  return {
    systemNamespace: a.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE,
    integrationNamespace: a.integrationNamespace ?? DEFAULT_INTEGRATION_NAMESPACE,
    clusterDomain: a.clusterDomain ?? 'cluster.local',
  };
}

/** `http://<name>.<namespace>.svc.<domain>`: the address of a Service port 80. */
export function serviceUrl(name: string, namespace: string, addressing?: MeshAddressing): string {
  return `http://${name}.${namespace}.svc.${resolved(addressing).clusterDomain}`;
}

/** Name of the Deployment and Service of an application's HTTP adapter. */
export function adapterName(application: string): string {
  return `${application}-adapter`;
}

/**
 * The URL an external application posts CloudEvents to: `https://…` (Service port 443) when
 * the adapter serves TLS (auth mtls, or token with a certificate), `http://…` (port 80) otherwise.
 */
export function adapterEventsUrl(application: string, addressing?: MeshAddressing, tls = false): string {
  const a = resolved(addressing);
  const url = `${serviceUrl(adapterName(application), a.integrationNamespace, addressing)}/events`;
  return tls ? url.replace(/^http:/, 'https:') : url;
}

/** Adapter authentication objects: the mesh CA (cert-manager) and per application the Secrets. */
export const MESH_SELF_SIGNED_ISSUER = 'event-mesh-selfsigned';
export const MESH_CA_ISSUER = 'event-mesh-ca';
export const MESH_CA_SECRET = 'event-mesh-ca';
/** Where the adapter's serving certificate Secret (tls.crt, tls.key, ca.crt) is mounted. */
export const ADAPTER_TLS_MOUNT_PATH = '/etc/event-mesh/tls';
/** Where a separate client CA Secret is mounted (when not the serving Secret's ca.crt). */
export const ADAPTER_CLIENT_CA_MOUNT_PATH = '/etc/event-mesh/client-ca';
/** Where the tokens Secret is mounted. */
export const ADAPTER_TOKENS_MOUNT_PATH = '/etc/event-mesh/tokens';
/** The adapter's serving certificate Secret (cert-manager Certificate of the same name). */
export function adapterServingSecretName(application: string): string {
  return `${adapterName(application)}-tls`;
}
/** The Secret with the client certificate an application's external system presents. */
export function applicationClientSecretName(application: string): string {
  return `${application}-client-tls`;
}

/** Broker ingress, as Knative's multi-tenant broker addresses it: `/<namespace>/<broker>`. */
export function brokerIngressUrl(namespace: string, broker: string, addressing?: MeshAddressing): string {
  const a = resolved(addressing);
  return `${serviceUrl(BROKER_INGRESS_SERVICE, a.systemNamespace, addressing)}/${namespace}/${broker}`;
}

export function natsUrl(addressing?: MeshAddressing): string {
  const a = resolved(addressing);
  return `nats://${NATS_SERVICE}.${a.systemNamespace}.svc.${a.clusterDomain}:${NATS_CLIENT_PORT}`;
}

/**
 * Every NATS server's own client URL (`nats://event-mesh-nats-<i>.event-mesh-nats-headless.
 * <ns>.svc.<domain>:4222`) for a cluster of `servers`; for one server, the Service URL. A
 * client given the list connects to any server that is up, also when the first one is
 * down at its start, and fails over to the others (NATS_URL, comma-separated).
 */
export function natsServerUrls(servers: number, addressing?: MeshAddressing): string[] {
  if (servers <= 1) return [natsUrl(addressing)];
  const a = resolved(addressing);
  return Array.from({ length: servers }, (_, i) => `nats://${NATS_SERVICE}-${i}.${NATS_HEADLESS_SERVICE}.${a.systemNamespace}.svc.${a.clusterDomain}:${NATS_CLIENT_PORT}`);
}

/** The channel an application's adapter publishes to (a Knative Channel in the integration namespace). */
export function applicationChannelName(application: string): string {
  return application;
}

/** Subscription wiring an application's channel to a namespace's broker. */
export function applicationSubscriptionName(application: string, namespace: string, broker: string): string {
  return `${application}-${namespace}-${broker}`;
}

/** Channel topics: where the runtime stores the events of a Channel and of a Broker. */
export function channelTopic(namespace: string, channel: string): string {
  return `channel.${namespace}.${channel}`;
}
export function brokerTopic(namespace: string, broker: string): string {
  return `broker.${namespace}.${broker}`;
}
/** Durable consumer names: one per Subscription, one per Trigger. */
export function subscriptionConsumer(namespace: string, subscription: string): string {
  return `sub.${namespace}.${subscription}`;
}
export function triggerConsumer(namespace: string, trigger: string): string {
  return `trigger.${namespace}.${trigger}`;
}
/**
 * A broker's fan-out stage: one durable consumer reads each event of the broker once and
 * hands it to the Triggers whose filters match (instead of one consumer per Trigger).
 */
export function brokerFanOutConsumer(namespace: string, broker: string): string {
  return `fanout.${namespace}.${broker}`;
}
/**
 * Where the fan-out stage parks a Trigger's event it cannot finish now (the Trigger is
 * saturated, or a delivery must be tried again later): one topic per broker, one durable
 * consumer per Trigger on it (`triggerRetryConsumer`).
 */
export function brokerRetryTopic(namespace: string, broker: string): string {
  return `retry.${namespace}.${broker}`;
}
export function triggerRetryConsumer(namespace: string, trigger: string): string {
  return `retry.${namespace}.${trigger}`;
}

/**
 * Where a Destination points. Services, Knative Services and Kyma Functions are reached
 * at their cluster-local Service URL, Brokers at the broker ingress; a `uri` next to a
 * `ref` is resolved relative to it. `serviceOverrides` maps `name.namespace` to a URL
 * (how `event-mesh dev --map` points cluster Services at local processes).
 */
export function destinationUrl(
  dest: Destination,
  defaultNamespace: string,
  addressing?: MeshAddressing,
  serviceOverrides?: ReadonlyMap<string, string>,
): string {
  if (!dest.ref) {
    if (!dest.uri) throw new Error('destination has neither ref nor uri');
    return dest.uri;
  }
  const ns = dest.ref.namespace ?? defaultNamespace;
  let base: string;
  if (dest.ref.kind === 'Broker') {
    base = brokerIngressUrl(ns, dest.ref.name, addressing);
  } else if (['Service', 'Function'].includes(dest.ref.kind)) {
    base = serviceOverrides?.get(`${dest.ref.name}.${ns}`) ?? serviceUrl(dest.ref.name, ns, addressing);
  } else {
    throw new Error(`cannot address a ${dest.ref.kind} (${dest.ref.apiVersion}): use a Service, a Knative Service, a Function, a Broker or a uri`);
  }
  if (!dest.uri) return base;
  return new URL(dest.uri, base.endsWith('/') ? base : `${base}/`).toString();
}

export const CONTROLLER_NAME = 'event-mesh-controller';
/** The controller's mesh settings file (ConfigMap `event-mesh-controller`, key `mesh.json`). */
export const CONTROLLER_CONFIG_KEY = 'mesh.json';
export const CONTROLLER_CONFIG_MOUNT_PATH = '/etc/event-mesh/controller';
