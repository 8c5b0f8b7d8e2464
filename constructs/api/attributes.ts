/**
 * CloudEvents 1.0 attribute naming: lower-case ASCII letters and digits only. The spec
 * recommends at most 20 characters; we accept longer names, as the SDKs do.
 */
export const ATTRIBUTE_NAME_PATTERN = /^[a-z0-9]+$/;

/**
 * Trigger filter keys: an attribute name that also starts with a letter, as the
 * Knative Trigger API requires (`^[a-z][a-z0-9]*$`).
 */
export const FILTER_ATTRIBUTE_PATTERN = /^[a-z][a-z0-9]*$/;

export const REQUIRED_ATTRIBUTES = ['id', 'source', 'specversion', 'type'] as const;
export const OPTIONAL_ATTRIBUTES = ['datacontenttype', 'dataschema', 'subject', 'time'] as const;

export function isValidFilterAttribute(name: string): boolean {
  return FILTER_ATTRIBUTE_PATTERN.test(name);
}
