/** The keyed work queue: dedupe, one run per key at a time, per-key backoff, forget on success. */
import { WorkQueue, backoffDelay } from '../../../runtime/controller/queue';

test.each([
  [0, 0], [1, 100], [2, 200], [3, 400], [5, 1600], [10, 5000], [1000, 5000],
])('backoff after %i failures is %i ms (base 100, max 5000)', (failures, delay) => {
  expect(backoffDelay(failures, 100, 5000)).toBe(delay);
});

test('adding a waiting key again replaces its item: one run with the latest', async () => {
  const seen: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const queue = new WorkQueue<string>(async (key, item) => {
    if (key === 'blocker') await gate;
    seen.push(`${key}=${item}`);
  }, { concurrency: 1 });
  queue.add('blocker', 'b');
  queue.add('k', 'v1');
  queue.add('k', 'v2');
  queue.add('k', 'v3');
  release();
  await queue.idle();
  expect(seen).toEqual(['blocker=b', 'k=v3']);
});

test('a key added while it runs runs again afterwards, never twice at once', async () => {
  let running = 0;
  let maxRunning = 0;
  const seen: string[] = [];
  const queue = new WorkQueue<number>(async (_key, item) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((r) => setTimeout(r, 20));
    seen.push(String(item));
    running--;
  }, { concurrency: 4 });
  queue.add('k', 1);
  await new Promise((r) => setTimeout(r, 5));
  queue.add('k', 2);
  await queue.idle();
  expect(seen).toEqual(['1', '2']);
  expect(maxRunning).toBe(1);
});

test('a failing key is retried with growing backoff and forgotten on success; other keys are not held up', async () => {
  const attempts: number[] = [];
  const retries: number[] = [];
  let n = 0;
  const done: string[] = [];
  const queue = new WorkQueue<string>(async (key) => {
    if (key === 'flaky') {
      attempts.push(Date.now());
      if (++n < 3) throw new Error(`boom ${n}`);
    }
    done.push(key);
  }, { baseDelayMs: 30, maxDelayMs: 1000, onError: (_k, _e, attempt, retryInMs) => retries.push(attempt * 10000 + retryInMs) });
  queue.add('flaky', 'x');
  queue.add('other', 'y');
  await queue.idle();
  expect(done).toEqual(['other']);
  expect(queue.failuresOf('flaky')).toBe(1);
  for (let i = 0; i < 200 && !done.includes('flaky'); i++) await new Promise((r) => setTimeout(r, 10));
  expect(done).toEqual(['other', 'flaky']);
  expect(retries).toEqual([10030, 20060]);
  expect(queue.failuresOf('flaky')).toBe(0);
  // The second retry waited at least the doubled delay.
  expect(attempts[2] - attempts[1]).toBeGreaterThanOrEqual(55);
});

test('clear drops waiting work and pending retries', async () => {
  const seen: string[] = [];
  const queue = new WorkQueue<string>(async (key) => {
    seen.push(key);
    throw new Error('always');
  }, { baseDelayMs: 20 });
  queue.add('k', 'v');
  await queue.idle();
  queue.clear();
  await new Promise((r) => setTimeout(r, 80));
  expect(seen).toEqual(['k']);
  expect(queue.size).toBe(0);
});
