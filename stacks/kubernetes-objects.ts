/**
 * Hand the objects a cdk8s chart synthesizes to @pulumi/kubernetes, one Pulumi resource per
 * object, in an order Kubernetes accepts: CustomResourceDefinitions first, then Namespaces,
 * then everything else (each object waits for the CRDs and for the Namespace it lives in).
 *
 * Each object becomes the typed class of its kind (`k8s.apps.v1.Deployment`, ...) so the
 * provider's await logic and secret handling apply; kinds outside the built-in API groups
 * (Broker, Trigger, Channel, ...) become `k8s.apiextensions.CustomResource`. These are all
 * client-side resources, so `pulumi.runtime.setMocks` tests see every one of them — unlike
 * `yaml/v2`'s ConfigGroup, which expands on the provider side.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { INJECTION_LABELS } from '../constructs/api';
import type { SynthesizedObject } from '../constructs/in-memory-synth';

/** A Kubernetes object as `chart.toJson()` renders it. */
export type KubeObject = SynthesizedObject;

/** Where an object sits in the deployment order. */
export type DeployPhase = 'crd' | 'namespace' | 'object';

export interface DeployedObject {
  /** `<apiVersion>/<kind>:<namespace>/<name>`, unique within a deployment. */
  readonly key: string;
  readonly phase: DeployPhase;
  /** The object exactly as synthesized (what the resource was given). */
  readonly object: KubeObject;
  readonly resource: pulumi.CustomResource;
  /** The resources of this deployment the object was made to wait for (explicit `dependsOn`). */
  readonly dependsOn: readonly pulumi.Resource[];
  /** Whether the extra `workloadDependsOn` was added as well. */
  readonly waitsForWorkloadDependencies: boolean;
}

export interface DeployObjectsOptions {
  readonly parent: pulumi.Resource;
  readonly provider?: k8s.Provider;
  /** Logical names are `<prefix>:<namespace>/<name>` (`<prefix>:<name>` when cluster-scoped). */
  readonly namePrefix: string;
  /** What every object except CRDs and Namespaces also waits for (e.g. the Kafka Secret). */
  readonly workloadDependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
}

const CRD_API_GROUP = 'apiextensions.k8s.io';

/** The @pulumi/kubernetes module of each built-in API group. */
const BUILTIN_GROUP_MODULES: Readonly<Record<string, string>> = {
  '': 'core',
  apps: 'apps',
  batch: 'batch',
  policy: 'policy',
  autoscaling: 'autoscaling',
  'admissionregistration.k8s.io': 'admissionregistration',
  'apiextensions.k8s.io': 'apiextensions',
  'apiregistration.k8s.io': 'apiregistration',
  'certificates.k8s.io': 'certificates',
  'coordination.k8s.io': 'coordination',
  'discovery.k8s.io': 'discovery',
  'events.k8s.io': 'events',
  'flowcontrol.apiserver.k8s.io': 'flowcontrol',
  'networking.k8s.io': 'networking',
  'node.k8s.io': 'node',
  'rbac.authorization.k8s.io': 'rbac',
  'scheduling.k8s.io': 'scheduling',
  'storage.k8s.io': 'storage',
};

