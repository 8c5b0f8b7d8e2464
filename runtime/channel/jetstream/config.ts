/**
 * Desired JetStream stream and consumer configuration of a topic and consumer, and the
 * checks whether an existing one needs an update. Pure.
 */
import { AckPolicy, ConsumerConfig, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, StreamConfig } from '@nats-io/jetstream';
import type { ConsumerOptions, TopicOptions } from '../channel';
import { durableNameFor, streamNameFor } from './names';
import { streamSubjectFor } from './subjects';
import { describeStream } from './sweeper';

/** Milliseconds to the nanoseconds JetStream's API uses. */
export const nanos = (ms: number): number => Math.round(ms * 1_000_000);

function sameNumber(a: number | undefined, b: number | undefined): boolean {
  return (a ?? 0) === (b ?? 0);
}

/** The stream of a topic. */
export function streamConfigFor(topic: string, o: TopicOptions): Partial<StreamConfig> & { name: string } {
  return {
    name: streamNameFor(topic),
    subjects: [streamSubjectFor(topic)],
    description: describeStream(topic, o),
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: o.maxAgeMs ? nanos(o.maxAgeMs) : 0,
    num_replicas: o.replicas ?? 1,
    max_bytes: o.maxBytes ?? -1,
    discard: o.maxBytes ? DiscardPolicy.New : DiscardPolicy.Old,
  };
}

/** Whether an existing stream's config differs from the desired one in what we manage. */
export function streamNeedsUpdate(c: Partial<StreamConfig>, want: Partial<StreamConfig>): boolean {
  return (
    !sameNumber(c.max_age, want.max_age) ||
    !sameNumber(c.num_replicas, want.num_replicas) ||
    !sameNumber(c.max_bytes, want.max_bytes) ||
    c.discard !== want.discard ||
    c.description !== want.description ||
    (c.subjects ?? []).join(' ') !== (want.subjects ?? []).join(' ')
  );
}

/**
 * The durable consumer of `consumer` on `topic`; `filterSubject` from `filterSubjectFor`
 * once it is safe to use (see `filterIsSafe`).
 */
export function consumerConfigFor(topic: string, consumer: string, options: ConsumerOptions, topicOptions: TopicOptions, filterSubject?: string): Partial<ConsumerConfig> {
  const want: Partial<ConsumerConfig> = {
    durable_name: durableNameFor(consumer),
    description: `event-mesh consumer ${consumer} of ${topic}`,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(Math.max(1, options.ackWaitMs)),
    max_ack_pending: options.ordered ? 1 : Math.max(1, options.maxInFlight),
    deliver_policy: options.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    max_deliver: options.maxDeliveries ?? -1,
  };
  if (options.startAfter !== undefined) {
    want.deliver_policy = DeliverPolicy.StartSequence;
    want.opt_start_seq = Math.max(0, Math.floor(options.startAfter)) + 1;
  }
  if (topicOptions.maxInactivityMs) want.inactive_threshold = nanos(topicOptions.maxInactivityMs);
  if (filterSubject) want.filter_subject = filterSubject;
  return want;
}

/** Whether an existing consumer's config differs from the desired one in what can be updated. */
export function consumerNeedsUpdate(c: Partial<ConsumerConfig>, want: Partial<ConsumerConfig>): boolean {
  return (
    !sameNumber(c.ack_wait, want.ack_wait) ||
    !sameNumber(c.max_ack_pending, want.max_ack_pending) ||
    !sameNumber(c.inactive_threshold, want.inactive_threshold) ||
    !sameNumber(c.max_deliver, want.max_deliver) ||
    (c.filter_subject ?? '') !== (want.filter_subject ?? '')
  );
}

/** The update sent for a consumer whose config needs one. */
export function consumerUpdateFor(want: Partial<ConsumerConfig>): Partial<ConsumerConfig> {
  return {
    ack_wait: want.ack_wait,
    max_ack_pending: want.max_ack_pending,
    inactive_threshold: want.inactive_threshold ?? 0,
    description: want.description,
    max_deliver: want.max_deliver ?? -1,
    // undefined (not ""): the client then sends no filter, which removes one.
    filter_subject: want.filter_subject,
  };
}
