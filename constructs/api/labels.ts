/**
 * The labels every mesh object carries (pure; no cdk8s). Shared by the constructs and the
 * controller's builders, so an object the controller applies carries exactly the labels the
 * construct renders.
 */
import { createHash } from 'crypto';
import { PART_OF, PART_OF_LABEL } from './names';

export const NAME_LABEL = 'app.kubernetes.io/name';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const MAX_LABEL_VALUE = 63;

/**
 * `value` as a valid label value (at most 63 characters, alphanumeric at both ends). Object
 * names can be longer than a label value may be (a Subscription `<app>-<namespace>-<broker>`
 * can reach 127 characters), so a longer name keeps its first characters and gets a hash of
 * the whole name: stable, unique, and still recognisable.
 */
export function labelValue(value: string): string {
  if (value.length <= MAX_LABEL_VALUE && (value === '' || LABEL_VALUE.test(value))) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 8);
  const cut = value.replace(/[^-A-Za-z0-9_.]/g, '-').slice(0, MAX_LABEL_VALUE - hash.length - 1);
  const head = trimToAlphanumeric(cut);
  return head ? `${head}-${hash}` : hash;
}

/**
 * The labels every mesh object carries. `part-of` is what the NetworkPolicies trust, so every
 * pod of the mesh (adapters, dispatcher, NATS) must have it.
 */
export function meshLabels(name: string, component: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { [NAME_LABEL]: labelValue(name), [COMPONENT_LABEL]: component, [PART_OF_LABEL]: PART_OF, ...extra };
}

/**
 * The selector of a mesh workload: stable labels only (unlike cdk8s-plus' path hash), so
 * moving the construct in the tree does not change an immutable Deployment selector.
 */
export function selectorLabels(name: string): Record<string, string> {
  return { [NAME_LABEL]: labelValue(name), [PART_OF_LABEL]: PART_OF };
}

const isAlphanumeric = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** `text` without non-alphanumeric characters at either end (a loop: the regex form is quadratic). */
function trimToAlphanumeric(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && !isAlphanumeric(text.charCodeAt(start))) start++;
  while (end > start && !isAlphanumeric(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}
