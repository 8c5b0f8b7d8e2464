/**
 * Validation of synthesized manifests against published schemas:
 * - built-in kinds, Knative kinds and cert-manager kinds through the maintained model libraries
 *   (`kubernetes-models` v4, `@kubernetes-models/knative` v2, `@kubernetes-models/cert-manager`), resolved generically from
 *   apiVersion/kind; an object whose kind no library knows fails, it is never skipped; and,
 *   as the API server's strict field validation does, unknown fields fail too
 *   (./strict-fields.ts, along the models' declared types);
 * - our custom resources against the openAPIV3Schema of the CRD we synthesize, with ajv,
 *   the way `kubectl apply` (strict field validation) would judge them;
 * - CRD schemas against the API server's structural-schema rules, and CRDs against its other
 *   rules (name = <plural>.<group>, one storage version, a status subresource when the schema
 *   has a status, printer columns that resolve to schema fields);
 * - every object's labels, annotations, selectors and names against the API server's metadata
 *   rules, which the published schemas (plain string maps) do not encode.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { unknownFieldProblems } from './strict-fields';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

type ModelClass = new (data: unknown) => { validate(): void };

const modelModules = new Map<string, Record<string, unknown> | null>();

/** The model library module path for an apiVersion's kinds. */
function modelModulePath(apiVersion: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return group === ''
    ? `kubernetes-models/${version}`
    : group.endsWith('.knative.dev')
      ? `@kubernetes-models/knative/${group}/${version}`
      : group.endsWith('cert-manager.io')
        ? `@kubernetes-models/cert-manager/${group}/${version}`
        : group === 'monitoring.coreos.com'
          ? `@kubernetes-models/prometheus-operator/${group}/${version}`
          : `kubernetes-models/${group}/${version}`;
}

/** The model library module that holds an apiVersion's kinds, or null if none does. */
function modelModule(apiVersion: string): Record<string, unknown> | null {
  if (modelModules.has(apiVersion)) return modelModules.get(apiVersion)!;
  const path = modelModulePath(apiVersion);
  let mod: Record<string, unknown> | null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(path) as Record<string, unknown>;
  } catch {
    mod = null;
  }
  modelModules.set(apiVersion, mod);
  return mod;
}

/** The published model class for apiVersion/kind, if a library has one. */
export function modelFor(apiVersion: string, kind: string): ModelClass | undefined {
  const candidate = modelModule(apiVersion)?.[kind] as (ModelClass & { apiVersion?: string; kind?: string }) | undefined;
  return candidate && candidate.apiVersion === apiVersion && candidate.kind === kind ? candidate : undefined;
}

// ---------------------------------------------------------------------------------------
// CRD-based validation (ajv)

export interface CrdEntry {
  readonly name: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly schema: Record<string, unknown>;
  readonly validate: ValidateFunction;
}

/** Custom resource schemas by `apiVersion/kind`, compiled from synthesized CRDs. */
export type CrdRegistry = Map<string, CrdEntry>;

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  addFormats(ajv);
  for (const keyword of [
    'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys',
    'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource', 'x-kubernetes-map-type', 'x-kubernetes-validations',
  ]) ajv.addKeyword({ keyword });
  return ajv;
}

/**
 * The schema as `kubectl apply` enforces it: the API server rejects unknown fields (strict
 * field validation, kubectl's default) except below x-kubernetes-preserve-unknown-fields.
 */
export function withStrictFields(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withStrictFields);
  if (!schema || typeof schema !== 'object') return schema;
  const node = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, withStrictFields(v)]));
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
      out[key] = withStrictFields(value);
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = (value as unknown[]).map(withStrictFields);
    } else {
      out[key] = value;
    }
  }
  if (node.properties && node.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

export function crdRegistry(manifests: readonly Manifest[]): CrdRegistry {
  const ajv = newAjv();
  const registry: CrdRegistry = new Map();
  for (const crd of manifests.filter((m) => m.kind === 'CustomResourceDefinition')) {
    const spec = crd.spec as { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Record<string, unknown> } }[] };
    for (const version of spec.versions) {
      const apiVersion = `${spec.group}/${version.name}`;
      const schema = version.schema.openAPIV3Schema;
      registry.set(`${apiVersion}/${spec.names.kind}`, {
        name: crd.metadata!.name!,
        apiVersion,
        kind: spec.names.kind,
        schema,
        validate: ajv.compile(withStrictFields(schema) as object),
      });
    }
  }
  return registry;
}

