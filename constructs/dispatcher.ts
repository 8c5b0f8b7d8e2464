import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  BROKER_INGRESS_SERVICE, DISPATCHER_NAME, DISPATCHER_PORT, KNATIVE_EVENTING_GROUP, KNATIVE_MESSAGING_GROUP, PART_OF, PART_OF_LABEL,
  ROUTING_MOUNT_PATH, type ChannelKind, type MeshAddressing,
} from './api';
import type { ChannelBackend } from './channel-backend';
import { makeClusterScoped } from './cluster-scoped';
import { configError, shown } from './errors';
import { meshLabels } from './mesh-labels';
import { requireInteger } from './prop-checks';
import { RoutingConfig } from './routing-config';
import { RuntimeDeployment, type ContainerResources } from './runtime-deployment';
import type { ResolvedRuntimeImage } from './runtime-image';
import { commonRuntimeEnv, resolveProcessOptions, type RuntimeProcessOptions, type RuntimeSettings } from './runtime-settings';

/** The data plane's knobs, as plain data (EventMesh `dataPlane`). */
export interface DispatcherOptions extends RuntimeProcessOptions {
  /** Two replicas keep the broker ingress up while one restarts. @default 2 */
  readonly replicas?: number;
  /** @default requests { cpu: "100m", memory: "128Mi" }, limits { cpu: "1", memory: "512Mi" } */
  readonly resources?: ContainerResources;
  /**
   * Render NetworkPolicies admitting only mesh pods (label app.kubernetes.io/part-of:
   * event-mesh) to the dispatcher; only the adapters take traffic from outside the mesh.
   * @default true
   */
  readonly networkPolicy?: boolean;
}

/**
 * Where the dispatcher's routing comes from. `cluster`: it watches Brokers, Triggers,
 * Subscriptions and Channels through the API server (anything applied with kubectl is
 * routed within seconds). `configmap`: the `event-mesh-routing` ConfigMap computed from
 * this cdk8s App at synth time, mounted into the pod (no API access at all).
 */
export type RoutingMode = 'cluster' | 'configmap';

export interface DispatcherProps extends DispatcherOptions {
  /** @default "cluster" */
  readonly routing?: RoutingMode;
  readonly addressing: Required<MeshAddressing>;
  readonly image: ResolvedRuntimeImage;
  readonly runtime: RuntimeSettings;
  /** The channel kind brokers store their events on (EVENT_MESH_CHANNEL). */
  readonly defaultChannel: ChannelKind;
  /** Every enabled channel backend: the dispatcher consumes application channels of each kind. */
  readonly backends: readonly ChannelBackend[];
}

const DEFAULT_RESOURCES = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '1', memory: '512Mi' },
};

/**
 * The data plane (`event-mesh dispatcher`): the broker ingress Service
 * `event-mesh-broker-ingress` (port 80 → 8080, `/<namespace>/<broker>`), Subscription and
 * Trigger delivery. With `cluster` routing (the default) it watches Brokers, Triggers,
 * Subscriptions and Channels through the API server; with `configmap` routing it reads the
 * `event-mesh-routing` ConfigMap mounted into the pod and mounts no API token. Its
 * ServiceAccount may only read the mesh's kinds (and, with `configmap`, ConfigMaps in its
 * own namespace).
 */
export class Dispatcher extends Construct {
  public readonly namespace: string;
  public readonly routingMode: RoutingMode;
  /** The routing ConfigMap; only in `configmap` routing. */
  public readonly routing?: RoutingConfig;
  public readonly workload: RuntimeDeployment;
  public readonly service: kplus.Service;

