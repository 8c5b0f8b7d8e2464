/**
 * The adapter while Pub/Sub is unreachable, with real processes: Google's real Pub/Sub
 * emulator behind a TCP proxy that cuts the network (the emulator keeps its state), an
 * `event-mesh adapter` and an `event-mesh dispatcher` process on `--channel pubsub`. While
 * cut, every event is answered 503 with Retry-After (never 2xx, never another 5xx); once
 * restored, events are accepted again and delivered, without restarting anything.
 */
import { expectAllDelivered, startMesh, type Mesh } from '../support/mesh-processes';
import { startPubSubEmulator, type PubSubEmulatorHandle } from '../support/pubsub-emulator';
import { startTcpProxy, type TcpProxyHandle } from '../support/tcp-proxy';

jest.setTimeout(240_000);

async function post(url: string, id: string): Promise<{ status: number | string; retryAfter: string | null }> {
  const body = JSON.stringify({ specversion: '1.0', id, source: '/outage', type: 'order.created', data: { id } });
  try {
    const res = await fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body, signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer();
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  } catch (err) {
    return { status: (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name, retryAfter: null };
  }
}

/** Post `id` until it is answered 2xx (or the deadline passes); returns whether it was. */
async function postUntilAccepted(url: string, id: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { status } = await post(url, id);
    if (typeof status === 'number' && status >= 200 && status < 300) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

describe('adapter on Pub/Sub while the network to Pub/Sub is cut', () => {
  let emulator: PubSubEmulatorHandle;
  let proxy: TcpProxyHandle;
  let mesh: Mesh | undefined;
  beforeAll(async () => {
    emulator = await startPubSubEmulator();
    proxy = await startTcpProxy(emulator.port);
  }, 120_000);
  afterAll(async () => {
    await mesh?.stop();
    await proxy?.stop();
    await emulator?.stop();
  });

  test('503 + Retry-After while unreachable, never a 2xx; accepted and delivered again after', async () => {
    mesh = await startMesh('', {
      // Info logs: a failure below prints them (the subscription's reconnects are at info).
      channel: { args: ['--channel', 'pubsub', '--pubsub-project', emulator.projectId], env: { PUBSUB_EMULATOR_HOST: proxy.host, LOG_LEVEL: 'info' } },
    });
    const m = mesh;
    expect(await postUntilAccepted(m.adapterUrl, 'before', 60_000)).toBe(true);

    await proxy.cut();
    const during: { status: number | string; retryAfter: string | null }[] = [];
    for (let i = 0; i < 10; i++) during.push(await post(m.adapterUrl, `during-${i}`));
    expect(during.filter((a) => typeof a.status === 'number' && a.status >= 200 && a.status < 300)).toEqual([]);
    // Every answer is a 503 with a positive Retry-After: the client is told to come back.
    for (const a of during) {
      expect(a.status).toBe(503);
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
    }

    await proxy.restore();
    const accepted = await postUntilAccepted(m.adapterUrl, 'after', 90_000);
    const { missing } = accepted ? await expectAllDelivered(m.subscriber, new Set(['before', 'after']), 90_000) : { missing: ['after'] };
    // A failure here has been seen once under CI load and not reproduced: keep what the
    // processes said, so the next one can be diagnosed.
    if (!accepted || missing.length > 0) {
      // eslint-disable-next-line no-console
      console.log(`pubsub outage: accepted after restore ${accepted}, missing ${missing.join(', ')}\n--- dispatcher\n${m.dispatcher.output().slice(-12_000)}\n--- adapter\n${m.adapter.output().slice(-6_000)}`);
    }
    expect(accepted).toBe(true);
    expect(missing).toEqual([]);
    // eslint-disable-next-line no-console
    console.log(`pubsub outage: ${during.length} events answered 503 with Retry-After ${[...new Set(during.map((a) => a.retryAfter))].join(', ')} while cut`);
  });
});