type ResourceClass = new (name: string, args: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function isBuiltinGroup(group: string): boolean {
  return group in BUILTIN_GROUP_MODULES;
}

/** The typed @pulumi/kubernetes class of a built-in kind, or undefined for custom resources. */
export function resourceClassFor(apiVersion: string, kind: string): ResourceClass | undefined {
  const { group, version } = splitApiVersion(apiVersion);
  const moduleName = BUILTIN_GROUP_MODULES[group];
  if (moduleName === undefined) return undefined;
  const cls = (k8s as unknown as Record<string, Record<string, Record<string, unknown>> | undefined>)[moduleName]?.[version]?.[kind];
  if (typeof cls !== 'function') {
    throw new Error(
      `@pulumi/kubernetes has no class for ${apiVersion} ${kind}: the chart uses a built-in kind this provider version does not know; upgrade @pulumi/kubernetes or change the construct`,
    );
  }
  return cls as ResourceClass;
}

/** The Pulumi type token a kind is registered under (what the engine and the mocks see). */
export function pulumiTypeOf(apiVersion: string, kind: string): string {
  const { group, version } = splitApiVersion(apiVersion);
  return isBuiltinGroup(group) ? `kubernetes:${group === '' ? 'core' : group}/${version}:${kind}` : `kubernetes:${apiVersion}:${kind}`;
}

export function objectKey(o: KubeObject): string {
  const where = o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
  return `${o.apiVersion}/${o.kind}:${where}`;
}

export function phaseOf(o: KubeObject): DeployPhase {
  if (o.kind === 'CustomResourceDefinition' && splitApiVersion(o.apiVersion).group === CRD_API_GROUP) return 'crd';
  if (o.kind === 'Namespace' && o.apiVersion === 'v1') return 'namespace';
  return 'object';
}

/**
 * `known` plus `extra`, where `extra` may still be a Promise or Output of a list (e.g. a
 * Secret created after this deployment was declared). The SDK resolves `dependsOn`
 * recursively — a list element may itself be a promised list — so no apply is needed.
 */
export function concatDependsOn(
  known: readonly pulumi.Resource[],
  extra: pulumi.Input<pulumi.Input<pulumi.Resource>[]>,
): pulumi.Input<pulumi.Input<pulumi.Resource>[]> {
  if (Array.isArray(extra)) return [...known, ...extra];
  return [...known, extra as unknown as pulumi.Input<pulumi.Resource>];
}

/** Checks the objects can be deployed one Pulumi resource each; returns the problems. */
export function checkObjects(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  objects.forEach((o, i) => {
    if (!o || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string' || !o.metadata.name) {
      problems.push(`object #${i} has no apiVersion, kind or metadata.name: ${JSON.stringify(o).slice(0, 200)}`);
      return;
    }
    const key = objectKey(o);
    if (seen.has(key)) problems.push(`${key} is synthesized twice`);
    seen.add(key);
  });
  return problems;
}

/** A user namespace the mesh only labels for broker injection (not a mesh system namespace). */
function isBoundNamespace(object: KubeObject): boolean {
  const labels = (object.metadata as { labels?: Record<string, string> }).labels ?? {};
  return phaseOf(object) === 'namespace' && Object.entries(INJECTION_LABELS).some(([k, v]) => labels[k] === v);
}

/**
 * Create one resource per object. CRDs wait for nothing in this set; Namespaces wait for the
 * CRDs; every other object waits for the CRDs, for its own Namespace when this set creates it,
 * and for `workloadDependsOn`.
 */
export function deployObjects(objects: readonly KubeObject[], options: DeployObjectsOptions): DeployedObject[] {
  const problems = checkObjects(objects);
  if (problems.length > 0) throw new Error(`cannot deploy the synthesized objects: ${problems.join('; ')}`);

  const ordered = (['crd', 'namespace', 'object'] as const).flatMap((phase) => objects.filter((o) => phaseOf(o) === phase));
  const deployed: DeployedObject[] = [];
  const crds: pulumi.Resource[] = [];
  const namespaces = new Map<string, pulumi.Resource>();

  for (const object of ordered) {
    const phase = phaseOf(object);
    const dependsOn: pulumi.Resource[] = [];
    if (phase !== 'crd') dependsOn.push(...crds);
    const ownNamespace = object.metadata.namespace !== undefined ? namespaces.get(object.metadata.namespace) : undefined;
    if (ownNamespace) dependsOn.push(ownNamespace);

    const waitsForWorkloadDependencies = phase === 'object' && options.workloadDependsOn !== undefined;
    const allDependsOn = waitsForWorkloadDependencies ? concatDependsOn(dependsOn, options.workloadDependsOn!) : dependsOn;

    const name = object.metadata.namespace ? `${options.namePrefix}:${object.metadata.namespace}/${object.metadata.name}` : `${options.namePrefix}:${object.metadata.name}`;
    const opts: pulumi.CustomResourceOptions = {
      parent: options.parent,
      provider: options.provider,
      dependsOn: allDependsOn,
      // A bound namespace belongs to its users (their Functions and Services live there):
      // `pulumi destroy` removes the mesh from it, never the namespace itself.
      retainOnDelete: isBoundNamespace(object) || undefined,
    };
    // A deep copy: the resource's inputs must not alias the construct's objects.
    const args = JSON.parse(JSON.stringify(object)) as Record<string, unknown>;
    const cls = resourceClassFor(object.apiVersion, object.kind);
    const resource = cls ? new cls(name, args, opts) : new k8s.apiextensions.CustomResource(name, args as k8s.apiextensions.CustomResourceArgs, opts);

    if (phase === 'crd') crds.push(resource);
    if (phase === 'namespace') namespaces.set(object.metadata.name, resource);
    deployed.push({ key: objectKey(object), phase, object, resource, dependsOn, waitsForWorkloadDependencies });
  }
  return deployed;
}
