import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { DEFAULT_ADAPTER_AUTH, renderAdapterAuth, type AdapterAuthOptions, type IssuerReference, type RenderedAdapterAuth } from './adapter-auth';
import { ADAPTER_PORT, ADAPTER_PROBE_PORT, APPLICATION_LABEL, MESH_CA_ISSUER, adapterName, applicationChannelName } from './api';
import type { ChannelBackend } from './channel-backend';
import { configError, shown } from './errors';
import { meshLabels } from './mesh-labels';
import { requireInteger } from './prop-checks';
import { RUNTIME_UID, RuntimeDeployment, resolveResources, type ContainerResources } from './runtime-deployment';
import type { ResolvedRuntimeImage } from './runtime-image';
import { commonRuntimeEnv, resolveProcessOptions, type RuntimeProcessOptions, type RuntimeSettings } from './runtime-settings';

export type AdapterWorkload = 'deployment' | 'knative-service';

export interface HttpAdapterOptions extends RuntimeProcessOptions {
  /**
   * `deployment`: a Deployment and a Service (works on any cluster). `knative-service`: a
   * Knative Serving Service (scales to zero; needs Knative Serving).
   * @default "deployment"
   */
  readonly workload?: AdapterWorkload;
  /** @default 1 */
  readonly replicas?: number;
  /** @default requests { cpu: "50m", memory: "64Mi" }, limits { cpu: "500m", memory: "256Mi" } */
  readonly resources?: ContainerResources;
  /**
   * Render a NetworkPolicy that admits any client to the adapter: it is the mesh's
   * entry point from outside.
   * @default true
   */
  readonly networkPolicy?: boolean;
  /**
   * How clients authenticate: `{ mode: 'mtls' }` (client certificates from cert-manager, or
   * existing Secrets), `{ mode: 'token', secret }` or, explicitly, `{ mode: 'none' }`.
   * @default { mode: 'mtls' }
   */
  readonly auth?: AdapterAuthOptions;
  /**
   * Expose the adapter outside the cluster with an Ingress in TLS passthrough (ingress-nginx's
   * `ssl-passthrough`), so the client certificate reaches the adapter. The host is added to the
   * serving certificate.
   * @default - no Ingress
   */
  readonly ingress?: AdapterIngressOptions;
}

export interface AdapterIngressOptions {
  /** External host name, e.g. `commerce.events.example.com`. */
  readonly host: string;
  /** @default "nginx" */
  readonly className?: string;
}

export interface HttpAdapterProps extends HttpAdapterOptions {
  readonly application: string;
  /** The cluster DNS domain (serving certificate names). @default "cluster.local" */
  readonly clusterDomain?: string;
  /** The cert-manager issuer. @default - the Issuer "event-mesh-ca" */
  readonly issuer?: () => IssuerReference;
  /** The integration namespace. */
  readonly namespace: string;
  readonly channel: ChannelBackend;
  readonly image: ResolvedRuntimeImage;
  readonly runtime: RuntimeSettings;
}

const DEFAULT_RESOURCES = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};

/**
 * An application's HTTP source adapter (`event-mesh adapter`): takes CloudEvents at
 * `/events` (and legacy `/v1/events`) and answers 2xx only once the channel stored the event.
 * Named `<application>-adapter`, the name api/wiring's adapterEventsUrl addresses.
 */
