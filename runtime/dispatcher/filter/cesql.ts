/**
 * `cesql`: CloudEvents SQL. No maintained CESQL implementation exists for Node.js (none on
 * npm, and the cloudevents SDK ships none), so a Trigger using it is rejected when the
 * routing is loaded, with this message, instead of silently matching everything or nothing.
 */
import { FilterCompileError } from './types';

export const CESQL_UNSUPPORTED =
  'the cesql filter dialect is not supported by the event-mesh dispatcher (no maintained CESQL library for Node.js); ' +
  'express the condition with exact, prefix, suffix, all, any and not';

export function compileCesql(field: string): never {
  throw new FilterCompileError(field, `${field}: ${CESQL_UNSUPPORTED}`);
}
