/**
 * Reading a reply event out of a subscriber's 2xx response (pure): binary mode
 * (`ce-specversion` header) or structured/batch (`application/cloudevents…` Content-Type).
 * Any other response body is not a reply and is ignored.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { decodeHttpEvents, EventValidationError } from '../../cloudevents';
import type { CloudEventJson } from '../../cloudevents';

export type ReplyParse =
  | { readonly kind: 'none' }
  | { readonly kind: 'events'; readonly events: CloudEventJson[] }
  | { readonly kind: 'invalid'; readonly message: string };

export function parseReply(headers: IncomingHttpHeaders | undefined, body: Buffer | undefined, truncated = false): ReplyParse {
  if (!headers) return { kind: 'none' };
  const ct = String(headers['content-type'] ?? '').toLowerCase();
  const looksLikeEvent = headers['ce-specversion'] !== undefined || ct.startsWith('application/cloudevents');
  if (!looksLikeEvent) return { kind: 'none' };
  if (truncated) return { kind: 'invalid', message: 'the reply body is larger than the dispatcher accepts' };
  try {
    return { kind: 'events', events: decodeHttpEvents(headers, body ?? Buffer.alloc(0)).events };
  } catch (err) {
    if (err instanceof EventValidationError) return { kind: 'invalid', message: err.message };
    throw err;
  }
}