export class HttpAdapter extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  /** The resolved authentication (its mode, whether it serves TLS). */
  public readonly auth: RenderedAdapterAuth;

  constructor(scope: Construct, id: string, props: HttpAdapterProps) {
    super(scope, id);
    this.name = adapterName(props.application);
    this.namespace = props.namespace;
    const workload = props.workload ?? 'deployment';
    if (workload !== 'deployment' && workload !== 'knative-service') {
      throw configError(this, `adapter workload must be "deployment" or "knative-service", got ${shown(workload)}`, 'pick one of the two');
    }
    const replicas = requireInteger(this, `adapter "${this.name}" replicas`, props.replicas ?? 1, 1);
    const processOptions = resolveProcessOptions(this, `adapter "${this.name}"`, props);
    const appLabels = { [APPLICATION_LABEL]: props.application };
    const auth = props.auth ?? DEFAULT_ADAPTER_AUTH;
    if (workload === 'knative-service' && (auth as { mode?: unknown }).mode !== 'none') {
      throw configError(this, `adapter "${this.name}" is a Knative Service, whose queue-proxy ends the client's connection, so auth ${shown((auth as { mode?: unknown }).mode)} cannot see the client certificate or token`,
        "authenticate at the Knative ingress and set auth: { mode: 'none' } explicitly, or use workload \"deployment\"");
    }
    const ingressHost = props.ingress?.host;
    if (props.ingress && (typeof ingressHost !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(ingressHost))) {
      throw configError(this, `adapter "${this.name}" ingress.host must be a DNS name, got ${shown(ingressHost)}`, 'pass the external host name, e.g. commerce.events.example.com');
    }
    this.auth = renderAdapterAuth(this, {
      application: props.application,
      namespace: this.namespace,
      clusterDomain: props.clusterDomain ?? 'cluster.local',
      auth,
      issuer: props.issuer ?? (() => ({ name: MESH_CA_ISSUER, kind: 'Issuer' })),
      extraDnsNames: ingressHost ? [ingressHost] : [],
      labels: meshLabels(this.name, 'adapter', appLabels),
    });
    if (props.ingress && !this.auth.tls) {
      throw configError(this, `adapter "${this.name}" ingress is TLS passthrough, but the adapter serves plain HTTP (auth ${shown(this.auth.mode)})`, "use auth mtls (or token with a serving certificate), or expose it with your own Ingress");
    }
    const env = (scope: Construct): Record<string, kplus.EnvValue> => ({
      ...this.auth.env,
      ...commonRuntimeEnv(props.runtime, processOptions),
      EVENT_MESH_CHANNEL: kplus.EnvValue.fromValue(props.channel.kind),
      APPLICATION_NAME: kplus.EnvValue.fromValue(props.application),
      CHANNEL_NAMESPACE: kplus.EnvValue.fromValue(props.namespace),
      CHANNEL_NAME: kplus.EnvValue.fromValue(applicationChannelName(props.application)),
      ...props.channel.env(scope),
    });

    if (workload === 'knative-service') {
      this.renderKnativeService(props, env, appLabels, replicas);
    } else {
      const deployment = new RuntimeDeployment(this, 'Resource', {
        name: this.name,
        namespace: this.namespace,
        component: 'adapter',
        command: 'adapter',
        image: props.image,
        replicas,
        env,
        resources: props.resources,
        defaultResources: DEFAULT_RESOURCES,
        labels: appLabels,
        serviceAccount: props.channel.adapterServiceAccount,
        shutdownGraceSeconds: processOptions.shutdownGraceSeconds,
        mounts: [...(this.auth.mounts ?? []), ...(props.channel.mounts?.(this) ?? [])],
        probePort: ADAPTER_PROBE_PORT,
      });
      const service = new kplus.Service(this, 'Service', {
        metadata: { name: this.name, namespace: this.namespace, labels: meshLabels(this.name, 'adapter', appLabels) },
        ports: [
          this.auth.tls ? { name: 'https', port: 443, targetPort: ADAPTER_PORT } : { name: 'http', port: 80, targetPort: ADAPTER_PORT },
          { name: 'metrics', port: ADAPTER_PROBE_PORT, targetPort: ADAPTER_PROBE_PORT },
        ],
      });
      for (const [key, value] of Object.entries(deployment.selector)) service.selectLabel(key, value);

      if (props.networkPolicy ?? true) {
        // The adapter is the mesh's entry point: a rule with ports and no `from` admits every
        // source, in the cluster or outside it (a peer `namespaceSelector: {}` would admit only
        // pods, and drop e.g. a hostNetwork ingress controller or a node-IP load balancer).
        new ApiObject(this, 'NetworkPolicy', {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: this.name, namespace: this.namespace, labels: meshLabels(this.name, 'adapter', appLabels) },
          spec: {
            podSelector: { matchLabels: deployment.selector },
            policyTypes: ['Ingress'],
            ingress: [
              { ports: [{ port: ADAPTER_PORT, protocol: 'TCP' }] },
              // Probes and metrics: plain HTTP, pods only (kubelet probes are not subject to policies).
              { from: [{ namespaceSelector: {} }], ports: [{ port: ADAPTER_PROBE_PORT, protocol: 'TCP' }] },
            ],
          },
        });
      }
      if (props.ingress) this.renderIngress(props.ingress, appLabels);
    }
  }

  /** An Ingress in TLS passthrough to the adapter's HTTPS port (ingress-nginx with --enable-ssl-passthrough). */
  private renderIngress(ingress: AdapterIngressOptions, appLabels: Record<string, string>): void {
    new ApiObject(this, 'Ingress', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: meshLabels(this.name, 'adapter', appLabels),
        annotations: { 'nginx.ingress.kubernetes.io/ssl-passthrough': 'true', 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS' },
      },
      spec: {
        ingressClassName: ingress.className ?? 'nginx',
        rules: [{
          host: ingress.host,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: this.name, port: { name: 'https' } } } }] },
        }],
      },
    });
  }

  /**
   * The same container as a Knative Service (serving.knative.dev/v1). Knative owns the pod
   * template's Deployment and Service, so neither (nor a PodDisruptionBudget) is rendered.
   */
  private renderKnativeService(
    props: HttpAdapterProps,
    env: (scope: Construct) => Record<string, kplus.EnvValue>,
    appLabels: Record<string, string>,
    replicas: number,
  ): void {
    const labels = meshLabels(this.name, 'adapter', appLabels);
    const envList = Object.entries(env(this)).map(([name, value]) =>
      (value.valueFrom ? { name, valueFrom: toPlain(value.valueFrom) } : { name, value: value.value }));
    const resources = resolveResources(this, this.name, props.resources, DEFAULT_RESOURCES);
    const mounts = props.channel.mounts?.(this) ?? [];
    new ApiObject(this, 'Resource', {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        // Cluster-local: the external application reaches it through the gateway, as in Kyma.
        labels: { ...labels, 'networking.knative.dev/visibility': 'cluster-local' },
      },
      spec: {
        template: {
          metadata: {
            labels,
            annotations: { 'autoscaling.knative.dev/min-scale': String(replicas) },
          },
          spec: {
            timeoutSeconds: 30,
            ...(props.channel.adapterServiceAccount ? { serviceAccountName: props.channel.adapterServiceAccount.name } : {}),
            ...(mounts.length ? { volumes: mounts.map((m) => toPlain(m.volume._toKube())) } : {}),
            containers: [{
              image: props.image.image,
              imagePullPolicy: props.image.pullPolicy,
              args: ['adapter'],
              // Knative sets PORT itself; the runtime reads it. Knative probes the serving port,
              // so the probes stay there (auth is none here, and without PROBE_PORT they share it).
              env: envList.filter((e) => e.name !== 'PORT' && e.name !== 'PROBE_PORT'),
              ...(mounts.length ? { volumeMounts: mounts.map((m) => ({ name: m.volume.name, mountPath: m.path, readOnly: true })) } : {}),
              ports: [{ containerPort: ADAPTER_PORT }],
              readinessProbe: { httpGet: { path: '/readyz' } },
              livenessProbe: { httpGet: { path: '/healthz' } },
              resources,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: RUNTIME_UID,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
            }],
          },
        },
      },
    });
  }
}

/** cdk8s-plus keeps env sources in its generated camelCase types; their JSON is already Kubernetes' shape. */
function toPlain(source: unknown): unknown {
  return JSON.parse(JSON.stringify(source));
}
