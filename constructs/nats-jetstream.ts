import { createHash } from 'crypto';
import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { DEFAULT_INTEGRATION_NAMESPACE, DEFAULT_SYSTEM_NAMESPACE, NATS_CLIENT_PORT, NATS_HEADLESS_SERVICE, NATS_SERVICE, PART_OF, PART_OF_LABEL, natsServerUrls, natsUrl, type MeshAddressing } from './api';
import type { ChannelBackend, ChannelTemplate } from './channel-backend';
import { configError, shown } from './errors';
import { meshLabels, selectorLabels } from './mesh-labels';
import { requireGoDuration, requireQuantity } from './prop-checks';
import { parseQuantity } from './quantity';

export { NATS_HEADLESS_SERVICE } from './api';
export const NATS_CONFIGMAP = `${NATS_SERVICE}-config`;
export const NATS_CLUSTER_PORT = 6222;
export const NATS_MONITOR_PORT = 8222;
/** Set by the API server on every Namespace (Kubernetes 1.22+): what a NetworkPolicy selects namespaces by. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
export const DEFAULT_NATS_IMAGE = 'nats:2.10-alpine';
/** The nats image's user has no fixed uid; any non-root uid works with fsGroup on the volume. */
const NATS_UID = 1000;
const STORE_DIR = '/data/jetstream';

export interface NatsPersistenceOptions {
  /**
   * How long an event is kept in its stream, delivered or not (the seed's
   * `persistence.maxAge`). Go duration syntax.
   * @default "24h"
   */
  readonly maxAge?: string;
  /**
   * Size of each server's volume; JetStream's `max_file_store` is set to it.
   * @default "1Gi"
   */
  readonly size?: string;
  /** @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
}

export interface NatsResourceQuantities {
  /** @default - see NatsResourcesOptions */
  readonly memory?: string;
  /** @default - see NatsResourcesOptions */
  readonly cpu?: string;
}

export interface NatsResourcesOptions {
  /**
   * @default { memory: "256M" } (no CPU limit: throttling a message server hurts latency
   * more than sharing a core does)
   */
  readonly limits?: NatsResourceQuantities;
  /** @default { cpu: "100m", memory: the memory limit } */
  readonly requests?: NatsResourceQuantities;
}

export interface NatsChannelOptions {
  /**
   * Remove an event type's backing resources (stream consumers, idle topics) after this long
   * without traffic (the seed's `channel.maxInactivity`). Go duration syntax.
   * @default "48h"
   */
  readonly maxInactivity?: string;
}

/** The seed chart's parameters, as plain data so EventMesh props stay JSON-serializable. */
export interface NatsJetStreamOptions {
  /** @default "nats:2.10-alpine" */
  readonly image?: string;
  /**
   * Servers in the cluster: 1 (single server) or 3/5 (clustered, streams replicated 3 times).
   * @default 1
   */
  readonly replicas?: number;
  /** @default { maxAge: "24h", size: "1Gi" } */
  readonly persistence?: NatsPersistenceOptions;
  /** @default { limits: { memory: "256M" } } */
  readonly resources?: NatsResourcesOptions;
  /** @default { maxInactivity: "48h" } */
  readonly channel?: NatsChannelOptions;
  /**
   * Render a NetworkPolicy that admits only mesh pods (label app.kubernetes.io/part-of:
   * event-mesh) of the system and integration namespaces to NATS.
   * @default true
   */
  readonly networkPolicy?: boolean;
}

export interface NatsJetStreamProps extends NatsJetStreamOptions {
  /** Where NATS runs (systemNamespace) and who may reach it (also integrationNamespace). @default - "event-mesh-system", "kyma-integration" */
  readonly addressing?: MeshAddressing;
}

/** The stream policy the runtime applies when it creates streams; validated once. */
export interface StreamSettings {
  readonly maxAge: string;
  readonly maxInactivity: string;
  readonly replicas: number;
}

/** Validates the stream-related props; EventMesh also uses it when NATS is not deployed. */
export function resolveStreamSettings(scope: Construct, options: NatsJetStreamOptions = {}): StreamSettings {
  const replicas = options.replicas ?? 1;
  if (![1, 3, 5].includes(replicas)) {
    throw configError(scope, `nats replicas must be 1, 3 or 5, got ${shown(replicas)}`,
      'use 1 for a single server or an odd number so JetStream keeps a quorum when one server is down');
  }
  return {
    maxAge: requireGoDuration(scope, 'nats persistence.maxAge', options.persistence?.maxAge ?? '24h'),
    maxInactivity: requireGoDuration(scope, 'nats channel.maxInactivity', options.channel?.maxInactivity ?? '48h'),
    // JetStream caps a stream at 5 copies; 3 survives one server down at less write cost.
    replicas: replicas === 1 ? 1 : 3,
  };
}

/**
 * NATS with JetStream as the mesh's default channel: a StatefulSet with a volume per server,
 * its config in a ConfigMap, a client Service (`event-mesh-nats`) and a headless Service for
 * the cluster routes. Also a ChannelBackend: adapters and the dispatcher get NATS_URL and the
 * stream policy (STREAM_MAX_AGE, CHANNEL_MAX_INACTIVITY, STREAM_REPLICAS) from it, because
 * the runtime, not the server, creates the streams and enforces their limits.
 */