/** Problems of a custom resource against its synthesized CRD ([] when valid). */
export function customResourceProblems(obj: Manifest, registry: CrdRegistry): string[] {
  const entry = registry.get(`${obj.apiVersion}/${obj.kind}`);
  if (!entry) return [`no CRD in the manifests defines ${obj.apiVersion} ${obj.kind}`];
  if (entry.validate(obj)) return [];
  return (entry.validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
}

// ---------------------------------------------------------------------------------------
// The whole manifest

function describe(obj: Manifest): string {
  const ns = obj.metadata?.namespace ? `${obj.metadata.namespace}/` : '';
  return `${obj.apiVersion} ${obj.kind} ${ns}${obj.metadata?.name ?? '<no name>'}`;
}

/**
 * Validate one object: with its published model when one exists, and (when `crds` is given
 * and defines its kind) against our CRD too. Throws, naming the object, when invalid or when
 * no schema at all knows its kind.
 */
export function validateManifest(obj: Manifest, crds?: CrdRegistry): void {
  if (!obj || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
    throw new Error(`not a Kubernetes object: ${JSON.stringify(obj)?.slice(0, 200)}`);
  }
  if (!obj.metadata?.name) throw new Error(`${describe(obj)} has no metadata.name`);
  const Model = modelFor(obj.apiVersion, obj.kind);
  const crd = crds?.get(`${obj.apiVersion}/${obj.kind}`);
  if (!Model && !crd) {
    throw new Error(`no published model or synthesized CRD knows ${obj.apiVersion} ${obj.kind} (${describe(obj)}): add a schema, don't skip it`);
  }
  if (Model) {
    try {
      new Model(obj).validate();
    } catch (e) {
      throw new Error(`${describe(obj)} fails its published schema: ${(e as Error).message}`);
    }
  }
  if (crd) {
    const problems = customResourceProblems(obj, crds!);
    if (problems.length) throw new Error(`${describe(obj)} fails CRD ${crd.name}: ${problems.join('; ')}`);
  }
  if (Model) {
    // The models accept unknown fields; the API server (strict field validation) does not.
    const unknown = unknownFieldProblems(obj, modelModulePath(obj.apiVersion));
    if (unknown === undefined) throw new Error(`${describe(obj)}: the model library declares no type I${obj.kind} to check its fields against`);
    if (unknown.length) throw new Error(`${describe(obj)} has fields its published schema does not define (the API server rejects them): ${unknown.join('; ')}`);
  }
  if (obj.kind === 'CustomResourceDefinition') {
    const problems = crdStructuralProblems(obj);
    if (problems.length) throw new Error(`${describe(obj)} is not structural: ${problems.join('; ')}`);
    const rules = crdDefinitionProblems(obj);
    if (rules.length) throw new Error(`${describe(obj)} would be rejected by the API server: ${rules.join('; ')}`);
  }
  // The published schemas type labels and annotations as string maps; the API server also
  // checks their keys and values (and object names), so we do too.
  const meta = metadataProblems(obj);
  if (meta.length) throw new Error(`${describe(obj)} has invalid metadata: ${meta.join('; ')}`);
}

/** Validate every object; the CRDs among them validate the custom resources. Returns the count. */
export function validateManifests(manifests: readonly Manifest[], extraCrds: readonly Manifest[] = []): number {
  const crds = crdRegistry([...manifests, ...extraCrds]);
  for (const obj of manifests) validateManifest(obj, crds);
  return manifests.length;
}

// ---------------------------------------------------------------------------------------
// Structural schema rules (k8s.io/apiextensions-apiserver, "Specifying a structural schema")

const FORBIDDEN = ['$ref', 'definitions', 'dependencies', 'additionalItems', 'patternProperties', 'id', '$schema'];

/** Why the API server would refuse this CRD's schemas ([] when it would accept them). */
export function crdStructuralProblems(crd: Manifest): string[] {
  const spec = crd.spec as { versions: { name: string; schema?: { openAPIV3Schema?: Record<string, unknown> } }[] };
  const problems: string[] = [];
  for (const version of spec.versions) {
    const schema = version.schema?.openAPIV3Schema;
    if (!schema) {
      problems.push(`${version.name}: no openAPIV3Schema`);
      continue;
    }
    if (schema.type !== 'object') problems.push(`${version.name}: the root must be of type object`);
    const metadata = (schema.properties as Record<string, Record<string, unknown>> | undefined)?.metadata;
    if (metadata) {
      const fields = Object.keys((metadata.properties as object) ?? {});
      if (fields.some((f) => f !== 'name' && f !== 'generateName')) problems.push(`${version.name}: metadata may only constrain name and generateName`);
    }
    walk(schema, `${version.name}:`, problems, false);
  }
  return problems;
}

function walk(node: Record<string, unknown>, path: string, problems: string[], underPreserve: boolean): void {
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  if (!node.type && !preserve && !intOrString) problems.push(`${path} has no type`);
  for (const key of FORBIDDEN) if (key in node) problems.push(`${path} uses ${key}`);
  if (node.uniqueItems === true) problems.push(`${path} uses uniqueItems: true`);
  if (node.properties && node.additionalProperties !== undefined) problems.push(`${path} has both properties and additionalProperties`);
  if (node.type === 'array' && (!node.items || Array.isArray(node.items))) problems.push(`${path} is an array without a single items schema`);
  if (node.type !== undefined && !['object', 'array', 'string', 'integer', 'number', 'boolean'].includes(node.type as string)) {
    problems.push(`${path} has unknown type ${String(node.type)}`);
  }
  for (const [name, child] of Object.entries((node.properties as Record<string, Record<string, unknown>>) ?? {})) {
    walk(child, `${path}.${name}`, problems, underPreserve || preserve);
  }
  if (node.items && !Array.isArray(node.items)) walk(node.items as Record<string, unknown>, `${path}[]`, problems, underPreserve || preserve);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    walk(node.additionalProperties as Record<string, unknown>, `${path}{}`, problems, underPreserve || preserve);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf', 'not']) {
    // Value validations only: the API server forbids type, properties etc. inside them.
    const list = key === 'not' ? (node.not ? [node.not] : []) : ((node[key] as unknown[]) ?? []);
    for (const sub of list as Record<string, unknown>[]) {
      for (const banned of ['type', 'description', 'default', 'additionalProperties', 'nullable', 'x-kubernetes-preserve-unknown-fields']) {
        if (banned in sub) problems.push(`${path}.${key} uses ${banned}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Metadata rules (k8s.io/apimachinery validation: IsQualifiedName, IsValidLabelValue, DNS names)

const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Kinds whose metadata.name must be a DNS-1123 label (not just a subdomain). */
const DNS_LABEL_NAMED = ['Namespace', 'Service'];

/** Why the API server would reject `key` as a label or annotation key ('' when it is valid). */
export function qualifiedNameProblem(key: string): string {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash < 0 ? ['', key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (slash >= 0 && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `key "${key}" has an invalid prefix`;
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) return `key "${key}" is not a qualified name (at most 63 characters, alphanumeric at both ends)`;
  return '';
}

/** Why the API server would reject `value` as a label value ('' when it is valid). */
export function labelValueProblem(value: unknown): string {
  if (typeof value !== 'string') return `value ${JSON.stringify(value)} is not a string`;
  if (value === '') return '';
  if (value.length > 63) return `value "${value}" is longer than 63 characters`;
  if (!QUALIFIED_NAME.test(value)) return `value "${value}" must be alphanumeric at both ends, with only "-", "_" and "." inside`;
  return '';
}

function labelMapProblems(where: string, map: unknown): string[] {
  if (map === undefined) return [];
  if (!map || typeof map !== 'object') return [`${where} is not a map`];
  return Object.entries(map as Record<string, unknown>).flatMap(([k, v]) =>
    [qualifiedNameProblem(k), labelValueProblem(v)].filter(Boolean).map((p) => `${where}: ${p}`));
}

function annotationProblems(where: string, map: unknown): string[] {
  if (map === undefined) return [];
  if (!map || typeof map !== 'object') return [`${where} is not a map`];
  const entries = Object.entries(map as Record<string, unknown>);
  const problems = entries.flatMap(([k, v]) => [
    ...(qualifiedNameProblem(k) ? [`${where}: ${qualifiedNameProblem(k)}`] : []),
    ...(typeof v === 'string' ? [] : [`${where}: "${k}" is not a string`]),
  ]);
  const size = entries.reduce((n, [k, v]) => n + k.length + String(v).length, 0);
  if (size > 256 * 1024) problems.push(`${where} total ${size} bytes, over 256 KiB`);
  return problems;
}

/**
 * Label, annotation and name problems of an object, its pod template, its volume claim
 * templates and its label selectors ([] when the API server would accept them).
 */
export function metadataProblems(obj: Manifest): string[] {
  const problems: string[] = [];
  const meta = obj.metadata ?? {};
  const name = String(meta.name ?? '');
  const nameRule = DNS_LABEL_NAMED.includes(obj.kind) && obj.apiVersion === 'v1' ? DNS_LABEL : DNS_SUBDOMAIN;
  const maxName = nameRule === DNS_LABEL ? 63 : 253;
  if (name.length > maxName || !nameRule.test(name)) problems.push(`metadata.name "${name}" is not a DNS-1123 ${nameRule === DNS_LABEL ? 'label' : 'subdomain'}`);
  if (meta.namespace !== undefined && (String(meta.namespace).length > 63 || !DNS_LABEL.test(String(meta.namespace)))) {
    problems.push(`metadata.namespace "${String(meta.namespace)}" is not a DNS-1123 label`);
  }
  problems.push(...labelMapProblems('metadata.labels', meta.labels), ...annotationProblems('metadata.annotations', meta.annotations));
  const spec = (obj.spec ?? {}) as Record<string, any>;
  const template = spec.template as { metadata?: Record<string, unknown> } | undefined;
  if (template?.metadata) {
    problems.push(...labelMapProblems('spec.template.metadata.labels', template.metadata.labels),
      ...annotationProblems('spec.template.metadata.annotations', template.metadata.annotations));
  }
  for (const [i, claim] of ((spec.volumeClaimTemplates ?? []) as { metadata?: Record<string, unknown> }[]).entries()) {
    problems.push(...labelMapProblems(`spec.volumeClaimTemplates[${i}].metadata.labels`, claim.metadata?.labels));
  }
  // Selectors hold label values too: every matchLabels anywhere, and a Service's selector.
  const walkSelectors = (node: unknown, path: string): void => {
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (k === 'matchLabels') problems.push(...labelMapProblems(`${path}.matchLabels`, v));
      else walkSelectors(v, `${path}.${k}`);
    }
  };
  walkSelectors(obj.spec, 'spec');
  if (obj.apiVersion === 'v1' && obj.kind === 'Service') problems.push(...labelMapProblems('spec.selector', spec.selector));
  return problems;
}

// ---------------------------------------------------------------------------------------
// CRD rules beyond structural schemas (k8s.io/apiextensions-apiserver validation)

/** Resolve a printer column's JSONPath in a schema: the schema node it points at, or undefined. */
function resolveColumnPath(schema: Record<string, any>, jsonPath: string): Record<string, any> | undefined {
  if (!jsonPath.startsWith('.')) return undefined;
  // `.a.b[?(@.x=="y")].c` and `.a[*].c` / `.a[0].c` step into an array's items.
  const segments = jsonPath.slice(1).replace(/\[(\?\([^)]*\)|\*|\d+)\]/g, '.[]').split('.').filter((s) => s !== '');
  let node: Record<string, any> | undefined = schema;
  for (const segment of segments) {
    if (!node) return undefined;
    if (segment === '[]') {
      node = node.type === 'array' ? node.items : undefined;
      continue;
    }
    if (node === schema.properties?.metadata) {
      // metadata's schema is the API server's ObjectMeta, never spelled out in a CRD.
      return ['name', 'namespace', 'creationTimestamp', 'generation', 'labels', 'annotations', 'uid'].includes(segment) ? { type: 'string' } : undefined;
    }
    if (node['x-kubernetes-preserve-unknown-fields'] === true && !node.properties?.[segment]) return { type: 'object' };
    node = node.properties?.[segment] ?? (node.additionalProperties && typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
  }
  return node;
}

/** Why the API server would refuse this CRD apart from its schema's structure ([] when it would accept it). */
export function crdDefinitionProblems(crd: Manifest): string[] {
  const spec = crd.spec as {
    group: string;
    scope: string;
    names: { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[] };
    versions: { name: string; served: boolean; storage: boolean; subresources?: { status?: object }; additionalPrinterColumns?: { name: string; type: string; jsonPath: string }[]; schema?: { openAPIV3Schema?: Record<string, any> } }[];
  };
  const problems: string[] = [];
  if (crd.metadata?.name !== `${spec.names.plural}.${spec.group}`) {
    problems.push(`metadata.name must be "<plural>.<group>" = "${spec.names.plural}.${spec.group}", got "${crd.metadata?.name}"`);
  }
  for (const [field, value] of [['plural', spec.names.plural], ['singular', spec.names.singular]] as const) {
    if (value !== undefined && !DNS_LABEL.test(value)) problems.push(`names.${field} "${value}" must be a lower-case DNS label`);
  }
  if (!['Namespaced', 'Cluster'].includes(spec.scope)) problems.push(`scope must be Namespaced or Cluster, got "${spec.scope}"`);
  if (spec.versions.filter((v) => v.storage).length !== 1) problems.push('exactly one version must be the storage version');
  for (const version of spec.versions) {
    const schema = version.schema?.openAPIV3Schema;
    if (schema?.properties?.status && !version.subresources?.status) {
      problems.push(`${version.name}: the schema has a status but no status subresource, so any writer of the spec can overwrite it`);
    }
    for (const column of version.additionalPrinterColumns ?? []) {
      if (!['string', 'integer', 'number', 'boolean', 'date'].includes(column.type)) problems.push(`${version.name}: column ${column.name} has type "${column.type}"`);
      if (!schema || !resolveColumnPath(schema, column.jsonPath)) {
        problems.push(`${version.name}: column ${column.name} jsonPath "${column.jsonPath}" names no field of the schema`);
      }
    }
  }
  return problems;
}
