/**
 * Events that retrying cannot help, and the hard bound on redeliveries (pure, apart from
 * hashing).
 *
 * - An event that cannot be encoded for delivery (nested too deep to serialize, for
 *   instance) or a stored message that is not a valid CloudEvent goes to the dead-letter
 *   sink at once, or is dropped and counted when there is none. Retrying would fail the
 *   same way forever, and on an ordered Trigger it would hold back every event behind it.
 * - Whatever the cause (a dead-letter sink that is down for good, a handler that keeps
 *   failing, a process that crashes on a message), a message is handed to a worker at
 *   most `deliveryLimit(policy)` times; the last time it is dead-lettered or dropped. The
 *   channel's own bound (JetStream `max_deliver`) sits just above every worker's limit as
 *   a backstop for crashes the worker never sees.
 */
import { createHash } from 'node:crypto';
import type { CloudEventJson } from '../../cloudevents';
import { deadLetterEvent } from '../events';
import type { DeliveryPolicy } from './policy';

/** Retrying cannot deliver this event: dead-letter or drop it now. */
export class UndeliverableEventError extends Error {
  constructor(readonly reason: 'unencodable' | 'invalid_stored_event' | 'delivery_limit_reached', message: string) {
    super(message);
    this.name = 'UndeliverableEventError';
  }
}

/** Fewest deliveries any route gets (crashes and restarts must not use them up). */
export const MIN_DELIVERY_LIMIT = 10;
/** Most deliveries any route gets; the channel's backstop is one above. */
export const MAX_DELIVERY_LIMIT = 100;
/** What the channel is told (`ConsumerOptions.maxDeliveries`, JetStream `max_deliver`). */
export const CHANNEL_MAX_DELIVERIES = MAX_DELIVERY_LIMIT + 1;

/**
 * How many times one message is handed to a worker at most, from its delivery spec:
 * `retry + 1` (each delivery makes up to `retry + 1` attempts itself), at least 10, at
 * most 100. The delivery numbered this (or later) is the last.
 */
export function deliveryLimit(policy: Pick<DeliveryPolicy, 'retry'>): number {
  return Math.min(MAX_DELIVERY_LIMIT, Math.max(MIN_DELIVERY_LIMIT, policy.retry + 1));
}

/** CloudEvents type of the dead letter for a stored message that is not an event. */
export const UNDELIVERABLE_EVENT_TYPE = 'dev.event-mesh.undeliverable';
/**
 * Media type of the stored bytes a dead letter for an undeliverable event carries. Not
 * `application/cloudevents+json`: in binary mode that Content-Type would make receivers
 * read the body as a structured event and ignore the dead letter's own attributes.
 */
export const STORED_EVENT_MEDIA_TYPE = 'application/octet-stream';

const ATTRIBUTES_DROPPED = new Set(['data', 'data_base64', 'datacontenttype', 'dataschema']);

/**
 * The dead letter for a message that cannot be delivered as it is: the stored bytes as its
 * payload (`data_base64`, `application/octet-stream`: the message exactly as stored, for
 * an event its JSON format),
 * `knativeerrordest` the subscriber and `knativeerrordata` the reason (base64 as Knative
 * sends it). With a parsed `event`, its id, source, type and extensions are kept, so the
 * dead letter is found by the original id; without one (the bytes are not an event) the id
 * is derived from the bytes, so redeliveries of one message give one id.
 */
export function undeliverableDeadLetter(stored: Uint8Array, event: CloudEventJson | undefined, destination: string, route: { kind: string; namespace: string; name: string }, reason: string): CloudEventJson {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const base: Record<string, unknown> = {};
  if (event) {
    for (const name in event) if (!ATTRIBUTES_DROPPED.has(name)) base[name] = event[name];
  } else {
    base.specversion = '1.0';
    base.id = `undeliverable-${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}`;
    base.source = `/event-mesh/dispatcher/${route.kind}/${route.namespace}/${route.name}`;
    base.type = UNDELIVERABLE_EVENT_TYPE;
  }
  base.datacontenttype = STORED_EVENT_MEDIA_TYPE;
  base.data_base64 = bytes.toString('base64');
  return deadLetterEvent(base, destination, undefined, reason) as CloudEventJson;
}
