/**
 * The bench's load generator against a real node:http server: each request's status is
 * read once its response has ended, statuses are counted, a phase gives every request its
 * own ce-id, and a refused connection counts as failed (not a crash).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { post, runLoad } from '../../bench/load-generator';
import { freePort } from '../support/nats-server';

async function serve(handler: Parameters<typeof createServer>[1]) {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

describe('bench load generator', () => {
  it('post(): the final status after the response body, past a 1xx; the request carries headers and body', async () => {
    const seen: { url?: string; type?: string; body: string }[] = [];
    const srv = await serve((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ url: req.url, type: req.headers['ce-type'] as string, body });
        if (req.url === '/hints') res.writeEarlyHints({ link: '</a>; rel=preload' });
        res.writeHead(req.url === '/bad' ? 400 : 202).end(req.url === '/bad' ? '{"error":"x"}' : undefined);
      });
    });
    const pool = new Pool(srv.url, { connections: 1 });
    try {
      expect(await post(pool, '/ok', { 'ce-type': 't' }, Buffer.from('{"a":1}'))).toBe(202);
      expect(await post(pool, '/bad', {}, Buffer.from('x'))).toBe(400);
      expect(await post(pool, '/hints', {}, Buffer.from('y'))).toBe(202);
      expect(seen).toEqual([{ url: '/ok', type: 't', body: '{"a":1}' }, { url: '/bad', type: undefined, body: 'x' }, { url: '/hints', type: undefined, body: 'y' }]);
    } finally {
      await pool.close();
      await srv.close();
    }
  });

  it('runLoad(): every request counted by status, each with its own phase id; ok and failed add up to sent', async () => {
    const ids = new Set<string>();
    let n = 0;
    const srv = await serve((req, res) => {
      req.resume();
      ids.add(req.headers['ce-id'] as string);
      res.writeHead(n++ % 2 === 0 ? 202 : 503).end();
    });
    try {
      const r = await runLoad({ url: `${srv.url}/events`, headers: { 'ce-type': 't' }, body: 'x', concurrency: 4, durationMs: 300, phase: 'p' });
      expect(r.sent).toBeGreaterThan(10);
      expect(r.ok + r.failed).toBe(r.sent);
      expect(r.statuses['202']).toBe(r.ok);
      expect(r.statuses['503']).toBe(r.failed);
      expect(Math.abs(r.ok - r.failed)).toBeLessThanOrEqual(4);
      expect(ids.size).toBe(r.sent);
      expect([...ids].every((id) => /^p\.\d+$/.test(id))).toBe(true);
    } finally {
      await srv.close();
    }
  });

  it('runLoad() with warmupMs: the warm-up goes first on the same connections, with phase <phase>-warmup, and counts in no figure', async () => {
    const ids: string[] = [];
    const sockets = new Set<unknown>();
    const srv = await serve((req, res) => {
      req.resume();
      ids.push(req.headers['ce-id'] as string);
      sockets.add(req.socket);
      // Warm-up requests fail, so counting any of them would show.
      res.writeHead((req.headers['ce-id'] as string).startsWith('p-warmup.') ? 503 : 202).end();
    });
    try {
      const r = await runLoad({ url: `${srv.url}/events`, headers: {}, body: 'x', concurrency: 2, durationMs: 300, warmupMs: 300, ratePerSecond: 200, phase: 'p' });
      const warm = ids.filter((id) => id.startsWith('p-warmup.'));
      const measured = ids.filter((id) => /^p\.\d+$/.test(id));
      expect(warm.length).toBeGreaterThan(20);
      expect(measured.length).toBe(r.sent);
      expect(warm.length + measured.length).toBe(ids.length);
      // Every warm-up request came before every measured one, and the measured ids start at 0.
      expect(ids.slice(0, warm.length)).toEqual(warm);
      expect(measured[0]).toBe('p.0');
      expect(r.failed).toBe(0);
      expect(r.statuses).toEqual({ 202: r.sent });
      // The pool's connections were opened during the warm-up and reused: at most concurrency of them.
      expect(sockets.size).toBeLessThanOrEqual(2);
    } finally {
      await srv.close();
    }
  });

  it('runLoad(): a refused connection is counted as failed by its error code', async () => {
    const port = await freePort();
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, headers: {}, body: 'x', concurrency: 1, durationMs: 100 });
    expect(r.ok).toBe(0);
    expect(r.failed).toBe(r.sent);
    expect(r.statuses.ECONNREFUSED).toBe(r.sent);
  });
});