  constructor(scope: Construct, id: string, props: DispatcherProps) {
    super(scope, id);
    this.namespace = props.addressing.systemNamespace;
    const labels = meshLabels(DISPATCHER_NAME, 'dispatcher');
    const metadata = (name: string) => ({ name, namespace: this.namespace, labels });
    const replicas = requireInteger(this, 'dataPlane replicas', props.replicas ?? 2, 1);
    const processOptions = resolveProcessOptions(this, 'dataPlane', props);

    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata: metadata(DISPATCHER_NAME), automountToken: false });
    for (const b of props.backends) {
      for (const [k, v] of Object.entries(b.serviceAccountAnnotations ?? {})) ApiObject.of(serviceAccount).metadata.addAnnotation(k, v);
    }

    // Read-only, and only what the dispatcher routes by: Brokers and Triggers live in user
    // namespaces (hence a ClusterRole); with configmap routing, ConfigMaps only in its own
    // namespace (a Role), and then its pods do not even mount the token (RuntimeDeployment).
    const meshReader = new kplus.ClusterRole(this, 'ClusterRole', { metadata: { name: DISPATCHER_NAME, labels } });
    meshReader.allowRead(
      kplus.ApiResource.custom({ apiGroup: KNATIVE_EVENTING_GROUP, resourceType: 'brokers' }),
      kplus.ApiResource.custom({ apiGroup: KNATIVE_EVENTING_GROUP, resourceType: 'triggers' }),
      kplus.ApiResource.custom({ apiGroup: KNATIVE_MESSAGING_GROUP, resourceType: 'subscriptions' }),
      kplus.ApiResource.custom({ apiGroup: KNATIVE_MESSAGING_GROUP, resourceType: 'channels' }),
    );
    makeClusterScoped(ApiObject.of(meshReader));
    const clusterBinding = new kplus.ClusterRoleBinding(this, 'ClusterRoleBinding', { metadata: { name: DISPATCHER_NAME, labels }, role: meshReader });
    clusterBinding.addSubjects(serviceAccount);
    makeClusterScoped(ApiObject.of(clusterBinding));

    this.routingMode = props.routing ?? 'cluster';
    if (this.routingMode !== 'cluster' && this.routingMode !== 'configmap') {
      throw configError(this, `routing must be "cluster" or "configmap", got ${shown(this.routingMode)}`, 'pick one of the two');
    }
    let mounts: { path: string; volume: kplus.Volume }[] = [];
    if (this.routingMode === 'configmap') {
      const configReader = new kplus.Role(this, 'Role', { metadata: metadata(DISPATCHER_NAME) });
      configReader.allowRead(kplus.ApiResource.CONFIG_MAPS);
      const binding = new kplus.RoleBinding(this, 'RoleBinding', { metadata: metadata(DISPATCHER_NAME), role: configReader });
      binding.addSubjects(serviceAccount);
      this.routing = new RoutingConfig(this, 'Routing', { namespace: this.namespace });
      mounts = [{ path: ROUTING_MOUNT_PATH, volume: kplus.Volume.fromConfigMap(this, 'RoutingVolume', this.routing.configMap, { name: 'routing' }) }];
    }
    mounts = [...mounts, ...props.backends.flatMap((b) => b.mounts?.(this) ?? [])];
    const v = kplus.EnvValue.fromValue;
    this.workload = new RuntimeDeployment(this, 'Resource', {
      name: DISPATCHER_NAME,
      namespace: this.namespace,
      component: 'dispatcher',
      command: 'dispatcher',
      image: props.image,
      replicas,
      serviceAccount,
      env: (workload) => Object.assign(
        {
          ...commonRuntimeEnv(props.runtime, processOptions),
          EVENT_MESH_CHANNEL: v(props.defaultChannel),
          ROUTING_DIR: v(this.routingMode === 'cluster' ? 'cluster' : ROUTING_MOUNT_PATH),
          SYSTEM_NAMESPACE: v(this.namespace),
          CLUSTER_DOMAIN: v(props.addressing.clusterDomain),
        },
        ...props.backends.map((b) => b.env(workload)),
      ),
      resources: props.resources,
      defaultResources: DEFAULT_RESOURCES,
      mounts,
      // Cluster routing watches the API server; ConfigMap routing reads a mounted file and needs no token.
      mountServiceAccountToken: this.routingMode === 'cluster',
      shutdownGraceSeconds: processOptions.shutdownGraceSeconds,
    });

    this.service = new kplus.Service(this, 'Service', {
      metadata: metadata(BROKER_INGRESS_SERVICE),
      ports: [{ name: 'http', port: 80, targetPort: DISPATCHER_PORT }],
    });
    for (const [key, value] of Object.entries(this.workload.selector)) this.service.selectLabel(key, value);

    if (props.networkPolicy ?? true) {
      new kplus.NetworkPolicy(this, 'NetworkPolicy', {
        metadata: metadata(DISPATCHER_NAME),
        selector: kplus.Pods.select(this, 'DispatcherPods', { labels: this.workload.selector }),
        ingress: {
          default: kplus.NetworkPolicyTrafficDefault.DENY,
          rules: [{
            peer: kplus.Pods.select(this, 'MeshPods', { labels: { [PART_OF_LABEL]: PART_OF }, namespaces: kplus.Namespaces.all(this, 'AnyNamespace') }),
            ports: [kplus.NetworkPolicyPort.tcp(DISPATCHER_PORT)],
          }],
        },
      });
    }
  }
}
