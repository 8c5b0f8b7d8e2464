import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { meshLabels, selectorLabels } from './mesh-labels';
import { requireQuantity } from './prop-checks';
import type { ResolvedRuntimeImage } from './runtime-image';

/** The runtime image's unprivileged user (distroless "nonroot"). */
export const RUNTIME_UID = 65532;
export const RUNTIME_PORT = 8080;

export interface ComputeResources {
  /** CPU, e.g. "100m". @default - per component */
  readonly cpu?: string;
  /** Memory, e.g. "128Mi". @default - per component */
  readonly memory?: string;
}

export interface ContainerResources {
  /** @default - per component */
  readonly requests?: ComputeResources;
  /** @default - per component */
  readonly limits?: ComputeResources;
}

export interface RuntimeDeploymentProps {
  readonly name: string;
  readonly namespace: string;
  /** `app.kubernetes.io/component`, e.g. "dispatcher". */
  readonly component: string;
  /** First CLI argument of the runtime: `event-mesh adapter|dispatcher|controller`. */
  readonly command: 'adapter' | 'dispatcher' | 'controller';
  readonly image: ResolvedRuntimeImage;
  readonly replicas: number;
  /** Env of the container; gets the workload as scope (for imported Secrets). */
  readonly env: (scope: Construct) => Record<string, kplus.EnvValue>;
  /** Props are merged over `defaults` field by field. */
  readonly resources: ContainerResources | undefined;
  readonly defaultResources: Required<{ [K in keyof ContainerResources]: Required<ComputeResources> }>;
  /** @default - the namespace's default ServiceAccount */
  readonly serviceAccount?: kplus.IServiceAccount;
  /**
   * Mount the ServiceAccount's API token. Only a process that calls the API server needs it;
   * the runtime reads everything from env and mounted files.
   * @default false
   */
  readonly mountServiceAccountToken?: boolean;
  /** Extra pod labels (e.g. the application). @default - none */
  readonly labels?: Readonly<Record<string, string>>;
  /** Extra mounts. @default - only /tmp */
  readonly mounts?: readonly { readonly path: string; readonly volume: kplus.Volume; readonly readOnly?: boolean }[];
  /** How long the runtime drains on SIGTERM (SHUTDOWN_GRACE), in seconds. */
  readonly shutdownGraceSeconds: number;
  /** Port of /healthz and /readyz, when not the main one (the adapter's plain-HTTP probe port). @default the main port */
  readonly probePort?: number;
}

/**
 * One runtime workload (adapter or dispatcher) with the hardening every mesh pod gets:
 * non-root, read-only root filesystem with an emptyDir at /tmp, no capabilities, the
 * RuntimeDefault seccomp profile, /healthz and /readyz probes, requests and limits, and a
 * PodDisruptionBudget.
 */
export class RuntimeDeployment extends Construct {
  public readonly deployment: kplus.Deployment;
  public readonly selector: Record<string, string>;

