/**
 * The data plane as separate real processes for guarantee tests (I/O): an `event-mesh
 * adapter` and an `event-mesh dispatcher` process on a routing directory, a recording
 * subscriber, and a load generator that posts events with retries and remembers which
 * ones were answered 2xx (the events the mesh promised to deliver).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { spawnCli } from './cli-process';
import type { CliProcess } from './cli-process';
import { startSubscriber } from './http-subscriber';
import type { Subscriber } from './http-subscriber';
import { freePort } from './nats-server';

export const APPLICATION = 'commerce';

/** Application channel -> Subscription -> Broker shop/default -> Trigger -> `subscriberUrl`. */
export function meshManifests(subscriberUrl: string): object[] {
  return [
    { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: APPLICATION, namespace: 'kyma-integration', labels: { 'event-mesh.dev/application': APPLICATION } } },
    {
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'Subscription',
      metadata: { name: `${APPLICATION}-shop-default`, namespace: 'kyma-integration' },
      spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: APPLICATION }, subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: 'shop' } } },
    },
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: {} },
    {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: 'all', namespace: 'shop' },
      spec: { broker: 'default', subscriber: { uri: subscriberUrl }, delivery: { retry: 20, backoffPolicy: 'linear', backoffDelay: 'PT0.1S', timeout: 'PT5S' } },
    },
  ];
}

export interface Mesh {
  readonly subscriber: Subscriber;
  readonly adapterUrl: string;
  adapter: CliProcess;
  dispatcher: CliProcess;
  startAdapter(): Promise<CliProcess>;
  startDispatcher(): Promise<CliProcess>;
  stop(): Promise<void>;
}

async function waitHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The channel the processes use instead of NATS: its CLI flags and env (e.g. Pub/Sub and its emulator). */
export interface MeshChannel {
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Start subscriber, dispatcher and adapter processes against NATS at `natsUrl` (a list
 * allowed), or, with `options.channel`, on that channel.
 */
export async function startMesh(natsUrl: string, options: { replicas?: number; channel?: MeshChannel } = {}): Promise<Mesh> {
  const subscriber = await startSubscriber();
  const dir = mkdtempSync(path.join(tmpdir(), 'mesh-routing-'));
  writeFileSync(path.join(dir, 'routing.yaml'), meshManifests(subscriber.url).map((o) => stringify(o)).join('---\n'));
  const adapterPort = await freePort();
  const dispatcherPort = await freePort();
  const channelArgs = options.channel?.args ?? ['--nats-url', natsUrl, '--stream-replicas', String(options.replicas ?? 1)];
  const common = [...channelArgs, '--shutdown-grace', '1s', '--host', '127.0.0.1'];
  const env = { LOG_LEVEL: 'warn', ...options.channel?.env };
  const mesh: Mesh = {
    subscriber,
    adapterUrl: `http://127.0.0.1:${adapterPort}`,
    adapter: undefined as unknown as CliProcess,
    dispatcher: undefined as unknown as CliProcess,
    async startDispatcher() {
      mesh.dispatcher = spawnCli(['dispatcher', '--routing', dir, '--port', String(dispatcherPort), '--ack-wait', '2s', ...common], env);
      await waitHttp(`http://127.0.0.1:${dispatcherPort}/readyz`);
      return mesh.dispatcher;
    },
    async startAdapter() {
      mesh.adapter = spawnCli(['adapter', '--application', APPLICATION, '--auth', 'none', '--port', String(adapterPort), ...common], env);
      await waitHttp(`${mesh.adapterUrl}/readyz`);
      return mesh.adapter;
    },
    async stop() {
      for (const p of [mesh.adapter, mesh.dispatcher]) {
        if (!p || p.child.exitCode !== null || p.child.signalCode !== null) continue;
        p.kill('SIGKILL');
        await p.exited();
      }
      await subscriber.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Triggers first: the dispatcher creates the consumers before any event arrives.
  await mesh.startDispatcher();
  await mesh.startAdapter();
  return mesh;
}

export interface LoadResult {
  /** Ids answered 2xx. */
  readonly acked: Set<string>;
  /** Statuses seen (other than 2xx), e.g. 503 while NATS is down. */
  readonly statuses: Map<number | string, number>;
  /** 503 answers without Retry-After. */
  readonly missingRetryAfter: number;
}

export interface LoadOptions {
  readonly count: number;
  readonly concurrency?: number;
  readonly prefix: string;
  /** Called after each 2xx (for example to kill something halfway). */
  readonly onAck?: (ackedSoFar: number) => void | Promise<void>;
  /** Called per answer with the time it was sent and answered (to check "no 2xx while down"). */
  readonly onAnswer?: (status: number | string, sentAt: number, answeredAt: number) => void;
  /** Give up on one event after this long. @default 60000 */
  readonly perEventDeadlineMs?: number;
}

/** Post `count` structured events, each retried on 5xx / connection errors until answered 2xx. */
export async function runLoad(adapterUrl: string, options: LoadOptions): Promise<LoadResult> {
  const acked = new Set<string>();
  const statuses = new Map<number | string, number>();
  let missingRetryAfter = 0;
  let next = 0;
  const one = async (id: string) => {
    const deadline = Date.now() + (options.perEventDeadlineMs ?? 60_000);
    const body = JSON.stringify({ specversion: '1.0', id, source: '/load', type: 'order.created', data: { id } });
    while (Date.now() < deadline) {
      const sentAt = Date.now();
      let status: number | string;
      let retryAfter: string | null = null;
      try {
        const res = await fetch(`${adapterUrl}/events`, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body, signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        status = res.status;
        retryAfter = res.headers.get('retry-after');
      } catch (err) {
        status = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      }
      options.onAnswer?.(status, sentAt, Date.now());
      if (typeof status === 'number' && status >= 200 && status < 300) {
        acked.add(id);
        await options.onAck?.(acked.size);
        return;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 503 && !retryAfter) missingRetryAfter++;
      await new Promise((r) => setTimeout(r, status === 503 ? Math.min(1000, Number(retryAfter ?? 1) * 200) : 200));
    }
  };
  const workers = Array.from({ length: options.concurrency ?? 16 }, async () => {
    while (next < options.count) await one(`${options.prefix}-${next++}`);
  });
  await Promise.all(workers);
  return { acked, statuses, missingRetryAfter };
}

/** Wait until the subscriber accepted every id in `ids`; returns how many were delivered more than once. */
export async function expectAllDelivered(subscriber: Subscriber, ids: Set<string>, timeoutMs = 120_000): Promise<{ missing: string[]; duplicates: number }> {
  const deadline = Date.now() + timeoutMs;
  let missing: string[] = [];
  for (;;) {
    const got = subscriber.acceptedIds();
    missing = [...ids].filter((id) => !got.has(id));
    if (missing.length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const perId = new Map<string, number>();
  for (const r of subscriber.accepted) {
    const id = r.event?.id;
    if (id && ids.has(id)) perId.set(id, (perId.get(id) ?? 0) + 1);
  }
  let duplicates = 0;
  for (const n of perId.values()) duplicates += n - 1;
  return { missing, duplicates };
}
