/**
 * The classic Knative `spec.filter.attributes` dialect: every key must be present on the
 * event; a non-empty value must match exactly (case-sensitive); `""` means "present with
 * any value". No keys: everything matches.
 */
import { attributeValue, CompiledFilter, MATCH_ALL } from './types';

export function compileAttributesFilter(attributes: Readonly<Record<string, string>> | undefined): CompiledFilter {
  const entries = Object.entries(attributes ?? {});
  if (entries.length === 0) return MATCH_ALL;
  const requiredExact = new Map(entries.filter(([, v]) => v !== ''));
  return {
    requiredExact,
    matches: (event) => {
      for (const [name, expected] of entries) {
        const actual = attributeValue(event, name);
        if (actual === undefined) return false;
        if (expected !== '' && actual !== expected) return false;
      }
      return true;
    },
  };
}
