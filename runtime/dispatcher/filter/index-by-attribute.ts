/**
 * A per-broker exact-match index over many compiled Trigger filters: instead of running
 * every Trigger's filter for every event, look up the Triggers whose unconditional exact
 * term (preferably on `type`, then `source`, then any attribute) equals the event's value,
 * and run only those filters plus the ones with no exact term.
 */
import { attributeValue, CompiledFilter, EventAttributes } from './types';

const PREFERRED = ['type', 'source', 'subject'];

export interface Indexed<T> {
  readonly item: T;
  readonly filter: CompiledFilter;
}

export class FilterIndex<T> {
  /** attribute -> value -> items */
  private readonly byAttribute = new Map<string, Map<string, Indexed<T>[]>>();
  private readonly unindexed: Indexed<T>[] = [];
  /** Every item, in the order given. */
  readonly items: readonly T[];

  constructor(entries: Iterable<Indexed<T>>) {
    const items: T[] = [];
    for (const entry of entries) {
      items.push(entry.item);
      const exact = entry.filter.requiredExact;
      const key = PREFERRED.find((k) => exact.has(k)) ?? [...exact.keys()].sort()[0];
      if (key === undefined) {
        this.unindexed.push(entry);
        continue;
      }
      let values = this.byAttribute.get(key);
      if (!values) this.byAttribute.set(key, (values = new Map()));
      const value = exact.get(key) as string;
      const list = values.get(value);
      if (list) list.push(entry);
      else values.set(value, [entry]);
    }
    this.items = items;
  }

  get size(): number {
    return this.items.length;
  }

  /** Every item whose filter matches the event. */
  match(event: EventAttributes): T[] {
    const out: T[] = [];
    for (const [attribute, values] of this.byAttribute) {
      const value = attributeValue(event, attribute);
      if (value === undefined) continue;
      for (const entry of values.get(value) ?? []) if (entry.filter.matches(event)) out.push(entry.item);
    }
    for (const entry of this.unindexed) if (entry.filter.matches(event)) out.push(entry.item);
    return out;
  }

  /** How many filters a lookup runs at most for this event (for tests and metrics). */
  candidates(event: EventAttributes): number {
    let n = this.unindexed.length;
    for (const [attribute, values] of this.byAttribute) {
      const value = attributeValue(event, attribute);
      if (value !== undefined) n += values.get(value)?.length ?? 0;
    }
    return n;
  }
}
