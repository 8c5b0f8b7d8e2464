import { attributeString } from '../../channel/channel';

/**
 * What a filter sees of an event: its context attributes (required, optional and
 * extensions) by name. `data` / `data_base64` are not attributes and never match.
 */
export type EventAttributes = Readonly<Record<string, unknown>>;

/** A compiled filter: a pure predicate over one event's attributes. */
export type Predicate = (event: EventAttributes) => boolean;

/**
 * A compiled filter plus the exact `attribute = value` conditions that every matching
 * event must satisfy (the conjuncts the per-broker index can use). Empty when the filter
 * has no unconditional exact term (e.g. only prefix/any/not).
 */
export interface CompiledFilter {
  readonly matches: Predicate;
  readonly requiredExact: ReadonlyMap<string, string>;
}

/** Raised at routing load when a Trigger's filter cannot be compiled. */
export class FilterCompileError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'FilterCompileError';
  }
}

/**
 * The string value of a context attribute, or undefined when the event does not carry
 * it. Non-string extension values (numbers, booleans in the JSON format) compare by their
 * canonical string form, as the CloudEvents type system's string encoding defines. The
 * same function channels use for prefilters (runtime/channel/channel.ts).
 */
export const attributeValue: (event: EventAttributes, name: string) => string | undefined = attributeString;

export const MATCH_ALL: CompiledFilter = { matches: () => true, requiredExact: new Map() };
