#!/usr/bin/env node
/**
 * The closing lines of a CI run, from jest's JSON report (`jest --json --outputFile=…`):
 * each case that did not run, by name and why (todo cases carry "[not run: <why>]" in their
 * name; skipped ones say "skipped"), then one count line. Pure apart from reading the file.
 *
 *   node scripts/test-summary.js results.json
 */
const { readFileSync } = require('node:fs');

function summary(report) {
  const lines = [];
  let notRun = 0;
  let skipped = 0;
  for (const file of report.testResults ?? []) {
    for (const a of file.assertionResults ?? []) {
      const name = [...(a.ancestorTitles ?? []), a.title].join(' › ');
      if (a.status === 'todo') {
        notRun++;
        lines.push(`not run: ${name}`);
      } else if (a.status === 'pending' || a.status === 'skipped' || a.status === 'disabled') {
        skipped++;
        lines.push(`skipped: ${name}`);
      }
    }
  }
  lines.push(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${notRun} not run, ${skipped} skipped`);
  return lines;
}

if (require.main === module) {
  const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  for (const line of summary(report)) console.log(line);
}

module.exports = { summary };
