/**
 * Finds every regular expression in TypeScript sources (I/O: reads files; the analysis is
 * the TypeScript parser's): regex literals, and `new RegExp(…)` / `RegExp(…)` whose pattern
 * is a string built from literals and same-file `const` strings (template literals
 * included). A RegExp whose pattern cannot be worked out that way is reported as such, so
 * a ReDoS check over the result cannot silently skip it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

export interface FoundRegex {
  /** `path:line` relative to the root. */
  readonly where: string;
  readonly source: string;
  readonly flags: string;
}

export interface RegexScan {
  readonly found: FoundRegex[];
  /** `path:line: why` for RegExp constructions whose pattern is not static. */
  readonly unresolved: string[];
}

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) tsFiles(full, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

export function scanRegexes(root: string, dirs: readonly string[]): RegexScan {
  const found: FoundRegex[] = [];
  const unresolved: string[] = [];
  for (const dir of dirs) {
    for (const file of tsFiles(path.join(root, dir))) {
      const text = readFileSync(file, 'utf8');
      const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
      const rel = path.relative(root, file);
      const consts = new Map<string, ts.Expression>();
      const collect = (node: ts.Node) => {
        if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && ts.isVariableDeclarationList(node.parent) && (node.parent.flags & ts.NodeFlags.Const) !== 0) {
          consts.set(node.name.text, node.initializer);
        }
        ts.forEachChild(node, collect);
      };
      collect(sf);
      const evaluate = (e: ts.Expression, seen: Set<string>): string | undefined => {
        if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return e.text;
        if (ts.isParenthesizedExpression(e)) return evaluate(e.expression, seen);
        if (ts.isTemplateExpression(e)) {
          let s = e.head.text;
          for (const span of e.templateSpans) {
            const v = evaluate(span.expression, seen);
            if (v === undefined) return undefined;
            s += v + span.literal.text;
          }
          return s;
        }
        if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) {
          const l = evaluate(e.left, seen);
          const r = evaluate(e.right, seen);
          return l === undefined || r === undefined ? undefined : l + r;
        }
        if (ts.isIdentifier(e) && consts.has(e.text) && !seen.has(e.text)) return evaluate(consts.get(e.text)!, new Set([...seen, e.text]));
        if (ts.isRegularExpressionLiteral(e)) return undefined;
        return undefined;
      };
      const line = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
      const visit = (node: ts.Node) => {
        if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
          const lit = node.getText(sf);
          const end = lit.lastIndexOf('/');
          found.push({ where: `${rel}:${line(node)}`, source: lit.slice(1, end), flags: lit.slice(end + 1) });
        } else if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
          const [pattern, flags] = node.arguments ?? [];
          const source = pattern ? evaluate(pattern, new Set()) : '';
          const flagText = flags ? evaluate(flags, new Set()) : '';
          if (source === undefined || flagText === undefined) unresolved.push(`${rel}:${line(node)}: the pattern of ${node.getText(sf).slice(0, 80)} is not built from string constants`);
          else found.push({ where: `${rel}:${line(node)}`, source, flags: flagText });
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
  }
  return { found, unresolved };
}
