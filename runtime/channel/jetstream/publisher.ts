/**
 * Pipelined JetStream publishing over one NATS connection (does I/O).
 */
import { randomBytes } from 'node:crypto';
import type { NatsConnection, Outbox } from './outbox';

interface PendingPublish {
  resolve(): void;
  reject(e: Error): void;
  deadline: number;
}

/** A PubAck, a PubAck error, or the server's "no responders" status. */
type PubOutcome = { ok: true } | { ok: false; noResponders: boolean; error: Error };

/**
 * Pipelined JetStream publishing: one wildcard reply subscription for all PubAcks,
 * correlated by reply subject, and one timer for all deadlines. The client's own
 * js.publish() creates a request (with pre-built error objects and a timer) per call,
 * which costs more CPU than the rest of the adapter's work per event.
 */
export class PipelinedPublisher {
  private readonly prefix: string;
  private next = 0;
  private readonly pending = new Map<number, PendingPublish>();
  private timer?: NodeJS.Timeout;
  private readonly sub: { unsubscribe(): void };

  constructor(
    nc: NatsConnection,
    private readonly outbox: Outbox,
    private readonly timeoutMs: number,
  ) {
    this.prefix = `_INBOX.em${randomBytes(8).toString('hex')}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, {
      callback: (err: Error | null, msg: { subject: string; data: Uint8Array; headers?: { code: number; description?: string } }) => {
        if (err) return;
        const id = Number(msg.subject.slice(this.prefix.length));
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        const outcome = PipelinedPublisher.outcome(msg.data, msg.headers);
        if (outcome.ok) p.resolve();
        else p.reject(outcome.error);
      },
    });
  }

  private static outcome(data: Uint8Array, headers: { code: number; description?: string; status?: string } | undefined): PubOutcome {
    if (headers && headers.code >= 300) {
      const noResponders = headers.code === 503;
      const e = new Error(noResponders ? 'no responders: no stream for this subject' : `JetStream status ${headers.code} ${headers.description ?? ''}`);
      if (noResponders) e.name = 'NoRespondersError';
      return { ok: false, noResponders, error: e };
    }
    // {"stream":"EM_x","seq":12} — the common case needs no JSON parse.
    if (data.length > 10 && data[2] === 0x73 /* s */ && data[3] === 0x74 /* t */) return { ok: true };
    let ack: { error?: { code?: number; err_code?: number; description?: string } };
    try {
      ack = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString());
    } catch {
      return { ok: false, noResponders: false, error: new Error('unparseable PubAck') };
    }
    if (!ack.error) return { ok: true };
    const e = new Error(ack.error.description ?? 'JetStream publish error');
    (e as { code?: number }).code = ack.error.err_code ?? ack.error.code;
    return { ok: false, noResponders: false, error: e };
  }

  publish(subject: string, data: Uint8Array): Promise<void> {
    const id = this.next++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadline: performance.now() + this.timeoutMs });
      // Publishes of one event-loop turn (many HTTP requests) leave in one socket write.
      this.outbox.publish(subject, data, this.prefix + id, id, this);
      if (!this.timer) {
        this.timer = setInterval(() => this.expire(), Math.min(250, this.timeoutMs));
        this.timer.unref();
      }
    });
  }

  /** The client refused a queued publish (connection closed). */
  failed(id: number, e: Error): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    p?.reject(e);
  }

  private expire(): void {
    const now = performance.now();
    // Deadlines grow with the id (one timeout, a monotonic clock): stop at the first one
    // still in the future.
    for (const [id, p] of this.pending) {
      if (p.deadline > now) break;
      this.pending.delete(id);
      const e = new Error(`no PubAck within ${this.timeoutMs} ms`);
      e.name = 'TimeoutError';
      p.reject(e);
    }
    if (this.pending.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Fail everything in flight (the connection dropped: the PubAcks will not come). */
  failAll(reason: string): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      const e = new Error(reason);
      e.name = 'ConnectionError';
      p.reject(e);
    }
  }

  close(): void {
    this.failAll('channel closed');
    if (this.timer) clearInterval(this.timer);
    try {
      this.sub.unsubscribe();
    } catch {
      // connection already closed
    }
  }
}
