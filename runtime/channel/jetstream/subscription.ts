/**
 * One durable pull consumer of the JetStream channel handing deliveries to a handler
 * (does I/O). It depends on nothing of the channel: the channel hands it the functions it
 * needs (`SubscriptionDeps`), so the dependency points one way.
 */
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { ChannelConsumer, ChannelLogger, ChannelMessage, ConsumerOptions, MessageHandler } from '../channel';
import { errText } from './errors';
import { OP_ACK, OP_NAK, OP_WORKING } from './outbox';

/** What a subscription needs from its channel, as functions. */
export interface SubscriptionDeps {
  /** The durable consumer to pull from (throws ChannelUnavailableError when not connected). */
  consumer(): Promise<Consumer>;
  /** Create the consumer (and stream) again after the server lost them. */
  recreate(): Promise<void>;
  /** Queue an ack/nak/working() (an OP_* or a nak delay in ms) for the next write. */
  settle(m: JsMsg, op: number): void;
  /** Hand everything queued to the client now. */
  flush(): void;
  /** The subscription stopped. */
  stopped(sub: JetStreamSubscription): void;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** One delivery handed to the handler; settles at most once. */
export class JetStreamMessage implements ChannelMessage {
  settled = false;
  /** When (ms) it was handed to the handler or last reported working. */
  at: number;

  constructor(
    private readonly sub: JetStreamSubscription,
    readonly m: JsMsg,
    now: number,
  ) {
    this.at = now;
  }

  get data(): Uint8Array {
    return this.m.data;
  }

  /** Parsed from the reply subject only when asked for. */
  get deliveryCount(): number {
    return this.m.info.deliveryCount;
  }

  get sequence(): number {
    return this.m.info.streamSequence;
  }

  ack(): Promise<void> {
    if (!this.settled) this.sub.settle(this, OP_ACK);
    return RESOLVED;
  }

  nak(delayMs?: number): void {
    if (!this.settled) this.sub.settle(this, delayMs !== undefined && delayMs > 0 ? Math.max(1, Math.round(delayMs)) : OP_NAK);
  }

  working(): void {
    if (!this.settled) this.sub.settle(this, OP_WORKING);
  }
}

export class JetStreamSubscription implements ChannelConsumer {
  private stopped = false;
  private messages?: ConsumerMessages;
  /** Handed to the handler, not yet acked/nacked. */
  private readonly outstanding = new Set<JetStreamMessage>();
  private pruner?: NodeJS.Timeout;
  /** Handler invocations still running, and who waits for them to reach 0. */
  private running = 0;
  private idle?: () => void;

  constructor(
    private readonly deps: SubscriptionDeps,
    private readonly topic: string,
    private readonly consumer: string,
    private readonly handler: MessageHandler,
    private readonly options: ConsumerOptions,
    private readonly logger: ChannelLogger,
  ) {}

  async start(): Promise<void> {
    await this.open();
    // A delivery left unsettled past ackWait is redelivered by the server as a new
    // message: forget the old one so a handler that never settles cannot leak memory.
    const ackWait = Math.max(1, this.options.ackWaitMs);
    this.pruner = setInterval(() => {
      const cutoff = Date.now() - ackWait;
      for (const m of this.outstanding) if (m.at < cutoff) this.outstanding.delete(m);
    }, Math.max(1000, ackWait));
    this.pruner.unref();
  }

  /**
   * Start (or restart) pulling: batched pull requests of up to maxInFlight messages,
   * handed to the handler straight from the client's subscription callback (no async
   * iterator, no promise per message).
   */
  private async open(): Promise<void> {
    const c = await this.deps.consumer();
    const max = this.options.ordered ? 1 : Math.max(1, Math.min(this.options.maxInFlight, 1000));
    const old = this.messages;
    const messages = await c.consume({
      max_messages: max,
      callback: (m: JsMsg) => {
        if (this.stopped) {
          try {
            m.nak();
          } catch {
            // connection gone
          }
          return;
        }
        this.dispatch(m);
      },
    });
    if (this.stopped) {
      await messages.close();
      return;
    }
    this.messages = messages;
    void this.watchClosed(messages);
    void this.watch(messages);
    if (old) {
      try {
        await old.close();
      } catch {
        // already closed
      }
    }
  }

