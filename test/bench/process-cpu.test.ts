/**
 * The bench's CPU accounting reads /proc: a process's CPU grows with the work it does, and
 * per-event figures divide that by the events.
 */
import { cpuPerEventUs, cpuSnapshot, processCpuMs } from '../../bench/process-cpu';

/** Spin until this process has spent `ms` of CPU (wall time varies on a shared machine). */
function burnCpu(ms: number): void {
  const start = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + i);
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) break;
  }
  expect(x).toBeGreaterThan(0);
}

describe('bench process CPU (Linux /proc)', () => {
  it('reads this process CPU, which grows with work done, and agrees with process.cpuUsage()', () => {
    const before = processCpuMs(process.pid)!;
    const usageBefore = process.cpuUsage();
    burnCpu(200);
    const spent = processCpuMs(process.pid)! - before;
    const usage = process.cpuUsage(usageBefore);
    expect(spent).toBeGreaterThanOrEqual(150);
    // Clock ticks are 10 ms: within a few ticks of Node's own figure.
    expect(Math.abs(spent - (usage.user + usage.system) / 1000)).toBeLessThan(40);
  });

  it('per event: microseconds of CPU since the snapshot over the events; a process gone or unknown is left out', () => {
    const pids = { self: process.pid, gone: 2 ** 22 + 12345, none: undefined };
    const usageBefore = process.cpuUsage();
    const before = cpuSnapshot(pids);
    expect(before.self).toBeGreaterThan(0);
    expect(before.gone).toBeUndefined();
    burnCpu(100);
    const perEvent = cpuPerEventUs(pids, before, 1000);
    const usage = process.cpuUsage(usageBefore);
    expect(Object.keys(perEvent)).toEqual(['self']);
    // At least the 100 ms burnt, over 1,000 events; and Node's own figure for the same window
    // (other threads included, which a loaded machine makes larger) over 1,000, within a few
    // 10 ms clock ticks (a tick is 10 µs per event here).
    expect(perEvent.self).toBeGreaterThanOrEqual(70);
    expect(Math.abs(perEvent.self - (usage.user + usage.system) / 1000)).toBeLessThan(40);
    expect(cpuPerEventUs(pids, before, 0)).toEqual({});
  });
});
