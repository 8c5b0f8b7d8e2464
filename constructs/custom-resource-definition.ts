import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { makeClusterScoped } from './cluster-scoped';
import type { JsonSchema } from './json-schema';

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  /** @default - none */
  readonly description?: string;
  /** 0 shows in `kubectl get`, higher only with `-o wide`. @default 0 */
  readonly priority?: number;
}

export interface CustomResourceDefinitionProps {
  /** API group, e.g. `sources.kyma-project.io`. */
  readonly group: string;
  readonly kind: string;
  /** Lower-case plural, e.g. `httpsources`. */
  readonly plural: string;
  /** @default - the kind in lower case */
  readonly singular?: string;
  /** @default [] */
  readonly shortNames?: readonly string[];
  /** `kubectl get <category>` lists the kind. @default [] */
  readonly categories?: readonly string[];
  /** @default "Namespaced" */
  readonly scope?: 'Namespaced' | 'Cluster';
  /** The served and stored version. */
  readonly version: string;
  /**
   * Older versions also served, with the same schema and conversion None (the API server
   * only rewrites apiVersion), so existing manifests keep working. @default - none
   */
  readonly olderVersions?: readonly string[];
  /** openAPIV3Schema of the version: must be structural. */
  readonly schema: JsonSchema;
  /** @default - NAME and AGE only */
  readonly printerColumns?: readonly PrinterColumn[];
  /** Serve `/status` separately, so users cannot overwrite the controller's status. @default true */
  readonly statusSubresource?: boolean;
  /** @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * An `apiextensions.k8s.io/v1` CustomResourceDefinition: one stored version, optionally older served ones. A plain ApiObject:
 * cdk8s-plus has no CRD construct and the generated k8s types would mangle nested schemas.
 */
export class CustomResourceDefinition extends Construct {
  /** `<plural>.<group>`, the name the API server requires. */
  public readonly name: string;
  public readonly apiVersion: string;
  public readonly kind: string;
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: CustomResourceDefinitionProps) {
    super(scope, id);
    this.name = `${props.plural}.${props.group}`;
    this.apiVersion = `${props.group}/${props.version}`;
    this.kind = props.kind;
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: this.name, labels: { ...props.labels } },
      spec: {
        group: props.group,
        names: {
          kind: props.kind,
          listKind: `${props.kind}List`,
          plural: props.plural,
          singular: props.singular ?? props.kind.toLowerCase(),
          ...(props.shortNames?.length ? { shortNames: [...props.shortNames] } : {}),
          ...(props.categories?.length ? { categories: [...props.categories] } : {}),
        },
        scope: props.scope ?? 'Namespaced',
        versions: [props.version, ...(props.olderVersions ?? [])].map((name) => ({
          name,
          served: true,
          storage: name === props.version,
          ...(name === props.version ? {} : { deprecated: true, deprecationWarning: `${props.group}/${name} ${props.kind} is deprecated; use ${props.group}/${props.version}` }),
          schema: { openAPIV3Schema: props.schema },
          ...((props.statusSubresource ?? true) ? { subresources: { status: {} } } : {}),
          ...(props.printerColumns?.length ? { additionalPrinterColumns: props.printerColumns.map((c) => ({ ...c })) } : {}),
        })),
      },
    });
    makeClusterScoped(this.resource);
  }
}

/** The usual Knative printer columns: READY and REASON from the `Ready` condition. */
export const READY_COLUMNS: readonly PrinterColumn[] = [
  { name: 'READY', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'REASON', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
];
export const AGE_COLUMN: PrinterColumn = { name: 'AGE', type: 'date', jsonPath: '.metadata.creationTimestamp' };
