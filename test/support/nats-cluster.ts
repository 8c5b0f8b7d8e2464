/**
 * A real 3-node (or n-node) JetStream cluster on loopback for failover tests (I/O): each
 * node a nats-server process with its own client, route and monitoring port and store,
 * routes to all the others; resolves once JetStream answers with a meta leader.
 *
 *   const cluster = await startNatsCluster(3);
 *   cluster.urls.join(',')            // NATS_URL for the runtime
 *   await cluster.nodes[1].kill();    // SIGKILL one node
 *   await cluster.stop();
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort, startNatsServer } from './nats-server';
import type { NatsServerHandle } from './nats-server';

export interface ClusterNode extends NatsServerHandle {
  readonly name: string;
  readonly monitorPort: number;
}

export interface NatsCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's client URL. */
  readonly urls: readonly string[];
  /** The node whose server name is `name`. */
  node(name: string): ClusterNode | undefined;
  /** Names of the nodes a connection named `connectionName` is attached to (monitoring /connz). */
  connectedNodes(connectionName: string): Promise<string[]>;
  /** The server name leading the stream, from the stream info's cluster block. */
  streamLeader(stream: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })));
  const nodes = await Promise.all(
    ports.map(async (p, i) => {
      const name = `n${i}`;
      const routes = ports.filter((_, j) => j !== i).map((q) => `nats://127.0.0.1:${q.route}`).join(',');
      const server = await startNatsServer({ port: p.client, args: ['-n', name, '--cluster_name', 'event-mesh-test', '--cluster', `nats://127.0.0.1:${p.route}`, '--routes', routes, '-m', String(p.monitor)] });
      return Object.assign(server, { name, monitorPort: p.monitor }) as ClusterNode;
    }),
  );
  const urls = nodes.map((n) => n.url);
  // JetStream in a cluster answers only once a meta leader is elected.
  const nc = await connect({ servers: urls as string[], maxReconnectAttempts: -1 });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        await jsm.getAccountInfo();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the JetStream cluster did not elect a leader within 30 s: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await nc.close();
  }
  const monitor = async (node: ClusterNode, path: string): Promise<unknown> => {
    const res = await fetch(`http://127.0.0.1:${node.monitorPort}${path}`);
    return res.json();
  };
  return {
    nodes,
    urls,
    node: (name) => nodes.find((n) => n.name === name),
    async connectedNodes(connectionName) {
      const out: string[] = [];
      for (const n of nodes) {
        if (!n.running()) continue;
        const connz = (await monitor(n, '/connz?limit=1024')) as { connections?: { name?: string }[] };
        if ((connz.connections ?? []).some((c) => c.name === connectionName)) out.push(n.name);
      }
      return out;
    },
    async streamLeader(stream) {
      const nc2 = await connect({ servers: nodes.filter((n) => n.running()).map((n) => n.url) });
      try {
        const jsm = await jetstreamManager(nc2);
        return (await jsm.streams.info(stream)).cluster?.leader;
      } finally {
        await nc2.close();
      }
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
