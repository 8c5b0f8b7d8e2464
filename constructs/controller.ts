/** The construct that deploys `event-mesh controller` (synth-time only; no I/O). */
import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  CONTROLLER_CONFIG_KEY, CONTROLLER_CONFIG_MOUNT_PATH, CONTROLLER_NAME, PART_OF, PART_OF_LABEL, controllerGrants,
  type AccessGrant, type AccessScope, type MeshAddressing,
} from './api';
import { makeClusterScoped } from './cluster-scoped';
import { meshLabels } from './mesh-labels';
import { requireInteger } from './prop-checks';
import { RuntimeDeployment, RUNTIME_PORT, type ContainerResources } from './runtime-deployment';
import type { ResolvedRuntimeImage } from './runtime-image';
import { resolveProcessOptions, type RuntimeProcessOptions, type RuntimeSettings } from './runtime-settings';

/** The controller's knobs, as plain data (EventMesh `controller`). */
export interface ControllerOptions extends Pick<RuntimeProcessOptions, 'shutdownGrace'> {
  /** Deploy `event-mesh controller`. Without it nothing reconciles objects created with kubectl or writes status. @default true */
  readonly enabled?: boolean;
  /** Replicas; one leads (Lease), the others keep warm caches. @default 2 */
  readonly replicas?: number;
  /** @default requests { cpu: "50m", memory: "128Mi" }, limits { cpu: "500m", memory: "512Mi" } */
  readonly resources?: ContainerResources;
  /** Render a NetworkPolicy admitting only mesh pods (metrics scrapes) to the controller. @default true */
  readonly networkPolicy?: boolean;
}

export interface ControllerProps extends ControllerOptions {
  readonly addressing: Required<MeshAddressing>;
  readonly image: ResolvedRuntimeImage;
  readonly runtime: RuntimeSettings;
  /**
   * The mesh settings Applications created with kubectl are rendered with (JSON of
   * runtime/controller's ControllerMeshSettings). No secret may be in it: it is a ConfigMap.
   */
  readonly meshSettings: Readonly<Record<string, unknown>>;
  /** Adapters run as Knative Services: watch and write those too. @default false */
  readonly knativeServing?: boolean;
}

const DEFAULT_RESOURCES = {
  requests: { cpu: '50m', memory: '128Mi' },
  limits: { cpu: '500m', memory: '512Mi' },
};

/**
 * `event-mesh controller`: a Deployment (2 replicas, Lease leader election, probes, limits,
 * non-root, read-only root filesystem) with its PodDisruptionBudget, ServiceAccount, the
 * ConfigMap of mesh settings it renders Applications with, and RBAC rendered from
 * CONTROLLER_ACCESS (constructs/api/controller-access.ts), the same table that bounds what
 * its code may call: a ClusterRole for what spans namespaces, a Role in the integration
 * namespace for what Applications render, a Role in the system namespace for its Lease.
 */
export class Controller extends Construct {
  public readonly namespace: string;
  public readonly workload: RuntimeDeployment;
  public readonly serviceAccount: kplus.ServiceAccount;
  public readonly configMap: kplus.ConfigMap;
  /** The RBAC grants rendered, per scope. */
  public readonly grants: readonly AccessGrant[];

  constructor(scope: Construct, id: string, props: ControllerProps) {
    super(scope, id);
    this.namespace = props.addressing.systemNamespace;
    const labels = meshLabels(CONTROLLER_NAME, 'controller');
    const metadata = (namespace: string) => ({ name: CONTROLLER_NAME, namespace, labels });
    const replicas = requireInteger(this, 'controller replicas', props.replicas ?? 2, 1);
    const processOptions = resolveProcessOptions(this, 'controller', { shutdownGrace: props.shutdownGrace });

    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata: metadata(this.namespace), automountToken: false });
    this.grants = controllerGrants({ knativeServing: props.knativeServing });
    const rules = (s: AccessScope) => this.grants.filter((g) => g.scope === s).map((g) => ({ apiGroups: [g.group], resources: [g.resource], verbs: [...g.verbs] }));
    const subject = { kind: 'ServiceAccount', name: CONTROLLER_NAME, namespace: this.namespace };

    const clusterRole = new ApiObject(this, 'ClusterRole', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: CONTROLLER_NAME, labels }, rules: rules('cluster'),
    });
    makeClusterScoped(clusterRole);
    makeClusterScoped(new ApiObject(this, 'ClusterRoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: CONTROLLER_NAME, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CONTROLLER_NAME }, subjects: [subject],
    }));
    const namespaced: [AccessScope, string, string][] = [
      ['integration', props.addressing.integrationNamespace, 'Integration'],
      ['system', props.addressing.systemNamespace, 'System'],
    ];
    for (const [s, namespace, idPart] of namespaced) {
      new ApiObject(this, `${idPart}Role`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: metadata(namespace), rules: rules(s) });
      new ApiObject(this, `${idPart}RoleBinding`, {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: metadata(namespace),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: CONTROLLER_NAME }, subjects: [subject],
      });
    }

    this.configMap = new kplus.ConfigMap(this, 'Config', {
      metadata: metadata(this.namespace),
      data: { [CONTROLLER_CONFIG_KEY]: `${JSON.stringify(props.meshSettings, null, 2)}\n` },
    });

    const v = kplus.EnvValue.fromValue;
    this.workload = new RuntimeDeployment(this, 'Resource', {
      name: CONTROLLER_NAME,
      namespace: this.namespace,
      component: 'controller',
      command: 'controller',
      image: props.image,
      replicas,
      serviceAccount: this.serviceAccount,
      // It is the one mesh process that calls the API server.
      mountServiceAccountToken: true,
      env: () => ({
        PORT: v(String(RUNTIME_PORT)),
        LOG_LEVEL: v(props.runtime.logLevel),
        SHUTDOWN_GRACE: v(processOptions.shutdownGrace),
        SYSTEM_NAMESPACE: v(props.addressing.systemNamespace),
        INTEGRATION_NAMESPACE: v(props.addressing.integrationNamespace),
        CLUSTER_DOMAIN: v(props.addressing.clusterDomain),
        MESH_CONFIG: v(`${CONTROLLER_CONFIG_MOUNT_PATH}/${CONTROLLER_CONFIG_KEY}`),
        POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
        ...(props.knativeServing ? { KNATIVE_SERVING: v('true') } : {}),
      }),
      resources: props.resources,
      defaultResources: DEFAULT_RESOURCES,
      mounts: [{ path: CONTROLLER_CONFIG_MOUNT_PATH, volume: kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.configMap, { name: 'config' }) }],
      shutdownGraceSeconds: processOptions.shutdownGraceSeconds,
    });

    // Nothing needs to reach the controller but /metrics scrapes from mesh pods (probes come from the node).
    if (props.networkPolicy ?? true) new kplus.NetworkPolicy(this, 'NetworkPolicy', {
      metadata: metadata(this.namespace),
      selector: kplus.Pods.select(this, 'ControllerPods', { labels: this.workload.selector }),
      ingress: {
        default: kplus.NetworkPolicyTrafficDefault.DENY,
        rules: [{
          peer: kplus.Pods.select(this, 'MeshPods', { labels: { [PART_OF_LABEL]: PART_OF }, namespaces: kplus.Namespaces.all(this, 'AnyNamespace') }),
          ports: [kplus.NetworkPolicyPort.tcp(RUNTIME_PORT)],
        }],
      },
    });
  }
}
