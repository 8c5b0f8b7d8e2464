// Re-checks mutants of a Stryker run's report against some jest test files: each mutant is
// applied to its file in the work tree, the tests run against it, and the file is restored.
// A mutant whose tests fail is killed; one whose tests pass survived; one whose tests do not
// finish within --limit seconds hangs the code (a real timeout). Two uses:
// - the run's "Timeout" mutants (the default; they count as detected): on a loaded machine a
//   slow suite can time out with a harmless mutant, and this tells the two apart;
// - `--status Survived,NoCoverage`: whether tests written after the run kill its survivors
//   (a projected score, until the next incremental run measures it).
//
//   node test/mutation/verify-timeouts.mjs <module> <test file>... [--limit 120] [--status Timeout] [--files a.ts,b.ts]
//
// --files keeps to the source files whose path ends with one of the names given.
//
// Prints one line per mutant and a summary. Do not run it while a Stryker run of the same
// files is starting (Stryker copies the work tree into its sandbox when it starts).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const limitAt = args.indexOf('--limit');
const limitS = limitAt >= 0 ? Number(args.splice(limitAt, 2)[1]) : 120;
const statusAt = args.indexOf('--status');
const statuses = new Set((statusAt >= 0 ? args.splice(statusAt, 2)[1] : 'Timeout').split(','));
const filesAt = args.indexOf('--files');
const onlyFiles = filesAt >= 0 ? args.splice(filesAt, 2)[1].split(',') : undefined;
const [name, ...tests] = args;
if (!name || tests.length === 0) throw new Error('usage: verify-timeouts.mjs <module> <test file>... [--limit seconds]');
// The run's report, or (in a fresh clone, where reports/ is not kept) the committed
// incremental file, which holds the same results.
const reportFile = [`reports/mutation/${name}.json`, `test/mutation/incremental/${name}.json`].find((f) => existsSync(f));
if (!reportFile) throw new Error(`no report for ${name}: run \`npm run mutate -- ${name}\` first`);
const report = JSON.parse(readFileSync(reportFile, 'utf8'));

/** Offset of a 1-based line and column in `text`. */
function offset(text, { line, column }) {
  let at = 0;
  for (let l = 1; l < line; l++) at = text.indexOf('\n', at) + 1;
  return at + column - 1;
}

const tally = { killed: 0, survived: 0, hangs: 0 };
for (const [file, f] of Object.entries(report.files)) {
  if (onlyFiles && !onlyFiles.some((n) => file.endsWith(n))) continue;
  const original = readFileSync(file, 'utf8');
  if (original !== f.source) throw new Error(`${file} changed since the run: re-run Stryker instead`);
  for (const m of f.mutants.filter((x) => statuses.has(x.status))) {
    const mutated = original.slice(0, offset(original, m.location.start)) + m.replacement + original.slice(offset(original, m.location.end));
    writeFileSync(file, mutated);
    try {
      const run = spawnSync('npx', ['jest', '--silent', '--forceExit', ...tests], { encoding: 'utf8', timeout: limitS * 1000 });
      const verdict = run.error?.code === 'ETIMEDOUT' || run.signal ? 'hangs' : run.status === 0 ? 'survived' : 'killed';
      tally[verdict]++;
      console.log(`${verdict.padEnd(8)} ${file}:${m.location.start.line} ${m.mutatorName} -> ${JSON.stringify(m.replacement).slice(0, 70)}`);
    } finally {
      writeFileSync(file, original);
    }
  }
}
console.log(`${name}: ${tally.killed} killed, ${tally.survived} survived, ${tally.hangs} hang (of the run's ${[...statuses].join(', ')} mutants)`);
