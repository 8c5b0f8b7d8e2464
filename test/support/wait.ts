/** Polling helpers for tests (no wall-clock assertions: wait for a condition, with a generous bound). */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolve once `cond` holds, checked every 25 ms; throw naming `what` after `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
