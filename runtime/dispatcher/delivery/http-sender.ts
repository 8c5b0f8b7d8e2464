/**
 * One HTTP delivery attempt (I/O) with undici: a keep-alive connection pool per origin
 * (undici's Agent keeps one Pool per origin), an overall per-attempt timeout, a bounded
 * response body (a reply), and an outcome instead of an exception.
 */
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import type { AttemptOutcome } from './retry';

export interface HttpRequestMessage {
  readonly headers: Record<string, string>;
  readonly body: Buffer | string | undefined;
}

export interface AttemptResult {
  readonly outcome: AttemptOutcome;
  /** Response headers (lower-case names) and body, when there was a response. */
  readonly headers?: IncomingHttpHeaders;
  readonly body?: Buffer;
  /** The body was longer than maxResponseBytes and was cut. */
  readonly truncated?: boolean;
}

export interface HttpSenderOptions {
  /** Response bodies beyond this are cut (a reply that large is rejected). @default 1 MiB */
  readonly maxResponseBytes?: number;
  /** Keep-alive connections per origin. @default 128 */
  readonly connectionsPerOrigin?: number;
  readonly userAgent?: string;
}

/** Thrown when the caller's signal aborted the attempt (shutdown), not a delivery outcome. */
export class DeliveryAborted extends Error {
  constructor() {
    super('delivery aborted');
    this.name = 'DeliveryAborted';
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * One attempt as an undici dispatch handler: no response stream, no AbortSignal per
 * request (undici's `request()` builds a Readable, an AsyncResource and signal listeners
 * for each call, which cost more than the rest of a delivery). Settles exactly once: with
 * the response, or a timeout / network outcome, or DeliveryAborted on shutdown.
 */
class Attempt implements Dispatcher.DispatchHandler {
  private controller?: Dispatcher.DispatchController;
  private status = 0;
  private headers?: IncomingHttpHeaders;
  private chunks?: Buffer[];
  private size = 0;
  private done = false;
  private abortWith?: Error;
  timer?: NodeJS.Timeout;

  constructor(
    private readonly sender: HttpSender,
    private readonly maxResponseBytes: number,
    private readonly resolve: (r: AttemptResult) => void,
    private readonly reject: (e: Error) => void,
    readonly signal: AbortSignal | undefined,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Timed out or shut down while waiting for a connection: do not send it at all.
    if (this.abortWith) controller.abort(this.abortWith);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: informational, the response follows
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.done) return;
    if (this.size + chunk.length > this.maxResponseBytes) {
      (this.chunks ??= []).push(chunk.subarray(0, this.maxResponseBytes - this.size));
      this.size = this.maxResponseBytes;
      this.finishResponse(true);
      controller.abort(new Error('response body too large'));
      return;
    }
    (this.chunks ??= []).push(chunk);
    this.size += chunk.length;
  }

  onResponseEnd(): void {
    this.finishResponse(false);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.done) return;
    if (isTimeout(err)) this.settle({ outcome: { kind: 'timeout' } });
    else this.settle({ outcome: { kind: 'network', message: describeError(err) } });
  }

  /** The per-attempt timeout passed. */
  timeout(): void {
    if (this.done) return;
    this.settle({ outcome: { kind: 'timeout' } });
    this.abort(new Error('delivery attempt timed out'));
  }

  /** Shutdown: the caller's signal aborted. */
  shutdown(): void {
    if (this.done) return;
    this.done = true;
    this.cleanup();
    this.reject(new DeliveryAborted());
    this.abort(new DeliveryAborted());
  }

  private abort(err: Error): void {
    if (this.controller) {
      if (!this.controller.aborted) this.controller.abort(err);
    } else {
      this.abortWith = err;
    }
  }

  private finishResponse(truncated: boolean): void {
    if (this.done) return;
    const headers = this.headers ?? {};
    const retryAfter = headers['retry-after'];
    const chunks = this.chunks;
    this.settle({
      outcome: { kind: 'response', status: this.status, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter },
      headers,
      body: chunks === undefined ? EMPTY : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.size),
      truncated,
    });
  }

  private settle(result: AttemptResult): void {
    this.done = true;
    this.cleanup();
    this.resolve(result);
  }

  private cleanup(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.signal) this.sender.untrack(this);
  }
}

export class HttpSender {
  private readonly agent: Agent;
  private readonly maxResponseBytes: number;
  private readonly userAgent: string;
  /** Attempts in flight per caller signal: one abort listener per signal, not per request. */
  private readonly bySignal = new WeakMap<AbortSignal, Set<Attempt>>();
  /** Parsed destination URLs (a handful of subscribers, each delivered to many times). */
  private readonly urls = new Map<string, { origin: string; path: string }>();

  constructor(options: HttpSenderOptions = {}) {
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
    this.userAgent = options.userAgent ?? 'event-mesh-dispatcher';
    this.agent = new Agent({
      connections: options.connectionsPerOrigin ?? 128,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      pipelining: 1,
    });
  }

  /**
   * POST `message` to `url`. `timeoutMs` bounds the whole attempt (waiting for a
   * connection, connect, headers, body). Throws DeliveryAborted only when `signal` aborts.
   */
  post(url: string, message: HttpRequestMessage, timeoutMs: number, signal?: AbortSignal): Promise<AttemptResult> {
    if (signal?.aborted) return Promise.reject(new DeliveryAborted());
    let target: { origin: string; path: string };
    try {
      target = this.parse(url);
    } catch (err) {
      return Promise.resolve({ outcome: { kind: 'network', message: describeError(err) } });
    }
    return new Promise<AttemptResult>((resolve, reject) => {
      const attempt = new Attempt(this, this.maxResponseBytes, resolve, reject, signal);
      if (signal) this.track(signal, attempt);
      attempt.timer = setTimeout(() => attempt.timeout(), timeoutMs);
      this.agent.dispatch(
        {
          origin: target.origin,
          path: target.path,
          method: 'POST',
          headers: { 'user-agent': this.userAgent, ...message.headers },
          body: message.body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
        attempt,
      );
    });
  }

  private parse(url: string): { origin: string; path: string } {
    let parsed = this.urls.get(url);
    if (!parsed) {
      const u = new URL(url);
      parsed = { origin: u.origin, path: `${u.pathname || '/'}${u.search}` };
      if (this.urls.size >= 1024) this.urls.clear();
      this.urls.set(url, parsed);
    }
    return parsed;
  }

  private track(signal: AbortSignal, attempt: Attempt): void {
    let set = this.bySignal.get(signal);
    if (!set) {
      const attempts = new Set<Attempt>();
      set = attempts;
      this.bySignal.set(signal, attempts);
      signal.addEventListener(
        'abort',
        () => {
          for (const a of [...attempts]) a.shutdown();
        },
        { once: true },
      );
    }
    set.add(attempt);
  }

  /** @internal */
  untrack(attempt: Attempt): void {
    if (attempt.signal) this.bySignal.get(attempt.signal)?.delete(attempt);
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}

function isTimeout(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || (err as Error)?.name === 'TimeoutError';
}

function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  const message = e?.cause?.message ?? e?.message ?? String(err);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
