// StrykerJS mutation testing of the modules that carry the mesh's guarantees (see
// docs/guarantees.md, "Mutation testing"). Not part of CI's default run: `npm run mutate`
// runs the modules one after the other (scripts/mutate.sh), `npm run mutate -- filters`
// one of them. MUTATE_MODULE picks the module; each module has its own test list and its
// own committed incremental file, so a re-run only tests mutants whose code or tests changed.
import { modules } from './test/mutation/modules.mjs';

const name = process.env.MUTATE_MODULE ?? 'filters';
const mod = modules[name];
if (!mod) throw new Error(`MUTATE_MODULE=${name} is not a scoped module: use one of ${Object.keys(modules).join(', ')}`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: {
    projectType: 'custom',
    configFile: 'test/mutation/jest.stryker.config.js',
    // Only this module's test files run (the dry run runs them all once).
    config: { testMatch: mod.tests.map((t) => `<rootDir>/${t}`) },
    enableFindRelatedTests: false,
  },
  checkers: ['typescript'],
  // The runtime only: checking a mutant against the whole project (constructs, stacks and
  // their provider typings) took most of a run's time.
  tsconfigFile: 'tsconfig.mutate.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  // MUTATE_FILES=a.ts,b.ts narrows a run to some of the module's files (a shared machine).
  mutate: process.env.MUTATE_FILES ? process.env.MUTATE_FILES.split(',') : mod.mutate,
  // Sized for a shared 2-core machine.
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 2),
  coverageAnalysis: 'perTest',
  // Static mutants (module-level constants) need every test of the module per mutant: about
  // half the time for a fifth of the mutants. They are reported as ignored, not scored.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: `test/mutation/incremental/${name}.json`,
  // Timeouts: the suites wait on real nats-server and HTTP servers; a machine shared with
  // seven others is slow at times.
  timeoutMS: 8_000,
  timeoutFactor: 1.5,
  dryRunTimeoutMinutes: 20,
  reporters: ['clear-text', 'progress-append-only', 'json'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  tempDirName: `.stryker-tmp/${name}`,
  cleanTempDir: 'always',
  ignorePatterns: ['lib', 'lib-bench', 'dist', '.bench', 'reports', 'coverage', '.stryker-tmp'],
  thresholds: { high: 80, low: 60, break: null },
};
