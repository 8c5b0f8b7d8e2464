/** The CI summary (scripts/test-summary.js) lists every case that did not run, by name and why. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { summary } = require('../../scripts/test-summary.js') as { summary: (r: unknown) => string[] };

test('each todo and skipped case is listed by name, then the counts', () => {
  const report = {
    numPassedTests: 2,
    numFailedTests: 1,
    testResults: [
      {
        assertionResults: [
          { ancestorTitles: ['Channel contract: kafka'], title: 'publish → consume [not run: KAFKA_BROKERS not set]', status: 'todo' },
          { ancestorTitles: ['Channel contract: kafka'], title: 'durable [not run: KAFKA_BROKERS not set]', status: 'todo' },
          { ancestorTitles: ['Channel contract: kafka'], title: 'maxAge [skipped: the kafka channel has no such feature]', status: 'pending' },
          { ancestorTitles: ['x'], title: 'passes', status: 'passed' },
          { ancestorTitles: ['x'], title: 'fails', status: 'failed' },
        ],
      },
    ],
  };
  expect(summary(report)).toEqual([
    'not run: Channel contract: kafka › publish → consume [not run: KAFKA_BROKERS not set]',
    'not run: Channel contract: kafka › durable [not run: KAFKA_BROKERS not set]',
    'skipped: Channel contract: kafka › maxAge [skipped: the kafka channel has no such feature]',
    '2 passed, 1 failed, 2 not run, 1 skipped',
  ]);
});