export class NatsJetStream extends Construct implements ChannelBackend {
  public readonly kind = 'nats' as const;
  public readonly channelTemplate: ChannelTemplate = { apiVersion: 'messaging.knative.dev/v1alpha1', kind: 'NatsJetStreamChannel' };
  public readonly namespace: string;
  /** `nats://event-mesh-nats.<ns>.svc.<domain>:4222` */
  public readonly url: string;
  /**
   * What adapters and the dispatcher get as NATS_URL: the Service URL for one server, every
   * server's own URL for a cluster (natsServerUrls), so a client fails over between them.
   */
  public readonly serverUrls: readonly string[];
  /** STREAM_MAX_AGE for the runtime, e.g. "24h". */
  public readonly streamMaxAge: string;
  /** CHANNEL_MAX_INACTIVITY for the runtime, e.g. "48h". */
  public readonly channelMaxInactivity: string;
  /** STREAM_REPLICAS for the runtime: 1, or 3 when clustered. */
  public readonly streamReplicas: number;
  public readonly replicas: number;
  public readonly storageSize: string;
  public readonly memoryLimit: string;
  /** The server configuration (nats.conf). */
  public readonly serverConfig: string;
  public readonly statefulSet: ApiObject;

  constructor(scope: Construct, id: string, props: NatsJetStreamProps = {}) {
    super(scope, id);
    const settings = resolveStreamSettings(this, props);
    this.namespace = props.addressing?.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE;
    this.url = natsUrl(props.addressing);
    this.streamMaxAge = settings.maxAge;
    this.channelMaxInactivity = settings.maxInactivity;
    this.streamReplicas = settings.replicas;
    this.replicas = props.replicas ?? 1;
    this.serverUrls = natsServerUrls(this.replicas, props.addressing);
    this.storageSize = requireQuantity(this, 'nats persistence.size', props.persistence?.size ?? '1Gi', '1Gi');
    this.memoryLimit = requireQuantity(this, 'nats resources.limits.memory', props.resources?.limits?.memory ?? '256M', '256M');
    const limits: Record<string, string> = { memory: this.memoryLimit };
    if (props.resources?.limits?.cpu) limits.cpu = requireQuantity(this, 'nats resources.limits.cpu', props.resources.limits.cpu, '500m');
    const requests = {
      cpu: requireQuantity(this, 'nats resources.requests.cpu', props.resources?.requests?.cpu ?? '100m', '100m'),
      memory: requireQuantity(this, 'nats resources.requests.memory', props.resources?.requests?.memory ?? this.memoryLimit, '256M'),
    };
    const clusterDomain = props.addressing?.clusterDomain ?? 'cluster.local';
    this.serverConfig = this.renderServerConfig(clusterDomain);

    const labels = meshLabels(NATS_SERVICE, 'nats');
    const selector = selectorLabels(NATS_SERVICE);
    const metadata = (name: string) => ({ name, namespace: this.namespace, labels });

    new kplus.ConfigMap(this, 'Config', {
      metadata: metadata(NATS_CONFIGMAP),
      data: {
        'nats.conf': this.serverConfig,
        // The stream policy lives in the clients (see class doc); recorded here so operators
        // find every NATS setting in one place.
        'stream-max-age': this.streamMaxAge,
        'channel-max-inactivity': this.channelMaxInactivity,
        'stream-replicas': String(this.streamReplicas),
      },
    });

    const ports = [
      { name: 'client', port: NATS_CLIENT_PORT, targetPort: 'client' },
      { name: 'cluster', port: NATS_CLUSTER_PORT, targetPort: 'cluster' },
      { name: 'monitor', port: NATS_MONITOR_PORT, targetPort: 'monitor' },
    ];
    new ApiObject(this, 'ClientService', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(NATS_SERVICE),
      spec: { type: 'ClusterIP', selector, ports: ports.filter((p) => p.name !== 'cluster') },
    });
    new ApiObject(this, 'HeadlessService', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(NATS_HEADLESS_SERVICE),
      // Routes must resolve before the servers are ready: they become ready by finding each other.
      spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector, ports },
    });

    const healthProbe = (check: string, extra: Record<string, number>) => ({
      httpGet: { path: `/healthz?${check}=true`, port: 'monitor' },
      ...extra,
    });
    this.statefulSet = new ApiObject(this, 'Resource', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: metadata(NATS_SERVICE),
      spec: {
        serviceName: NATS_HEADLESS_SERVICE,
        replicas: this.replicas,
        // Clustered servers must start together to elect a JetStream meta leader.
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels,
            // A config change rolls the servers, one at a time.
            annotations: { 'event-mesh.dev/config-hash': createHash('sha256').update(this.serverConfig).digest('hex').slice(0, 16) },
          },
          spec: {
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 60,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: NATS_UID,
              runAsGroup: NATS_UID,
              fsGroup: NATS_UID,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            ...(this.replicas > 1 ? { affinity: spreadAcrossNodes(selector) } : {}),
            containers: [{
              name: 'nats',
              image: props.image ?? DEFAULT_NATS_IMAGE,
              imagePullPolicy: 'IfNotPresent',
              args: ['--config', '/etc/nats/nats.conf'],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                // Go's GC aims below this, so the server trims its heap before the OOM killer acts.
                { name: 'GOMEMLIMIT', value: String(Math.floor((parseQuantity(this.memoryLimit) as number) * 0.9)) },
              ],
              ports: [
                { name: 'client', containerPort: NATS_CLIENT_PORT },
                { name: 'cluster', containerPort: NATS_CLUSTER_PORT },
                { name: 'monitor', containerPort: NATS_MONITOR_PORT },
              ],
              // Recovering a large store can take minutes: the startup probe gives it 15.
              startupProbe: healthProbe('js-enabled-only', { periodSeconds: 10, failureThreshold: 90 }),
              livenessProbe: healthProbe('js-enabled-only', { periodSeconds: 30, failureThreshold: 3 }),
              readinessProbe: healthProbe('js-server-only', { periodSeconds: 10, failureThreshold: 3 }),
              resources: { limits, requests },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'config', mountPath: '/etc/nats', readOnly: true },
                { name: 'data', mountPath: '/data' },
              ],
            }],
            volumes: [{ name: 'config', configMap: { name: NATS_CONFIGMAP } }],
          },
        },
        volumeClaimTemplates: [{
          metadata: { name: 'data', labels },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: this.storageSize } },
            ...(props.persistence?.storageClassName ? { storageClassName: props.persistence.storageClassName } : {}),
          },
        }],
      },
    });

    new ApiObject(this, 'DisruptionBudget', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: metadata(NATS_SERVICE),
      // One server at a time: a 3-server cluster keeps its quorum, a single server can still be drained.
      spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
    });

    if (props.networkPolicy ?? true) {
      // NATS has no client authentication: whoever reaches port 4222 can read, publish to and
      // delete every stream. So only mesh pods (the label) in the mesh's own namespaces (the
      // system namespace: dispatcher and the other servers; the integration namespace: the
      // adapters) get in. A pod elsewhere cannot get in by copying the label.
      const meshNamespaces = [...new Set([this.namespace, props.addressing?.integrationNamespace ?? DEFAULT_INTEGRATION_NAMESPACE])];
      new ApiObject(this, 'NetworkPolicy', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: metadata(NATS_SERVICE),
        spec: {
          podSelector: { matchLabels: selector },
          policyTypes: ['Ingress'],
          ingress: [{
            from: [{
              namespaceSelector: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: meshNamespaces }] },
              podSelector: { matchLabels: { [PART_OF_LABEL]: PART_OF } },
            }],
            ports: [NATS_CLIENT_PORT, NATS_CLUSTER_PORT, NATS_MONITOR_PORT].map((port) => ({ port, protocol: 'TCP' })),
          }],
        },
      });
    }
  }

  public env(): Record<string, kplus.EnvValue> {
    return { NATS_URL: kplus.EnvValue.fromValue(this.serverUrls.join(',')) };
  }

  private renderServerConfig(clusterDomain: string): string {
    const storeBytes = Math.floor(parseQuantity(this.storageSize) as number);
    const memoryBytes = Math.floor(parseQuantity(this.memoryLimit) as number);
    const lines = [
      '# Rendered by event-mesh (NatsJetStream); edit the construct props, not this file.',
      'server_name: $POD_NAME',
      `listen: 0.0.0.0:${NATS_CLIENT_PORT}`,
      `http: 0.0.0.0:${NATS_MONITOR_PORT}`,
      'lame_duck_duration: 30s',
      'jetstream {',
      `  store_dir: ${STORE_DIR}`,
      `  # persistence.size ${this.storageSize}: JetStream refuses writes before the volume is full.`,
      `  max_file_store: ${storeBytes}`,
      '  # Streams are file-backed; a quarter of the memory limit bounds any in-memory stream.',
      `  max_memory_store: ${Math.floor(memoryBytes / 4)}`,
      '}',
    ];
    if (this.replicas > 1) {
      const routes = Array.from({ length: this.replicas }, (_, i) =>
        `    nats://${NATS_SERVICE}-${i}.${NATS_HEADLESS_SERVICE}.${this.namespace}.svc.${clusterDomain}:${NATS_CLUSTER_PORT}`);
      lines.push(
        'cluster {',
        `  name: ${NATS_SERVICE}`,
        `  listen: 0.0.0.0:${NATS_CLUSTER_PORT}`,
        '  routes: [',
        ...routes,
        '  ]',
        '}',
      );
    }
    return `${lines.join('\n')}\n`;
  }
}

/** Prefer one server per node, so a node failure costs the cluster one member, not its quorum. */
function spreadAcrossNodes(selector: Record<string, string>) {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{
        weight: 100,
        podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } },
      }],
    },
  };
}
