/** `any`: at least one nested filter matches. An empty list matches everything (Knative: no filter). */
import { CompiledFilter, MATCH_ALL } from './types';

export function combineAny(filters: readonly CompiledFilter[]): CompiledFilter {
  if (filters.length === 0) return MATCH_ALL;
  if (filters.length === 1) return filters[0];
  // Only a condition shared by every branch is unconditional.
  const [first, ...rest] = filters;
  const requiredExact = new Map([...first.requiredExact].filter(([k, v]) => rest.every((f) => f.requiredExact.get(k) === v)));
  return { requiredExact, matches: (event) => filters.some((f) => f.matches(event)) };
}
