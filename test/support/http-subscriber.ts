/**
 * A real HTTP subscriber for dispatcher tests: a node:http server that decodes every
 * request with the `cloudevents` SDK (independently of the runtime's own decoder), records
 * it, and answers as the test programs it (fail the first N attempts, delay, reply with an
 * event, hang).
 *
 *   const sub = await startSubscriber({ behavior: failFirst(3, 503) });
 *   ... sub.url ...
 *   await sub.waitFor((s) => s.accepted.length === 1);
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudEvent, HTTP } from 'cloudevents';

export interface RecordedRequest {
  readonly at: number;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  /** The event as the SDK reads it, or undefined when the request was not a CloudEvent. */
  readonly event?: CloudEvent<unknown>;
  /** 1 for the first request carrying this event id, 2 for the next… */
  readonly attempt: number;
  /** The status this server answered. */
  status?: number;
}

export interface SubscriberResponse {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Wait this long before answering. */
  readonly delayMs?: number;
  /** Never answer (until the server closes). */
  readonly hang?: boolean;
}

export type Behavior = (req: RecordedRequest) => SubscriberResponse | Promise<SubscriberResponse>;

export interface Subscriber {
  readonly url: string;
  readonly port: number;
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Requests answered with 2xx on a connection that was still open (the sender got the answer). */
  readonly accepted: RecordedRequest[];
  /** Change the behavior for the following requests. */
  setBehavior(behavior: Behavior): void;
  /** Unique event ids answered with 2xx. */
  acceptedIds(): Set<string>;
  /** Resolve once `predicate` holds (checked on every request and every 20 ms). */
  waitFor(predicate: (s: Subscriber) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export const accept: Behavior = () => ({ status: 202 });

/** Answer `status` to the first `n` attempts of each event id, then 2xx. */
export function failFirst(n: number, status = 503, headers?: Record<string, string>): Behavior {
  return (r) => (r.attempt <= n ? { status, headers, body: `attempt ${r.attempt} failed on purpose` } : { status: 200 });
}

/** Answer every request with `status` and `body`. */
export function always(status: number, body = ''): Behavior {
  return () => ({ status, body });
}

/** Answer after `delayMs`. */
export function delayed(delayMs: number, status = 200): Behavior {
  return () => ({ status, delayMs });
}

/** Answer 200 with a reply event in binary mode (built from the received one). */
export function replyWith(make: (received: CloudEvent<unknown>) => CloudEvent<unknown> | undefined): Behavior {
  return (r) => {
    const reply = r.event ? make(r.event) : undefined;
    if (!reply) return { status: 200 };
    const msg = HTTP.binary(reply);
    return { status: 200, headers: msg.headers as Record<string, string>, body: msg.body as string };
  };
}

export async function startSubscriber(options: { behavior?: Behavior; port?: number } = {}): Promise<Subscriber> {
  let behavior = options.behavior ?? accept;
  const requests: RecordedRequest[] = [];
  const accepted: RecordedRequest[] = [];
  const attemptsById = new Map<string, number>();
  const waiters = new Set<() => void>();
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    let event: CloudEvent<unknown> | undefined;
    try {
      const decoded = HTTP.toEvent({ headers: req.headers as Record<string, string>, body: body.length ? body.toString('utf8') : undefined });
      event = (Array.isArray(decoded) ? decoded[0] : decoded) as CloudEvent<unknown>;
    } catch {
      event = undefined;
    }
    const id = event?.id ?? '';
    const attempt = (attemptsById.get(id) ?? 0) + 1;
    attemptsById.set(id, attempt);
    const rec: RecordedRequest = { at: Date.now(), path: req.url ?? '/', headers: req.headers, body, event, attempt };
    requests.push(rec);
    let answer: SubscriberResponse;
    try {
      answer = await behavior(rec);
    } catch (err) {
      answer = { status: 500, body: String(err) };
    }
    if (answer.hang) {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    const status = answer.status ?? 200;
    rec.status = status;
    // Accepted means the sender got the 2xx: an answer to a connection the sender already
    // dropped (it crashed or gave up) delivered nothing.
    if (!res.destroyed) {
      if (status >= 200 && status < 300) accepted.push(rec);
      res.writeHead(status, answer.headers ?? {});
      res.end(answer.body ?? '');
    }
    for (const w of [...waiters]) w();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const self: Subscriber = {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests,
    accepted,
    setBehavior(b) {
      behavior = b;
    },
    acceptedIds() {
      return new Set(accepted.map((r) => r.event?.id ?? '').filter(Boolean));
    },
    waitFor(predicate, timeoutMs = 15_000) {
      return new Promise<void>((resolve, reject) => {
        if (predicate(self)) return resolve();
        const check = () => {
          if (predicate(self)) {
            cleanup();
            resolve();
          }
        };
        const tick = setInterval(check, 20);
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`subscriber ${self.url}: condition not met within ${timeoutMs} ms (${requests.length} requests, ${accepted.length} accepted)`));
        }, timeoutMs);
        const cleanup = () => {
          clearInterval(tick);
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
      });
    },
    close() {
      for (const res of hanging) res.destroy();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return self;
}
