/**
 * The legacy Kyma Event Service API (`POST /v1/events`), kept byte-compatible:
 *
 *   request  {"event-type","event-type-version","event-id"?,"event-time","data"}
 *   success  200 {"event-id": "<id>"}
 *   errors   {"status","type","message","moreInfo","details":[{"field","type","message","moreInfo"}]}
 *
 * Validation order (the first problem is reported, as the legacy service did):
 * event-type, event-type-version, event-time, event-id, data.
 */
import { randomUUID } from 'node:crypto';
import { CloudEventJson, DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth, isRfc3339, jsonTooDeepMessage } from '../cloudevents';

/**
 * The legacy service's event-type rule: a letter, then letters and digits, single ".",
 * "-" or "_" between them. The legacy service wrote it `^[a-zA-Z]+([_\-.]?[a-zA-Z0-9]+)*$`,
 * whose nested quantifiers take exponential time on `aaaa…a!` (one request stalled the
 * event loop for seconds). This is the same language without ambiguity: every character
 * has exactly one place in the pattern, so matching is linear.
 */
export const LEGACY_EVENT_TYPE = /^[a-zA-Z][a-zA-Z0-9]*(?:[_.-][a-zA-Z0-9]+)*$/;
export const LEGACY_EVENT_TYPE_VERSION = /^[a-zA-Z0-9]+$/;
export const LEGACY_EVENT_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export interface LegacyErrorDetail {
  field: string;
  type: 'missing_field' | 'invalid_field';
  message: string;
  moreInfo: string;
}

export interface LegacyError {
  status: number;
  type: string;
  message: string;
  moreInfo: string;
  details?: LegacyErrorDetail[];
}

export class LegacyRequestError extends Error {
  constructor(readonly body: LegacyError) {
    super(body.moreInfo || body.message);
    this.name = 'LegacyRequestError';
  }
  get status(): number {
    return this.body.status;
  }
  /** Reason label for metrics. */
  get reason(): string {
    return this.body.details?.[0]?.type ?? this.body.type;
  }
}

export function legacyError(status: number, type: string, message: string, moreInfo = ''): LegacyError {
  return { status, type, message, moreInfo };
}

function missing(field: string, moreInfo: string): LegacyRequestError {
  return new LegacyRequestError({
    status: 400,
    type: 'validation_violation',
    message: 'Missing field',
    moreInfo,
    details: [{ field, type: 'missing_field', message: 'Missing field', moreInfo }],
  });
}

function invalid(field: string, moreInfo: string): LegacyRequestError {
  return new LegacyRequestError({
    status: 400,
    type: 'validation_violation',
    message: 'Invalid field',
    moreInfo,
    details: [{ field, type: 'invalid_field', message: 'Invalid field', moreInfo }],
  });
}

function badPayload(moreInfo: string): LegacyRequestError {
  return new LegacyRequestError(legacyError(400, 'bad_payload_syntax', 'Bad payload syntax', moreInfo));
}

const empty = (v: unknown) => v === undefined || v === null || v === '';

/**
 * Parse and validate a legacy request body and convert it to a CloudEvent: type =
 * event-type, extension `eventtypeversion`, source = the application, id = event-id or a
 * new UUIDv4, time = event-time, datacontenttype application/json.
 * Throws LegacyRequestError with the legacy error body (400 bad_payload_syntax for a body
 * nested deeper than `maxJsonDepth`).
 */
export function legacyToCloudEvent(body: Buffer, application: string, maxJsonDepth = DEFAULT_MAX_JSON_DEPTH): CloudEventJson {
  if (exceedsJsonDepth(body, maxJsonDepth)) throw badPayload(jsonTooDeepMessage('the body', maxJsonDepth));
  let req: unknown;
  try {
    req = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw badPayload(`the body is not valid JSON: ${(e as Error).message}`);
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req)) {
    throw badPayload('the body must be a JSON object with event-type, event-type-version, event-time and data');
  }
  const r = req as Record<string, unknown>;
  for (const f of ['event-type', 'event-type-version', 'event-id', 'event-time']) {
    if (!empty(r[f]) && typeof r[f] !== 'string') throw badPayload(`${f} must be a string, got ${JSON.stringify(r[f])}`);
  }
  const type = r['event-type'] as string | undefined;
  const version = r['event-type-version'] as string | undefined;
  const id = r['event-id'] as string | undefined;
  const time = r['event-time'] as string | undefined;

  if (empty(type)) throw missing('event-type', 'event-type is required, e.g. "order.created"');
  if (!LEGACY_EVENT_TYPE.test(type!)) {
    throw invalid('event-type', `event-type must be letters and digits separated by single ".", "-" or "_" and start with a letter, e.g. "order.created", got ${JSON.stringify(type)}`);
  }
  if (empty(version)) throw missing('event-type-version', 'event-type-version is required, e.g. "v1"');
  if (!LEGACY_EVENT_TYPE_VERSION.test(version!)) {
    throw invalid('event-type-version', `event-type-version must be letters and digits only, e.g. "v1", got ${JSON.stringify(version)}`);
  }
  if (empty(time)) throw missing('event-time', 'event-time is required: an RFC 3339 timestamp such as "2026-01-01T12:00:00Z"');
  if (!isRfc3339(time!)) throw invalid('event-time', `event-time must be an RFC 3339 timestamp such as "2026-01-01T12:00:00Z", got ${JSON.stringify(time)}`);
  if (!empty(id) && !LEGACY_EVENT_ID.test(id!)) {
    throw invalid('event-id', `event-id must be a UUID such as "8954ad1c-78ed-4c58-a639-68bd44031de0" (or left out to get one), got ${JSON.stringify(id)}`);
  }
  if (empty(r.data)) throw missing('data', 'data is required: the event payload (any JSON value)');

  return {
    specversion: '1.0',
    id: empty(id) ? randomUUID() : id!,
    source: application,
    type: type!,
    time: time!,
    datacontenttype: 'application/json',
    eventtypeversion: version!,
    data: r.data,
  };
}
