/**
 * Write coalescing of publishes and acks on one NATS connection (does I/O through the
 * connection it is given).
 */
import type { connect as natsConnect } from '@nats-io/transport-node';
import type { JsMsg } from '@nats-io/jetstream';

export type NatsConnection = Awaited<ReturnType<typeof natsConnect>>;

export interface PublishFailureSink {
  failed(id: number, e: Error): void;
}

/** Settle operations queued in the Outbox. */
export const OP_ACK = -1;
export const OP_NAK = 0;
export const OP_WORKING = -2;

/**
 * Write coalescing for one NATS connection: publishes, acks, naks and working() signals
 * issued during one event-loop turn are handed to the client together in a setImmediate,
 * so they leave in one socket write (nats.js flushes its outbound buffer in a microtask
 * after the first command, i.e. once per macrotask otherwise: one write per ack, since
 * each ack follows a subscriber's response, which arrives in a macrotask of its own).
 * An ack is only ever delayed, never lost or reordered with respect to the delivery it
 * settles: if the process dies before the flush, the event is redelivered after ackWait,
 * exactly as if it had died just before acking.
 */
export class Outbox {
  private readonly pubSubjects: string[] = [];
  private readonly pubData: Uint8Array[] = [];
  private readonly pubReplies: string[] = [];
  private readonly pubIds: number[] = [];
  private readonly pubSinks: PublishFailureSink[] = [];
  private readonly settleMsgs: JsMsg[] = [];
  private readonly settleOps: number[] = [];
  private scheduled = false;

  constructor(private readonly nc: NatsConnection) {}

  publish(subject: string, data: Uint8Array, reply: string, id: number, sink: PublishFailureSink): void {
    this.pubSubjects.push(subject);
    this.pubData.push(data);
    this.pubReplies.push(reply);
    this.pubIds.push(id);
    this.pubSinks.push(sink);
    this.schedule();
  }

  /** op: OP_ACK, OP_NAK, OP_WORKING, or a nak delay in ms (> 0). */
  settle(m: JsMsg, op: number): void {
    this.settleMsgs.push(m);
    this.settleOps.push(op);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  /** Hand everything queued to the client now (also called before stop/close). */
  readonly flush = (): void => {
    this.scheduled = false;
    const n = this.pubSubjects.length;
    if (n > 0) {
      const subjects = this.pubSubjects.splice(0);
      const data = this.pubData.splice(0);
      const replies = this.pubReplies.splice(0);
      const ids = this.pubIds.splice(0);
      const sinks = this.pubSinks.splice(0);
      for (let i = 0; i < n; i++) {
        try {
          this.nc.publish(subjects[i], data[i], { reply: replies[i] });
        } catch (e) {
          sinks[i].failed(ids[i], e as Error);
        }
      }
    }
    const k = this.settleMsgs.length;
    if (k > 0) {
      const msgs = this.settleMsgs.splice(0);
      const ops = this.settleOps.splice(0);
      for (let i = 0; i < k; i++) {
        try {
          const op = ops[i];
          if (op === OP_ACK) msgs[i].ack();
          else if (op === OP_WORKING) msgs[i].working();
          else if (op > 0) msgs[i].nak(op);
          else msgs[i].nak();
        } catch {
          // connection gone: the server redelivers after ackWait
        }
      }
    }
  };
}
