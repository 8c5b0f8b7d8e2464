/**
 * Attribute-carrying subjects of the JetStream channel and the consumer filter subjects
 * that select on them (server-side filtering). Pure.
 *
 *   emf.<topic>.<type>.<source>.<eventtypeversion>
 *
 * - Exactly one token for the topic (`escapeName`, so topic `a.b` is one token and stream
 *   subjects of two topics never overlap) and a fixed number of attribute tokens.
 * - Every token is `escapeName` of the value, which never maps two values to one token; an
 *   absent attribute is `_X` and the empty string `_X_`, which no escaped value can be
 *   (`_X` is always followed by hex digits in an escape).
 * - A consumer's filter puts the token of each required exact value in its place and `*`
 *   elsewhere, so the server may pass more than the Trigger's predicate accepts but never
 *   less: the predicate still runs on every delivery.
 * - The topic's stream listens on `emf.<topic>.*.*.*` only. Events stored under the old
 *   layout (`subjectFor`, `em.<topic>`) stay in the stream; see `filterIsSafe`.
 */
import type { EventAttributes } from '../channel';
import { attributeString } from '../channel';
import { escapeName } from './names';

export const FILTER_SUBJECT_PREFIX = 'emf';
/** The attributes that get a subject token, in token order. */
export const SUBJECT_ATTRIBUTES = ['type', 'source', 'eventtypeversion'] as const;
export const ABSENT_TOKEN = '_X';
export const EMPTY_TOKEN = '_X_';

const MAX_CACHED = 10_000;
const tokens = new Map<string, string>();

/** The subject token of one attribute value (memoized: values repeat on the hot path). */
export function attributeToken(value: string | undefined): string {
  if (value === undefined) return ABSENT_TOKEN;
  if (value === '') return EMPTY_TOKEN;
  let token = tokens.get(value);
  if (token === undefined) {
    token = escapeName(value);
    if (tokens.size >= MAX_CACHED) tokens.clear();
    tokens.set(value, token);
  }
  return token;
}

function topicPrefix(topic: string): string {
  return `${FILTER_SUBJECT_PREFIX}.${attributeToken(topic)}.`;
}

/** The stream subject of a topic: `emf.<topic>.*.*.*`. */
export function streamSubjectFor(topic: string): string {
  return topicPrefix(topic) + SUBJECT_ATTRIBUTES.map(() => '*').join('.');
}

/** The subject an event is published on (no attributes: every attribute token absent). */
export function publishSubjectFor(topic: string, attributes?: EventAttributes): string {
  const prefix = topicPrefix(topic);
  if (!attributes) return prefix + SUBJECT_ATTRIBUTES.map(() => ABSENT_TOKEN).join('.');
  let subject = prefix;
  for (let i = 0; i < SUBJECT_ATTRIBUTES.length; i++) subject += (i ? '.' : '') + attributeToken(attributeString(attributes, SUBJECT_ATTRIBUTES[i]));
  return subject;
}

/**
 * The consumer filter subject for a prefilter, or undefined when it names none of the
 * subject attributes (the consumer then reads the whole stream).
 */
export function filterSubjectFor(topic: string, prefilter?: Readonly<Record<string, string>>): string | undefined {
  if (!prefilter) return undefined;
  let any = false;
  const parts = SUBJECT_ATTRIBUTES.map((name) => {
    if (!Object.prototype.hasOwnProperty.call(prefilter, name)) return '*';
    any = true;
    return attributeToken(prefilter[name]);
  });
  return any ? topicPrefix(topic) + parts.join('.') : undefined;
}

/** Whether `subject` matches the filter subject `filter` (NATS wildcards `*` and `>`). */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== '*' && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}

/**
 * Migration from the old layout: a filter on the new subjects would skip events still
 * stored under the old subject, so a consumer may filter only once it has acknowledged
 * everything up to the last old-subject sequence (`lastOldSeq`, 0 when there is none).
 */
export function filterIsSafe(ackFloor: number, lastOldSeq: number): boolean {
  return ackFloor >= lastOldSeq;
}
