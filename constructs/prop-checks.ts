/**
 * Checks shared by the constructs' constructors. Each returns the checked value so props can
 * be resolved and validated in one expression, and throws a configError otherwise.
 */
import type { IConstruct } from 'constructs';
import { parseGoDuration } from './api';
import { configError, shown } from './errors';
import { isPositiveQuantity } from './quantity';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A Go duration such as the NATS chart's `24h`; must be longer than zero. */
export function requireGoDuration(scope: IConstruct, field: string, value: string): string {
  const ms = parseGoDuration(value);
  if (ms === undefined || ms <= 0) {
    throw configError(scope, `${field} must be a duration such as "24h", "90m" or "1h30m", got ${shown(value)}`,
      `set ${field} to a positive number followed by h, m, s or ms`);
  }
  return value;
}

/** A positive Kubernetes quantity such as `1Gi` or `256M`. */
export function requireQuantity(scope: IConstruct, field: string, value: string, example: string): string {
  if (!isPositiveQuantity(value)) {
    throw configError(scope, `${field} must be a positive Kubernetes quantity such as "${example}", got ${shown(value)}`,
      `use a number with an optional suffix (Ki, Mi, Gi, k, M, G, m)`);
  }
  return value;
}

/**
 * A DNS-1123 label: what Namespaces, Services and most of our object names must be. Longer
 * names (`maxLength` up to 253) are fine for custom resources; dots never are, because the
 * runtime joins names with dots into topic and consumer names.
 */
export function requireDnsLabel(scope: IConstruct, field: string, value: string, maxLength = 63): string {
  if (typeof value !== 'string' || value.length > maxLength || !DNS_LABEL.test(value)) {
    const suggestion = String(value ?? '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, maxLength) || 'my-name';
    throw configError(scope, `${field} must be lower-case letters, digits and "-" (starting and ending with a letter or digit, at most ${maxLength} characters), got ${shown(value)}`,
      `rename it, e.g. ${shown(suggestion)}`);
  }
  return value;
}

/** A whole number in [min, max]. */
export function requireInteger(scope: IConstruct, field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
    throw configError(scope, `${field} must be a whole number ${range}, got ${shown(value)}`, `set ${field} to a whole number ${range}`);
  }
  return value;
}

const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Labels as the API server accepts them: keys `[prefix/]name` (prefix a DNS subdomain, name at
 * most 63 characters), values empty or at most 63 characters, alphanumeric at both ends.
 */
export function requireLabels(scope: IConstruct, field: string, labels: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> | undefined {
  for (const [key, value] of Object.entries(labels ?? {})) {
    const slash = key.lastIndexOf('/');
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    const name = key.slice(slash + 1);
    if ((prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) || name.length > 63 || !QUALIFIED_NAME.test(name)) {
      throw configError(scope, `${field} key ${shown(key)} is not a valid label key`,
        'use an optional DNS prefix and "/" followed by at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, e.g. "team" or "example.com/team"');
    }
    if (typeof value !== 'string' || value.length > 63 || (value !== '' && !QUALIFIED_NAME.test(value))) {
      throw configError(scope, `${field}.${key} must be a label value (at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit), got ${shown(value)}`,
        'shorten or rename the value; put free text in an annotation instead');
    }
  }
  return labels;
}
