import { PART_OF, PART_OF_LABEL } from './api';

export const NAME_LABEL = 'app.kubernetes.io/name';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

/**
 * The labels every mesh object carries. `part-of` is what the NetworkPolicies trust, so every
 * pod of the mesh (adapters, dispatcher, NATS) must have it.
 */
export function meshLabels(name: string, component: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { [NAME_LABEL]: name, [COMPONENT_LABEL]: component, [PART_OF_LABEL]: PART_OF, ...extra };
}

/**
 * The selector of a mesh workload: stable labels only (unlike cdk8s-plus' path hash), so
 * moving the construct in the tree does not change an immutable Deployment selector.
 */
export function selectorLabels(name: string): Record<string, string> {
  return { [NAME_LABEL]: name, [PART_OF_LABEL]: PART_OF };
}
