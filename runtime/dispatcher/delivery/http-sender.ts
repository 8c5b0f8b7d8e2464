/**
 * One HTTP delivery attempt (I/O) with undici: a keep-alive connection pool per origin
 * (undici's Agent keeps one Pool per origin), an overall per-attempt timeout, a bounded
 * response body (a reply), and an outcome instead of an exception.
 */
import { Agent } from 'undici';
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

export class HttpSender {
  private readonly agent: Agent;
  private readonly maxResponseBytes: number;
  private readonly userAgent: string;

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
   * POST `message` to `url`. `timeoutMs` bounds the whole attempt (connect, headers,
   * body). Throws DeliveryAborted only when `signal` aborts.
   */
  async post(url: string, message: HttpRequestMessage, timeoutMs: number, signal?: AbortSignal): Promise<AttemptResult> {
    if (signal?.aborted) throw new DeliveryAborted();
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const res = await this.agent.request({
        origin: new URL(url).origin,
        path: pathOf(url),
        method: 'POST',
        headers: { 'user-agent': this.userAgent, ...message.headers },
        body: message.body,
        signal: combined,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        if (size + buf.length > this.maxResponseBytes) {
          chunks.push(buf.subarray(0, this.maxResponseBytes - size));
          size = this.maxResponseBytes;
          truncated = true;
          res.body.destroy();
          break;
        }
        chunks.push(buf);
        size += buf.length;
      }
      const headers = res.headers as IncomingHttpHeaders;
      const retryAfter = headers['retry-after'];
      return {
        outcome: { kind: 'response', status: res.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter },
        headers,
        body: Buffer.concat(chunks),
        truncated,
      };
    } catch (err) {
      if (signal?.aborted) throw new DeliveryAborted();
      if (timeout.aborted || isTimeout(err)) return { outcome: { kind: 'timeout' } };
      return { outcome: { kind: 'network', message: describeError(err) } };
    }
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}

function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname || '/'}${u.search}`;
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
