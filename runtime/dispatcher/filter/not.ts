/** `not`: the nested filter does not match. */
import { CompiledFilter } from './types';

export function negate(filter: CompiledFilter): CompiledFilter {
  return { requiredExact: new Map(), matches: (event) => !filter.matches(event) };
}
