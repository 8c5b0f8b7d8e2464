/**
 * The channel factory loads kafkajs and @google-cloud/pubsub only when their channel is
 * picked (lazy import()). Checked in a fresh Node process on the built lib/ (npm test's
 * pretest builds it), where require.cache shows what was loaded.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const factory = path.resolve(__dirname, '../../lib/runtime/channel/factory.js');

function loadedAfterCreating(kind: string): string[] {
  const script = `
    const { createChannel } = require(${JSON.stringify(factory)});
    createChannel(${JSON.stringify({ kind, kafka: { brokers: ['127.0.0.1:1'] }, pubsub: { projectId: 'p', emulatorHost: '127.0.0.1:1' } })}).then(() => {
      const heavy = Object.keys(require.cache).map((k) => (k.match(/node_modules[\\\\/](kafkajs|@google-cloud[\\\\/]pubsub)[\\\\/]/) || [])[1]).filter(Boolean);
      process.stdout.write(JSON.stringify([...new Set(heavy.map((h) => h.replace(/\\\\/g, '/')))]));
      process.exit(0);
    });`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

test('creating an in-memory or a NATS channel loads neither kafkajs nor @google-cloud/pubsub', () => {
  expect(loadedAfterCreating('inmemory')).toEqual([]);
  expect(loadedAfterCreating('nats')).toEqual([]);
});

test('each heavy client loads when its channel is picked (so the check above can fail)', () => {
  expect(loadedAfterCreating('kafka')).toEqual(['kafkajs']);
  expect(loadedAfterCreating('pubsub')).toEqual(['@google-cloud/pubsub']);
});