  private async watchClosed(messages: ConsumerMessages): Promise<void> {
    try {
      const err = await messages.closed();
      if (err && !this.stopped && messages === this.messages) this.logger.error({ err: errText(err), topic: this.topic, consumer: this.consumer }, 'JetStream consumer stopped');
    } catch (e) {
      if (!this.stopped && messages === this.messages) this.logger.error({ err: errText(e), topic: this.topic, consumer: this.consumer }, 'JetStream consumer stopped');
    }
  }

  /**
   * Recreate the consumer (and stream) when the server lost them — deleted by an operator,
   * by inactivity while this process was away, or a wiped store — and pull again.
   */
  private async watch(messages: ConsumerMessages): Promise<void> {
    let last = 0;
    try {
      for await (const s of messages.status()) {
        if (this.stopped || messages !== this.messages) return;
        if (s.type === 'consumer_not_found' || s.type === 'consumer_deleted' || s.type === 'stream_not_found') {
          const now = Date.now();
          if (now - last < 1000) continue;
          last = now;
          this.logger.warn({ topic: this.topic, consumer: this.consumer, status: s.type }, 'JetStream consumer missing: recreating it');
          try {
            await this.deps.recreate();
            await this.open();
            return;
          } catch (e) {
            this.logger.warn({ err: errText(e), topic: this.topic, consumer: this.consumer }, 'recreating JetStream consumer failed; will retry');
          }
        }
      }
    } catch {
      // iterator ended
    }
  }

  /** @internal Called by JetStreamMessage: settle once, through the connection's outbox. */
  settle(message: JetStreamMessage, op: number): void {
    if (op === OP_WORKING) {
      if (this.outstanding.has(message)) message.at = Date.now();
    } else {
      message.settled = true;
      this.outstanding.delete(message);
    }
    this.deps.settle(message.m, op);
  }

  private readonly handlerDone = (): void => {
    if (--this.running === 0 && this.idle) {
      const idle = this.idle;
      this.idle = undefined;
      idle();
    }
  };

  private dispatch(m: JsMsg): void {
    const message = new JetStreamMessage(this, m, Date.now());
    this.outstanding.add(message);
    this.running++;
    // A handler that returns or throws without settling: redelivered after ackWait (or
    // released at stop()).
    try {
      const run = this.handler(message) as Promise<void> | undefined;
      if (run && typeof run.then === 'function') run.then(this.handlerDone, this.handlerDone);
      else this.handlerDone();
    } catch {
      this.handlerDone();
    }
  }

  /**
   * Stop pulling, let the handlers in flight finish (up to `graceMs`) and send their acks,
   * run `fn` (the consumer is quiet: nothing of this process is in flight), then pull again.
   */
  async pauseWhile<T>(graceMs: number, fn: () => Promise<T>): Promise<T> {
    const messages = this.messages;
    this.messages = undefined;
    try {
      await this.quiesce(messages, graceMs);
      this.deps.flush();
      return await fn();
    } finally {
      if (!this.stopped) await this.open();
    }
  }

  /** Stop pulling on `messages`, then wait up to `graceMs` for the handlers in flight. */
  private async quiesce(messages: ConsumerMessages | undefined, graceMs: number): Promise<void> {
    try {
      await messages?.close();
    } catch {
      // already closed
    }
    if (this.running > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        this.idle = r;
        timer = setTimeout(r, graceMs);
      });
      this.idle = undefined;
      clearTimeout(timer);
    }
  }

  async stop(graceMs = 0): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.deps.stopped(this);
    if (this.pruner) clearInterval(this.pruner);
    await this.quiesce(this.messages, graceMs);
    // Release what is still unsettled so another consumer instance gets it right away.
    for (const m of this.outstanding) m.nak();
    this.outstanding.clear();
    // Acks and naks of this consumer leave now, not on the next turn of the loop.
    this.deps.flush();
  }
}
