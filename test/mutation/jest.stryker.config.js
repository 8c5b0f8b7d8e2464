/**
 * jest as StrykerJS runs it (config only): the project's jest config with the module's
 * test list set by stryker.config.mjs, one worker per Stryker test runner.
 */
const base = require('../../jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  rootDir: '../..',
  maxWorkers: 1,
};
