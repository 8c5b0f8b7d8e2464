/**
 * Property-based fuzzing of every ingress endpoint in CI: a few thousand generated
 * requests against a real adapter and broker ingress (see test/support/fuzz-requests.ts).
 * No 5xx, every error a JSON body with a message, nothing invalid or unencodable stored.
 * The seed is printed; `npm run fuzz` runs the same properties 100,000 times or more.
 */
import fc from 'fast-check';
import { checkRequest, closeFuzzAgent, fuzzRequest, startFuzzTargets } from '../../support/fuzz-requests';
import type { FuzzTargets } from '../../support/fuzz-requests';

let targets: FuzzTargets;
beforeAll(async () => {
  targets = await startFuzzTargets();
});
afterAll(async () => {
  await targets?.close();
  await closeFuzzAgent();
});

const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);

// eslint-disable-next-line no-console
console.log(`fuzzing ${RUNS} runs with seed ${SEED} (replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npm run fuzz)`);

test(`${RUNS} generated requests to /events, /v1/events and broker ingress: no 5xx, JSON errors, only valid events stored (seed ${SEED})`, async () => {
  await fc.assert(
    fc.asyncProperty(fuzzRequest, (req) => checkRequest(targets, req)),
    { numRuns: RUNS, seed: SEED },
  );
  // Still serving.
  expect((await fetch(`${targets.adapter.url}/healthz`)).status).toBe(200);
  expect((await fetch(`${targets.dispatcher.url}/healthz`)).status).toBe(200);
}, Math.max(300_000, RUNS * 20));

test('the property can fail: a 5xx is reported as a counterexample', async () => {
  await expect(checkRequest({ ...targets, adapter: { ...targets.adapter, url: 'http://127.0.0.1:1' } } as FuzzTargets, { target: 'adapter', path: '/events', headers: {}, body: Buffer.alloc(0) })).rejects.toThrow();
});
