// Prints the mutation score of each module from the StrykerJS JSON reports in
// reports/mutation/ (killed + timeout over all valid mutants, as Stryker counts it).
import { existsSync, readFileSync } from 'node:fs';

const names = process.argv.slice(2);
for (const name of names) {
  const file = `reports/mutation/${name}.json`;
  if (!existsSync(file)) {
    console.log(`${name}: no report (run npm run mutate -- ${name})`);
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const count = {};
  for (const f of Object.values(report.files)) for (const m of f.mutants) count[m.status] = (count[m.status] ?? 0) + 1;
  const detected = (count.Killed ?? 0) + (count.Timeout ?? 0);
  const undetected = (count.Survived ?? 0) + (count.NoCoverage ?? 0);
  const score = detected + undetected === 0 ? 100 : (100 * detected) / (detected + undetected);
  console.log(`${name}: ${score.toFixed(1)} % (${detected} killed or timed out, ${count.Survived ?? 0} survived, ${count.NoCoverage ?? 0} not covered, ${(count.CompileError ?? 0)} compile errors, ${count.Ignored ?? 0} ignored)`);
}
