import type { IConstruct } from 'constructs';

/**
 * Every configuration error says what is wrong (with the offending value), how to fix it,
 * and where: the construct path, so a mistake deep inside a user's Chart is easy to find.
 */
export function configError(scope: IConstruct, problem: string, fix: string): Error {
  return new Error(`${problem}; ${fix} (at ${scope.node.path})`);
}

/** Quote a user-supplied value for an error message, whatever its type. */
export function shown(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

/** Turn validateTriggerSpec-style problems into one error that lists every one of them. */
export function specError(scope: IConstruct, subject: string, problems: readonly { field: string; message: string }[]): Error {
  const list = problems.map((p) => p.message).join('; ');
  return configError(scope, `${subject}: ${list}`, `fix ${problems.length === 1 ? 'that field' : 'those fields'} in the props`);
}
