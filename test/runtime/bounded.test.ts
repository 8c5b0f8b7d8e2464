/** forEachBounded: every item once, never more than `limit` at once, failures after all settle. */
import { forEachBounded } from '../../runtime/dispatcher/bounded';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('forEachBounded', () => {
  it('runs every item once with at most `limit` in flight, and uses the limit when there is work for it', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachBounded(Array.from({ length: 50 }, (_, i) => i), 4, async (i) => {
      most = Math.max(most, ++inFlight);
      await tick();
      seen.push(i);
      inFlight--;
    });
    expect(most).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('takes any iterable (a Map, as the dispatcher passes) and starts items in order', async () => {
    const started: string[] = [];
    await forEachBounded(new Map([['a', 1], ['b', 2], ['c', 3]]), 2, async ([k]) => {
      started.push(k);
      await tick();
    });
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it('a failing item does not stop the others; the first failure is thrown once all have settled', async () => {
    const done: number[] = [];
    const run = forEachBounded([1, 2, 3, 4, 5], 2, async (i) => {
      await tick();
      if (i === 2 || i === 4) throw new Error(`item ${i} failed`);
      done.push(i);
    });
    await expect(run).rejects.toThrow('item 2 failed');
    expect(done.sort()).toEqual([1, 3, 5]);
  });

  it('refuses a limit that is not a whole number of at least 1, naming it', async () => {
    await expect(forEachBounded([1], 0, async () => undefined)).rejects.toThrow('limit must be a whole number of at least 1, got 0');
    await expect(forEachBounded([1], 1.5, async () => undefined)).rejects.toThrow('got 1.5');
  });
});
