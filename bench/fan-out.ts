/**
 * Fan-out benchmark (I/O): one broker with N Triggers, each matching 1/N of the event
 * types (an exact `type` filter), M events stored on the broker's topic; how fast the
 * dispatcher delivers them all, its peak RSS and the NATS consumer count. Every N gets a
 * fresh nats-server and dispatcher process; the subscriber is the bench sink.
 * BENCH_DISPATCHER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") go to the dispatcher's node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, Chart } from 'cdk8s';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { EventMesh } from '../constructs';
import { brokerRetryTopic, brokerTopic } from '../constructs/api';
import { JetStreamChannel, streamNameFor } from '../runtime/channel/jetstream';
import { startNatsServer } from '../test/support/nats-server';

export interface FanOutResult {
  readonly triggers: number;
  readonly events: number;
  readonly deliveredPerSecond: number;
  readonly dispatcherPeakRssMb: number;
  readonly natsConsumers: number;
  /** Seconds from starting the dispatcher until every Trigger's consumer existed. */
  readonly startupSeconds: number;
}

export interface FanOutDeps {
  readonly cli: string;
  readonly freePort: () => Promise<number>;
  readonly waitReady: (url: string, timeoutMs?: number) => Promise<void>;
  readonly stop: (child: ChildProcess) => Promise<void>;
  readonly sinkUrl: string;
  readonly sinkStats: (phase: string) => Promise<{ unique: number; lastAt: number }>;
}

const NAMESPACE = 'fan';

function writeRouting(dir: string, triggers: number, sinkUrl: string): void {
  const app = new App({ outdir: dir });
  const chart = new Chart(app, 'fan');
  new EventMesh(chart, 'Mesh', {
    namespaces: [NAMESPACE],
    triggers: Array.from({ length: triggers }, (_, i) => ({
      name: `t${i}`,
      namespace: NAMESPACE,
      filter: { type: `fan.t${i}` },
      subscriber: { uri: sinkUrl },
      delivery: { ordering: 'parallel' as const, maxInFlight: 64 },
    })),
  });
  fs.writeFileSync(path.join(dir, 'fan.yaml'), app.synthYaml());
}

function peakRssMb(pid: number | undefined): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return 0;
  }
}

async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`fan-out: ${what} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function fanOut(triggers: number, events: number, deps: FanOutDeps): Promise<FanOutResult> {
  const nats = await startNatsServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'event-mesh-fan-'));
  let dispatcher: ChildProcess | undefined;
  const channel = new JetStreamChannel({ servers: nats.url });
  const nc = await connect({ servers: nats.url });
  try {
    writeRouting(dir, triggers, deps.sinkUrl);
    const topic = brokerTopic(NAMESPACE, 'default');
    const port = await deps.freePort();
    const started = Date.now();
    dispatcher = spawn(process.execPath, [...(process.env.BENCH_DISPATCHER_NODE_ARGS ?? '').split(' ').filter(Boolean), deps.cli, 'dispatcher'], {
      env: { ...process.env, LOG_LEVEL: 'warn', EVENT_MESH_CHANNEL: 'nats', NATS_URL: nats.url, ROUTING_DIR: dir, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await deps.waitReady(`http://127.0.0.1:${port}/readyz`, 120_000);
    const jsm = await jetstreamManager(nc);
    const countOn = async (t: string) => {
      try {
        return (await jsm.streams.info(streamNameFor(t))).state.consumer_count;
      } catch {
        return 0;
      }
    };
    // The broker's fan-out consumer, and each Trigger's consumer of parked events.
    const consumers = async () => (await countOn(topic)) + (await countOn(brokerRetryTopic(NAMESPACE, 'default')));
    await until(async () => (await countOn(topic)) >= 1 && (await countOn(brokerRetryTopic(NAMESPACE, 'default'))) >= triggers, 180_000, `${triggers} consumers not created`);
    const startupSeconds = (Date.now() - started) / 1000;

    await channel.connect();
    const phase = `fan${triggers}`;
    const data = { filler: 'x'.repeat(900) };
    const t0 = Date.now();
    const window = 512;
    let next = 0;
    const publishOne = async (): Promise<void> => {
      while (next < events) {
        const k = next++;
        const event = { specversion: '1.0', id: `${phase}.${k}`, source: 'bench', type: `fan.t${k % triggers}`, datacontenttype: 'application/json', data };
        await channel.publish(topic, Buffer.from(JSON.stringify(event)), event);
      }
    };
    await Promise.all(Array.from({ length: window }, publishOne));
    let stats = await deps.sinkStats(phase);
    const end = Date.now() + 300_000;
    while (stats.unique < events) {
      if (Date.now() > end) throw new Error(`fan-out ${triggers}: ${stats.unique} of ${events} delivered after 300 s`);
      await new Promise((r) => setTimeout(r, 100));
      stats = await deps.sinkStats(phase);
    }
    const elapsed = Math.max(1, stats.lastAt - t0);
    return {
      triggers,
      events,
      deliveredPerSecond: Math.round((events / elapsed) * 1000),
      dispatcherPeakRssMb: peakRssMb(dispatcher.pid),
      natsConsumers: await consumers(),
      startupSeconds,
    };
  } finally {
    await channel.close();
    await nc.close();
    if (dispatcher) await deps.stop(dispatcher);
    await nats.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
