/**
 * The plain shape of a Kubernetes object as the builders in this folder return it (pure).
 * It is what `ApiObject` takes as props and what server-side apply sends.
 */
export interface ResourceObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly spec: Record<string, unknown>;
}
