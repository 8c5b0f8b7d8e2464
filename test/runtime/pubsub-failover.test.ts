/**
 * The delivery guarantee through Google Cloud Pub/Sub with real processes: Google's real
 * Pub/Sub emulator, an `event-mesh adapter` and an `event-mesh dispatcher` process on
 * `--channel pubsub`, a real subscriber. The dispatcher is SIGKILLed in the middle of 5,000
 * events and restarted while the load goes on: every event the adapter answered 2xx reaches
 * the subscriber at least once. Duplicates are allowed (at least once) and reported.
 */
import { expectAllDelivered, runLoad, startMesh, type Mesh } from '../support/mesh-processes';
import { startPubSubEmulator, type PubSubEmulatorHandle } from '../support/pubsub-emulator';

jest.setTimeout(600_000);
const COUNT = 5000;
const KILL_AT = Math.floor(COUNT / 3);

describe('Pub/Sub channel, separate adapter and dispatcher processes', () => {
  let emulator: PubSubEmulatorHandle;
  let mesh: Mesh | undefined;
  beforeAll(async () => {
    emulator = await startPubSubEmulator();
  }, 120_000);
  afterAll(async () => {
    await mesh?.stop();
    await emulator?.stop();
  });

  test('SIGKILL of the dispatcher in the middle of 5,000 events: every 2xx event is delivered', async () => {
    mesh = await startMesh('', {
      channel: {
        args: ['--channel', 'pubsub', '--pubsub-project', emulator.projectId],
        env: { PUBSUB_EMULATOR_HOST: emulator.host },
      },
    });
    const m = mesh;
    let killed = false;
    let restarted: Promise<unknown> | undefined;
    let deliveredBeforeKill = 0;
    const load = await runLoad(m.adapterUrl, {
      count: COUNT,
      prefix: 'pubsub-kill-dispatcher',
      perEventDeadlineMs: 120_000,
      onAck: async (n) => {
        if (n === KILL_AT && !killed) {
          killed = true;
          deliveredBeforeKill = m.subscriber.accepted.length;
          m.dispatcher.kill('SIGKILL');
          await m.dispatcher.exited();
          // Restarted while the load goes on.
          restarted = m.startDispatcher();
        }
      },
    });
    await restarted;
    expect(killed).toBe(true);
    // The kill really hit mid-stream: some events were through, many were not yet.
    expect(deliveredBeforeKill).toBeGreaterThan(0);
    expect(deliveredBeforeKill).toBeLessThan(COUNT);
    expect(load.acked.size).toBe(COUNT);
    const { missing, duplicates } = await expectAllDelivered(m.subscriber, load.acked, 300_000);
    expect(missing).toEqual([]);
    // eslint-disable-next-line no-console
    console.log(`pubsub dispatcher SIGKILL: ${load.acked.size} events answered 2xx, all delivered, ${duplicates} duplicate deliveries, ${deliveredBeforeKill} delivered before the kill; other answers ${JSON.stringify([...load.statuses])}`);
  });
});
