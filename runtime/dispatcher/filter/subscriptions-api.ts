/**
 * The `spec.filters` dialect (CloudEvents Subscriptions API, Knative "new trigger
 * filters"): a list of filter expressions, all of which must match.
 */
import type { SubscriptionsApiFilter } from '../../../constructs/api';
import { combineAll } from './all';
import { combineAny } from './any';
import { compileCesql } from './cesql';
import { compileExact } from './exact';
import { negate } from './not';
import { compilePrefix } from './prefix';
import { compileSuffix } from './suffix';
import { CompiledFilter, FilterCompileError } from './types';

export function compileSubscriptionsApiFilter(filter: SubscriptionsApiFilter, field: string): CompiledFilter {
  const keys = Object.keys(filter ?? {});
  if (keys.length !== 1) throw new FilterCompileError(field, `${field} must have exactly one dialect key, got ${JSON.stringify(keys)}`);
  const f = filter as Record<string, unknown>;
  switch (keys[0]) {
    case 'exact':
      return compileExact(f.exact as Record<string, string>);
    case 'prefix':
      return compilePrefix(f.prefix as Record<string, string>);
    case 'suffix':
      return compileSuffix(f.suffix as Record<string, string>);
    case 'all':
      return combineAll((f.all as SubscriptionsApiFilter[]).map((c, i) => compileSubscriptionsApiFilter(c, `${field}.all[${i}]`)));
    case 'any':
      return combineAny((f.any as SubscriptionsApiFilter[]).map((c, i) => compileSubscriptionsApiFilter(c, `${field}.any[${i}]`)));
    case 'not':
      return negate(compileSubscriptionsApiFilter(f.not as SubscriptionsApiFilter, `${field}.not`));
    case 'cesql':
      return compileCesql(`${field}.cesql`);
    default:
      throw new FilterCompileError(field, `${field}: unknown filter dialect "${keys[0]}"`);
  }
}

export function compileFilters(filters: readonly SubscriptionsApiFilter[]): CompiledFilter {
  return combineAll(filters.map((f, i) => compileSubscriptionsApiFilter(f, `spec.filters[${i}]`)));
}
