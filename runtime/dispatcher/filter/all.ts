/** `all`: every nested filter matches. An empty list matches everything (Knative: no filter). */
import { CompiledFilter } from './types';

export function combineAll(filters: readonly CompiledFilter[]): CompiledFilter {
  const requiredExact = new Map<string, string>();
  for (const f of filters) for (const [k, v] of f.requiredExact) requiredExact.set(k, v);
  if (filters.length === 1) return filters[0];
  return { requiredExact, matches: (event) => filters.every((f) => f.matches(event)) };
}
