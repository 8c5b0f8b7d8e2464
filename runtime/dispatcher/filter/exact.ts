/** `exact`: each attribute present and equal to the value (case-sensitive); keys ANDed. */
import { attributeValue, CompiledFilter } from './types';

export function compileExact(attributes: Readonly<Record<string, string>>): CompiledFilter {
  const entries = Object.entries(attributes);
  return {
    requiredExact: new Map(entries),
    matches: (event) => entries.every(([name, value]) => attributeValue(event, name) === value),
  };
}
