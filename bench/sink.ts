/**
 * The subscriber in the end-to-end benchmark: answers 200 and, per phase (the part of
 * `ce-id` before the first dot), counts unique events and records each one's latency
 * from the `ce-benchsent` stamp the load generator set.
 */
import http from 'node:http';

interface PhaseStats {
  ids: Set<string>;
  latencies: number[];
  firstAt: number;
  lastAt: number;
}
const phases = new Map<string, PhaseStats>();
let duplicates = 0;

function record(id: string, sentAt: number, now: number): void {
  const phase = id.slice(0, id.indexOf('.'));
  let stats = phases.get(phase);
  if (!stats) {
    stats = { ids: new Set(), latencies: [], firstAt: now, lastAt: now };
    phases.set(phase, stats);
  }
  if (stats.ids.has(id)) {
    duplicates++; // at-least-once: a redelivery is allowed, and counted, not double-timed
    return;
  }
  stats.ids.add(id);
  stats.lastAt = now;
  if (Number.isFinite(sentAt)) stats.latencies.push(now - sentAt);
}

const server = http.createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    const id = req.headers['ce-id'];
    if (typeof id === 'string' && id.includes('.')) record(id, Number(req.headers['ce-benchsent']), Date.now());
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});

process.on('message', (msg: { cmd: string; phase: string }) => {
  // A finished phase's ids and latencies are dropped, so the sink's own heap (and its GC
  // pauses) does not grow into the next phase's latencies.
  if (msg.cmd === 'forget') phases.delete(msg.phase);
  if (msg.cmd === 'stats') {
    const s = phases.get(msg.phase);
    process.send?.({ unique: s?.ids.size ?? 0, firstAt: s?.firstAt ?? 0, lastAt: s?.lastAt ?? 0, latencies: s?.latencies ?? [], duplicates });
  }
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
