/** `suffix`: each attribute present and ending with the value (case-sensitive); keys ANDed. */
import { attributeValue, CompiledFilter } from './types';

export function compileSuffix(attributes: Readonly<Record<string, string>>): CompiledFilter {
  const entries = Object.entries(attributes);
  return {
    requiredExact: new Map(),
    matches: (event) => entries.every(([name, value]) => attributeValue(event, name)?.endsWith(value) === true),
  };
}
