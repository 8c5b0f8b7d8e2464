/** `prefix`: each attribute present and starting with the value (case-sensitive); keys ANDed. */
import { attributeValue, CompiledFilter } from './types';

export function compilePrefix(attributes: Readonly<Record<string, string>>): CompiledFilter {
  const entries = Object.entries(attributes);
  return {
    requiredExact: new Map(),
    matches: (event) => entries.every(([name, value]) => attributeValue(event, name)?.startsWith(value) === true),
  };
}
