/**
 * One consumer of a Pub/Sub subscription (I/O: the client's streaming pull).
 *
 * Pub/Sub leases each message to the process (the client extends its ack deadline while it
 * is held) and redelivers it when the process dies. Inside the process the contract's
 * semantics are kept as the Kafka channel keeps them: a nacked message or one whose
 * ackWait passed is handed to the handler again (deliveryCount counts up) while its lease
 * is kept, so it holds its in-flight slot; the message is acked on Pub/Sub only when the
 * handler acks. Flow control (maxMessages = maxInFlight) bounds what is held at once.
 * Ordered consumers run one handler at a time in arrival order; a nacked event comes again
 * before the next.
 */
import type { Message, Subscription } from '@google-cloud/pubsub';
import { ChannelConsumer, ChannelMessage, ConsumerOptions, MessageHandler, runTracked } from '../channel';
import type { ChannelLogger } from '../channel';
import { fromPubSubMessage } from './binding';
import { errText, isNotFound } from './errors';

export interface SubscriptionDeps {
  /** A client subscription object with flow control set (not yet listening). */
  open(): Subscription;
  /** Create the topic and subscription again (after NOT_FOUND: expired or deleted). */
  recreate(): Promise<void>;
  readonly logger: ChannelLogger;
}

interface Held {
  readonly message: Message;
  readonly data: Buffer;
  count: number;
  done: boolean;
  timer?: NodeJS.Timeout;
}

export class PubSubSubscription implements ChannelConsumer {
  private stopped = false;
  private sub?: Subscription;
  private readonly running = new Set<Promise<void>>();
  private readonly held = new Set<Held>();
  /** Ordered consumers: held messages in arrival order; the head is the one being handled. */
  private readonly queue: Held[] = [];
  private reopenAttempt = 0;
  private reopenTimer?: NodeJS.Timeout;

  constructor(
    private readonly deps: SubscriptionDeps,
    private readonly handler: MessageHandler,
    private readonly options: ConsumerOptions,
  ) {}

  start(): void {
    const sub = this.deps.open();
    this.sub = sub;
    sub.on('message', (m: Message) => this.onMessage(m));
    sub.on('error', (e: unknown) => void this.onError(sub, e));
  }

  private onMessage(message: Message): void {
    this.reopenAttempt = 0;
    if (this.stopped) {
      message.nack();
      return;
    }
    const h: Held = { message, data: fromPubSubMessage(message.data, message.attributes), count: 1, done: false };
    this.held.add(h);
    if (this.options.ordered) {
      this.queue.push(h);
      if (this.queue.length === 1) this.deliver(h);
    } else {
      this.deliver(h);
    }
  }

  private deliver(h: Held): void {
    let settled = false;
    const finish = (acked: boolean, delayMs: number) => {
      if (settled || h.done) return;
      settled = true;
      clearTimeout(timer);
      if (acked) this.release(h, true);
      else if (this.stopped) this.release(h, false);
      else {
        h.timer = setTimeout(() => {
          h.timer = undefined;
          if (h.done) return;
          if (this.stopped) return this.release(h, false);
          h.count++;
          this.deliver(h);
        }, delayMs);
      }
    };
    const timer = setTimeout(() => finish(false, 0), Math.max(1, this.options.ackWaitMs));
    const message: ChannelMessage = {
      data: h.data,
      deliveryCount: h.count,
      ack: async () => finish(true, 0),
      nak: (delayMs?: number) => finish(false, Math.max(0, delayMs ?? 0)),
      working: () => {
        if (!settled) timer.refresh();
      },
    };
    void runTracked(this.handler, message, this.running);
  }

  /** Done with a held message: ack it on Pub/Sub, or give it back (nack) for redelivery. */
  private release(h: Held, ack: boolean): void {
    if (h.done) return;
    h.done = true;
    if (h.timer) clearTimeout(h.timer);
    this.held.delete(h);
    if (ack) h.message.ack();
    else h.message.nack();
    if (this.options.ordered && this.queue[0] === h) {
      this.queue.shift();
      const next = this.queue[0];
      if (next && !this.stopped) this.deliver(next);
    }
  }

  /** The stream failed for good (the client retries transient errors itself): open it again. */
  private async onError(sub: Subscription, e: unknown): Promise<void> {
    if (this.stopped || sub !== this.sub) return;
    this.sub = undefined;
    this.deps.logger.warn({ err: errText(e) }, 'Pub/Sub subscription stream failed; reopening');
    // (Removing the last 'message' listener closes a client subscription and adding one opens
    // it again: close first, then detach.)
    await sub.close().catch(() => undefined);
    sub.removeAllListeners('message');
    // What this stream held is redelivered by Pub/Sub; forget it here.
    for (const h of [...this.held]) {
      h.done = true;
      if (h.timer) clearTimeout(h.timer);
    }
    this.held.clear();
    this.queue.length = 0;
    const delay = Math.min(10_000, 250 * 2 ** Math.min(this.reopenAttempt++, 6));
    this.reopenTimer = setTimeout(() => {
      void (async () => {
        if (this.stopped) return;
        if (isNotFound(e)) {
          try {
            await this.deps.recreate();
          } catch (err) {
            this.deps.logger.warn({ err: errText(err) }, 'recreating the Pub/Sub subscription failed; retrying');
          }
        }
        if (!this.stopped) this.start();
      })();
    }, delay);
  }

  async stop(graceMs = 0): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reopenTimer);
    const sub = this.sub;
    this.sub = undefined;
    // The listener stays (detaching it would close the client subscription at once, with its
    // default behaviour); it nacks what arrives from now on.
    if (this.running.size > 0 && graceMs > 0) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.running]), new Promise<void>((r) => (t = setTimeout(r, graceMs)))]);
      clearTimeout(t);
    }
    // Whatever is still held goes back to Pub/Sub at once. close() waits (WaitForProcessing,
    // set by the channel) until the acks given so far are flushed: with its default it would
    // nack acked messages whose ack is still batched, and they would come again.
    for (const h of [...this.held]) this.release(h, false);
    this.queue.length = 0;
    if (sub) {
      try {
        await sub.close();
      } catch (e) {
        this.deps.logger.debug({ err: errText(e) }, 'closing the Pub/Sub subscription failed');
      }
      sub.removeAllListeners();
    }
  }
}
