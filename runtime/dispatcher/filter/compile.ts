/**
 * A Trigger's filter: `spec.filters` when it has at least one entry (it wins over
 * `spec.filter`, as in Knative), otherwise `spec.filter.attributes`, otherwise match all.
 * Throws FilterCompileError (e.g. for cesql); callers validate with validateTriggerSpec first.
 */
import type { TriggerSpec } from '../../../constructs/api';
import { compileAttributesFilter } from './attributes';
import { compileFilters } from './subscriptions-api';
import { CompiledFilter } from './types';

export function compileTriggerFilter(spec: Pick<TriggerSpec, 'filter' | 'filters'>): CompiledFilter {
  if (spec.filters && spec.filters.length > 0) return compileFilters(spec.filters);
  return compileAttributesFilter(spec.filter?.attributes);
}
