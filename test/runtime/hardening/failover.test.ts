/**
 * The delivery guarantees with real processes: adapter and dispatcher each an
 * `event-mesh` process, real nats-servers, a real subscriber. Every event the adapter
 * answered 2xx must reach the subscriber at least once when the dispatcher is SIGKILLed
 * mid-stream, when nats-server restarts mid-stream (503 + Retry-After meanwhile, never a
 * 2xx while it is down), and when a node of a 3-node JetStream cluster (streams with 3
 * replicas) is SIGKILLed: a follower, and the node the clients are connected to.
 * Duplicates are allowed (at least once) and reported.
 */
import { streamNameFor } from '../../../runtime/channel/jetstream';
import { brokerTopic, channelTopic } from '../../../constructs/api';
import { startNatsCluster } from '../../support/nats-cluster';
import type { NatsCluster } from '../../support/nats-cluster';
import { startNatsServer } from '../../support/nats-server';
import type { NatsServerHandle } from '../../support/nats-server';
import { APPLICATION, expectAllDelivered, runLoad, startMesh } from '../../support/mesh-processes';
import type { Mesh } from '../../support/mesh-processes';

jest.setTimeout(240_000);
const COUNT = 1000;
const KILL_AT = Math.floor(COUNT / 3);
const report = (scenario: string, r: { acked: number; duplicates: number; statuses: Map<number | string, number> }) =>
  // eslint-disable-next-line no-console
  console.log(`${scenario}: ${r.acked} events answered 2xx, all delivered, ${r.duplicates} duplicate deliveries; other answers ${JSON.stringify([...r.statuses])}`);

describe('single nats-server', () => {
  let nats: NatsServerHandle;
  let mesh: Mesh | undefined;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(async () => {
    await mesh?.stop();
    mesh = undefined;
  });
  afterAll(async () => {
    await nats?.stop();
  });

  test('SIGKILL of the dispatcher mid-stream loses no acknowledged event', async () => {
    mesh = await startMesh(nats.url);
    const m = mesh;
    let killed = false;
    const load = await runLoad(m.adapterUrl, {
      count: COUNT,
      prefix: 'kill-dispatcher',
      onAck: async (n) => {
        if (n === KILL_AT && !killed) {
          killed = true;
          m.dispatcher.kill('SIGKILL');
          await m.dispatcher.exited();
          // Restarted while the load goes on.
          void m.startDispatcher();
        }
      },
    });
    expect(killed).toBe(true);
    expect(load.acked.size).toBe(COUNT);
    const { missing, duplicates } = await expectAllDelivered(m.subscriber, load.acked);
    expect(missing).toEqual([]);
    report('dispatcher SIGKILL', { acked: load.acked.size, duplicates, statuses: load.statuses });
  });

  test('nats-server restart mid-stream: 503 with Retry-After meanwhile, no 2xx while down, no acknowledged event lost', async () => {
    mesh = await startMesh(nats.url);
    const m = mesh;
    let downFrom = Infinity;
    let downUntil = -Infinity;
    let restarted: Promise<void> | undefined;
    const okWhileDown: number[] = [];
    const load = await runLoad(m.adapterUrl, {
      count: COUNT,
      prefix: 'restart-nats',
      onAck: (n) => {
        if (n === KILL_AT && !restarted) {
          restarted = (async () => {
            await nats.halt();
            downFrom = Date.now();
            await new Promise((r) => setTimeout(r, 2000));
            downUntil = Date.now();
            await nats.start();
          })();
        }
      },
      onAnswer: (status, sentAt, answeredAt) => {
        if (typeof status === 'number' && status < 300 && sentAt >= downFrom && answeredAt <= downUntil) okWhileDown.push(sentAt);
      },
    });
    await restarted;
    expect(okWhileDown).toEqual([]);
    expect(load.statuses.get(503) ?? 0).toBeGreaterThan(0);
    expect(load.missingRetryAfter).toBe(0);
    expect([...load.statuses.keys()].filter((s) => s !== 503)).toEqual([]);
    expect(load.acked.size).toBe(COUNT);
    const { missing, duplicates } = await expectAllDelivered(m.subscriber, load.acked);
    expect(missing).toEqual([]);
    report('nats-server restart', { acked: load.acked.size, duplicates, statuses: load.statuses });
  });
});

describe('3-node JetStream cluster, streams with 3 replicas', () => {
  let cluster: NatsCluster;
  let mesh: Mesh | undefined;
  beforeEach(async () => {
    cluster = await startNatsCluster(3);
  });
  afterEach(async () => {
    await mesh?.stop();
    mesh = undefined;
    await cluster?.stop();
  });

  const streams = [streamNameFor(channelTopic('kyma-integration', APPLICATION)), streamNameFor(brokerTopic('shop', 'default'))];

  test.each(['a follower', 'the node the adapter is connected to'] as const)('SIGKILL of %s mid-stream loses no acknowledged event', async (which) => {
    mesh = await startMesh(cluster.urls.join(','), { replicas: 3 });
    const m = mesh;
    let victim: string | undefined;
    let killing: Promise<void> | undefined;
    const load = await runLoad(m.adapterUrl, {
      count: COUNT,
      prefix: which.startsWith('a follower') ? 'kill-follower' : 'kill-connected',
      onAck: (n) => {
        if (n !== KILL_AT || killing) return;
        killing = (async () => {
          const leaders = new Set(await Promise.all(streams.map((s) => cluster.streamLeader(s))));
          const clients = new Set([...(await cluster.connectedNodes('event-mesh-adapter')), ...(await cluster.connectedNodes('event-mesh-dispatcher'))]);
          const adapterNode = (await cluster.connectedNodes('event-mesh-adapter'))[0];
          if (which === 'a follower') {
            // Leads no stream of ours; preferably no client on it either (the other case).
            const followers = cluster.nodes.filter((n) => !leaders.has(n.name));
            victim = (followers.find((n) => !clients.has(n.name)) ?? followers[0])?.name;
          } else {
            victim = adapterNode;
          }
          expect(victim).toBeDefined();
          await cluster.node(victim!)!.kill();
        })();
      },
    });
    await killing;
    expect(victim).toBeDefined();
    expect(load.acked.size).toBe(COUNT);
    const { missing, duplicates } = await expectAllDelivered(m.subscriber, load.acked);
    expect(missing).toEqual([]);
    if (which !== 'a follower') expect(await cluster.connectedNodes('event-mesh-adapter')).not.toContain(victim);
    report(`cluster, SIGKILL of ${which} (${victim})`, { acked: load.acked.size, duplicates, statuses: load.statuses });
  });
});
