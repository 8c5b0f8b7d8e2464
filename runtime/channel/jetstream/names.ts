/**
 * NATS names of the JetStream channel: streams, durable consumers and subjects of a topic.
 * Pure.
 */
import { createHash } from 'node:crypto';

export const STREAM_PREFIX = 'EM_';
const SAFE_TOPIC = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/;
const MAX_NAME = 200;

/**
 * Escape a topic or consumer name into a NATS name (no ".", "*", ">", whitespace, path
 * separators): [a-z0-9-] kept, "." → "_", any other character → "_X" + UTF-8 hex
 * (upper case). Injective: "_X" can only come from an escape since "X" is escaped itself.
 * Names longer than 200 characters are cut and suffixed with a hash.
 */
export function escapeName(name: string): string {
  let out = '';
  for (const ch of name) {
    if (/[a-z0-9-]/.test(ch)) out += ch;
    else if (ch === '.') out += '_';
    else out += `_X${Buffer.from(ch, 'utf8').toString('hex').toUpperCase()}`;
  }
  if (out.length > MAX_NAME) {
    const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
    out = `${out.slice(0, MAX_NAME - 17)}_${hash}`;
  }
  return out;
}

/** Stream of a topic: `channel.kyma-integration.commerce` → `EM_channel_kyma-integration_commerce`. */
export function streamNameFor(topic: string): string {
  return STREAM_PREFIX + escapeName(topic);
}

/** Durable consumer name: `sub.ns.name` → `sub_ns_name`. */
export function durableNameFor(consumer: string): string {
  return escapeName(consumer);
}

/** Subject of a topic: `em.<topic>` for plain topics, `emx.<escaped>` otherwise. */
export function subjectFor(topic: string): string {
  return SAFE_TOPIC.test(topic) ? `em.${topic}` : `emx.${escapeName(topic)}`;
}