  constructor(scope: Construct, id: string, props: RuntimeDeploymentProps) {
    super(scope, id);
    this.selector = selectorLabels(props.name);
    const labels = meshLabels(props.name, props.component, props.labels);
    const resources = resolveResources(this, props.name, props.resources, props.defaultResources);
    const probePort = props.probePort ?? RUNTIME_PORT;

    this.deployment = new kplus.Deployment(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels },
      podMetadata: { labels },
      replicas: props.replicas,
      select: false,
      serviceAccount: props.serviceAccount,
      // A token in a network-facing pod that never calls the API server is only a liability.
      automountServiceAccountToken: props.mountServiceAccountToken ?? false,
      // The runtime stops taking work at SIGTERM and drains for SHUTDOWN_GRACE; give it 5 s more.
      terminationGracePeriod: Duration.seconds(props.shutdownGraceSeconds + 5),
      securityContext: { ensureNonRoot: true, user: RUNTIME_UID, group: RUNTIME_UID, fsGroup: RUNTIME_UID },
      containers: [{
        name: props.command,
        image: props.image.image,
        imagePullPolicy: pullPolicy(props.image.pullPolicy),
        args: [props.command],
        portNumber: RUNTIME_PORT,
        ...(probePort !== RUNTIME_PORT ? { ports: [{ number: probePort, name: 'probes' }] } : {}),
        envVariables: props.env(this),
        liveness: kplus.Probe.fromHttpGet('/healthz', { port: probePort, periodSeconds: Duration.seconds(10), failureThreshold: 3 }),
        readiness: kplus.Probe.fromHttpGet('/readyz', { port: probePort, periodSeconds: Duration.seconds(5), failureThreshold: 2 }),
        startup: kplus.Probe.fromHttpGet('/healthz', { port: probePort, periodSeconds: Duration.seconds(2), failureThreshold: 30 }),
        securityContext: {
          ensureNonRoot: true,
          user: RUNTIME_UID,
          group: RUNTIME_UID,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          privileged: false,
        },
      }],
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: this.selector }));
    const container = this.deployment.containers[0];
    container.mount('/tmp', kplus.Volume.fromEmptyDir(this, 'Tmp', 'tmp', { sizeLimit: Size.mebibytes(64) }));
    for (const m of props.mounts ?? []) container.mount(m.path, m.volume, { readOnly: m.readOnly ?? true });

    const apiObject = ApiObject.of(this.deployment);
    // Quantities are passed through as written ("256M" stays "256M"), which cdk8s-plus' binary-only
    // Size cannot do. The patch lands before the typed k8s serializer runs, so it takes k8s.Quantity values.
    const quantities = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, kplus.k8s.Quantity.fromString(v)]));
    apiObject.addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/resources', {
      requests: quantities(resources.requests),
      limits: quantities(resources.limits),
    }));
    // cdk8s-plus cannot say "drop ALL" (its Capability enum lists single capabilities only)
    // nor set seccomp; both are what the "restricted" Pod Security Standard asks for.
    apiObject.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/0/securityContext/capabilities', { drop: ['ALL'] }));
    apiObject.addJsonPatch(JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }));
    // cdk8s-plus labels the pod template with the construct's path. Nothing selects by it (the
    // selector is selectorLabels), and it would make the same workload differ between charts:
    // the controller renders an Application's adapter in its own chart, and a pod template that
    // differed from the user's chart would roll the adapter's pods on every apply.
    apiObject.addJsonPatch(JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'));

    new ApiObject(this, 'DisruptionBudget', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: props.name, namespace: props.namespace, labels },
      // Drains take one pod at a time; with one replica that still lets a node drain.
      spec: { maxUnavailable: 1, selector: { matchLabels: this.selector } },
    });
  }
}

function pullPolicy(policy: ResolvedRuntimeImage['pullPolicy']): kplus.ImagePullPolicy {
  return policy === 'Always' ? kplus.ImagePullPolicy.ALWAYS : policy === 'Never' ? kplus.ImagePullPolicy.NEVER : kplus.ImagePullPolicy.IF_NOT_PRESENT;
}

/** Requests and limits from the props over the component's defaults, each a checked quantity. */
export function resolveResources(
  scope: Construct,
  name: string,
  given: ContainerResources | undefined,
  defaults: RuntimeDeploymentProps['defaultResources'],
): { requests: Record<string, string>; limits: Record<string, string> } {
  const pick = (kind: 'requests' | 'limits', res: 'cpu' | 'memory', example: string) =>
    requireQuantity(scope, `${name} resources.${kind}.${res}`, given?.[kind]?.[res] ?? defaults[kind][res], example);
  return {
    requests: { cpu: pick('requests', 'cpu', '100m'), memory: pick('requests', 'memory', '128Mi') },
    limits: { cpu: pick('limits', 'cpu', '1'), memory: pick('limits', 'memory', '256Mi') },
  };
}
