/**
 * CPU time of the bench's processes (Linux /proc), so a phase's figure comes with where
 * the cores went: microseconds of CPU per event for each process of the mesh and for the
 * bench's own load generator and subscriber, which share the same cores.
 */
import fs from 'node:fs';

/** user + system CPU milliseconds of `pid` so far (all its threads); undefined off Linux or once it exited. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** Linux's USER_HZ, 100 on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU so far of each named process, to subtract later (`cpuSince`). */
export function cpuSnapshot(pids: Record<string, number | undefined>): Record<string, number | undefined> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuMs(pid)]));
}

/** Microseconds of CPU per event of each process since `before`; processes not measurable are left out. */
export function cpuPerEventUs(pids: Record<string, number | undefined>, before: Record<string, number | undefined>, events: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const start = before[name];
    const end = processCpuMs(pid);
    if (start === undefined || end === undefined || events <= 0) continue;
    out[name] = Math.round(((end - start) * 1000) / events);
  }
  return out;
}
