/**
 * Unknown-field checking for built-in and Knative kinds (pure apart from reading the model
 * libraries' type declarations). The published models (`kubernetes-models`,
 * `@kubernetes-models/knative`) validate values but accept any extra field, which the API
 * server refuses (strict field validation, kubectl's default). Their type declarations are
 * generated from the same OpenAPI schemas, so they name every field an object may have: this
 * walks an object along the model's declared type with the TypeScript checker and reports
 * each field the type does not declare. As the API server does, it accepts anything where
 * the schema is free-form: string-keyed maps (labels, annotations, `data`, selectors),
 * int-or-string and quantities, and untyped JSON (x-kubernetes-preserve-unknown-fields).
 *
 *   unknownFieldProblems({ apiVersion: 'apps/v1', kind: 'Deployment', spec: { replica: 1 } })
 *   // ['spec.replica is not a field of Deployment (did you mean replicas?)']
 */
import ts from 'typescript';

let program: ts.Program | undefined;
const roots = new Set<string>();
const kindTypes = new Map<string, ts.Type | null>();

/** The declaration file of a model class (`…/apps/v1/Deployment.d.ts`), if the library has one. */
function declarationFile(modulePath: string, kind: string): string | undefined {
  try {
    const js = require.resolve(`${modulePath}/${kind}`);
    return js.replace(/\.js$/, '.d.ts');
  } catch {
    return undefined;
  }
}

function checkerWith(file: string): ts.TypeChecker {
  if (!roots.has(file) || !program) {
    roots.add(file);
    program = ts.createProgram({
      rootNames: [...roots],
      options: { noEmit: true, skipLibCheck: true, types: [], strict: true, moduleResolution: ts.ModuleResolutionKind.Node10, target: ts.ScriptTarget.ES2022 },
      oldProgram: program,
    });
  }
  return program.getTypeChecker();
}

/** The declared type `I<Kind>` of a model, or null when the library does not declare it. */
function kindType(modulePath: string, kind: string): { type: ts.Type; checker: ts.TypeChecker } | null {
  const key = `${modulePath}/${kind}`;
  const file = declarationFile(modulePath, kind);
  if (!file) return null;
  const checker = checkerWith(file);
  let type = kindTypes.get(key);
  if (type === undefined) {
    const source = program!.getSourceFile(file);
    const symbol = source && checker.getSymbolAtLocation(source);
    const exported = symbol && checker.getExportsOfModule(symbol).find((s) => s.name === `I${kind}`);
    type = exported ? checker.getDeclaredTypeOfSymbol(exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported) : null;
    kindTypes.set(key, type);
  }
  return type ? { type, checker } : null;
}

/**
 * Fields of Knative v1 that `@kubernetes-models/knative` 2.x (its last line for Node 20)
 * predates: accepted where Knative's own CRDs accept them, unchecked below. Matched on the
 * field path with array indexes dropped; `*.delivery.x` matches a DeliverySpec anywhere.
 */
const KNATIVE_ADDITIONS: readonly string[] = [
  'spec.filters', // Trigger: the Subscriptions API filters (Knative 1.x)
  '*.delivery.timeout', // DeliverySpec.timeout
  '*.delivery.retryAfterMax', // DeliverySpec.retryAfterMax
  '*.delivery.format', // DeliverySpec.format
  '*.subscriber.CACerts', // Destination.CACerts (Knative 1.12)
  '*.subscriber.audience', // Destination.audience (Knative 1.13)
  '*.deadLetterSink.CACerts',
  '*.deadLetterSink.audience',
  '*.reply.CACerts',
  '*.reply.audience',
];

function isAddition(modulePath: string, at: string): boolean {
  if (!modulePath.startsWith('@kubernetes-models/knative/')) return false;
  const plain = at.replace(/\[\d+\]/g, '');
  return KNATIVE_ADDITIONS.some((a) => (a.startsWith('*.') ? plain.endsWith(a.slice(1)) : plain === a));
}

const FREE = ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.NonPrimitive;
const PRIMITIVE = ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.BigIntLike | ts.TypeFlags.Null;

function closest(name: string, known: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const d = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0];
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = d[j];
        d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
        prev = cur;
      }
    }
    return d[b.length];
  };
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dd = distance(name, k);
    if (dd < bestD) [best, bestD] = [k, dd];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function walk(value: unknown, type: ts.Type, where: string, kind: string, checker: ts.TypeChecker, problems: string[], modulePath: string): void {
  if (value === null || value === undefined) return;
  if (type.flags & FREE) return;
  if (type.isUnion()) {
    const parts = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
    if (typeof value !== 'object') return; // a primitive: value checks are the model's job
    const objects = parts.filter((t) => !(t.flags & PRIMITIVE));
    if (objects.length === 1) walk(value, objects[0], where, kind, checker, problems, modulePath);
    return; // several object shapes (or none): leave it to the model's own validation
  }
  if (typeof value !== 'object') return;
  if (Array.isArray(value)) {
    const element = type.getNumberIndexType();
    if (element) value.forEach((v, i) => walk(v, element, `${where}[${i}]`, kind, checker, problems, modulePath));
    return;
  }
  const mapValues = type.getStringIndexType();
  if (mapValues) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(v, mapValues, `${where}.${k}`, kind, checker, problems, modulePath);
    return;
  }
  const props = checker.getPropertiesOfType(type);
  // `{}` / `object`: a free-form map or untyped JSON in the schema.
  if (props.length === 0) return;
  const known = props.map((p) => p.name);
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const prop = props.find((p) => p.name === k);
    const at = where ? `${where}.${k}` : k;
    if (!prop) {
      if (isAddition(modulePath, at)) continue;
      const hint = closest(k, known);
      problems.push(`${at} is not a field of ${kind}${hint ? ` (did you mean ${hint}?)` : ''}`);
      continue;
    }
    const decl = prop.valueDeclaration ?? prop.declarations?.[0];
    if (!decl) continue;
    walk(v, checker.getTypeOfSymbolAtLocation(prop, decl), at, kind, checker, problems, modulePath);
  }
}

/**
 * Fields of `obj` that its model's declared type does not have ([] when there are none),
 * or undefined when no model declares `kind` in `modulePath` (the caller decides).
 */
export function unknownFieldProblems(obj: { kind: string; [key: string]: unknown }, modulePath: string): string[] | undefined {
  const found = kindType(modulePath, obj.kind);
  if (!found) return undefined;
  const problems: string[] = [];
  walk(obj, found.type, '', obj.kind, found.checker, problems, modulePath);
  return problems;
}
