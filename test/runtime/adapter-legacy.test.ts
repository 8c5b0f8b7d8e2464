/**
 * The legacy Kyma Event Service body (`POST /v1/events`) on its own: legacyToCloudEvent's
 * conversion and each error in the legacy format (status, type, message, moreInfo and the
 * field detail) in the documented validation order, and the adapter's metrics registered
 * once per registry. Pure: no server (adapter.test.ts drives the endpoint over HTTP).
 */
import { Registry } from 'prom-client';
import { legacyError, LegacyRequestError, legacyToCloudEvent } from '../../runtime/adapter/legacy';
import { metricsIn } from '../../runtime/adapter/metrics';
import { thrown } from '../support/thrown';

const ok = { 'event-type': 'order.created', 'event-type-version': 'v1', 'event-time': '2026-01-01T12:00:00Z', data: { orderId: 1 } };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const errorOf = (body: unknown, raw?: string, maxJsonDepth?: number): LegacyRequestError =>
  thrown(() => legacyToCloudEvent(Buffer.from(raw ?? JSON.stringify(body)), 'commerce', maxJsonDepth), LegacyRequestError);
const field = (kind: 'Missing' | 'Invalid', name: string, moreInfo: string) => ({
  status: 400,
  type: 'validation_violation',
  message: `${kind} field`,
  moreInfo,
  details: [{ field: name, type: kind === 'Missing' ? 'missing_field' : 'invalid_field', message: `${kind} field`, moreInfo }],
});
const bad = (moreInfo: string) => ({ status: 400, type: 'bad_payload_syntax', message: 'Bad payload syntax', moreInfo });

describe('legacyToCloudEvent', () => {
  it('converts: type, eventtypeversion, the application as source, the given id or a new UUID, time, JSON data', () => {
    expect(legacyToCloudEvent(Buffer.from(JSON.stringify({ ...ok, 'event-id': '8954ad1c-78ed-4c58-a639-68bd44031de0' })), 'commerce')).toEqual({
      specversion: '1.0',
      id: '8954ad1c-78ed-4c58-a639-68bd44031de0',
      source: 'commerce',
      type: 'order.created',
      time: '2026-01-01T12:00:00Z',
      datacontenttype: 'application/json',
      eventtypeversion: 'v1',
      data: { orderId: 1 },
    });
    for (const noId of [{ ...ok }, { ...ok, 'event-id': '' }, { ...ok, 'event-id': null }]) expect(legacyToCloudEvent(Buffer.from(JSON.stringify(noId)), 'a').id).toMatch(UUID);
    expect(legacyToCloudEvent(Buffer.from(JSON.stringify({ ...ok, data: 0 })), 'a').data).toBe(0);
    expect(legacyToCloudEvent(Buffer.from(JSON.stringify({ ...ok, data: false })), 'a').data).toBe(false);
  });

  it('bad payloads: too deep, not JSON, not an object, a field that is not a string', () => {
    expect(errorOf(undefined, '[[[[1]]]]', 3).body).toEqual(bad('the body nests arrays and objects more than 3 levels deep: flatten it (the limit is set with --max-json-depth / MAX_JSON_DEPTH)'));
    expect(() => legacyToCloudEvent(Buffer.from(JSON.stringify({ ...ok, data: [[1]] })), 'a', 3)).not.toThrow();
    expect(errorOf(undefined, '{"event-type":').body.moreInfo).toMatch(/^the body is not valid JSON: .+/);
    const notObject = bad('the body must be a JSON object with event-type, event-type-version, event-time and data');
    for (const v of [null, [ok], 'x', 5]) expect(errorOf(v).body).toEqual(notObject);
    for (const f of ['event-type', 'event-type-version', 'event-id', 'event-time']) expect(errorOf({ ...ok, [f]: 7 }).body).toEqual(bad(`${f} must be a string, got 7`));
    expect(errorOf({ ...ok, 'event-time': { t: 1 } }).body).toEqual(bad('event-time must be a string, got {"t":1}'));
  });

  it('each field: missing (absent, null or empty) or invalid, with its fix', () => {
    const without = (f: string, v: unknown = undefined) => ({ ...ok, [f]: v });
    for (const v of [undefined, null, '']) expect(errorOf(without('event-type', v)).body).toEqual(field('Missing', 'event-type', 'event-type is required, e.g. "order.created"'));
    expect(errorOf(without('event-type', 'order..created')).body).toEqual(
      field('Invalid', 'event-type', 'event-type must be letters and digits separated by single ".", "-" or "_" and start with a letter, e.g. "order.created", got "order..created"'),
    );
    expect(errorOf(without('event-type-version')).body).toEqual(field('Missing', 'event-type-version', 'event-type-version is required, e.g. "v1"'));
    expect(errorOf(without('event-type-version', 'v.1')).body).toEqual(field('Invalid', 'event-type-version', 'event-type-version must be letters and digits only, e.g. "v1", got "v.1"'));
    expect(errorOf(without('event-time')).body).toEqual(field('Missing', 'event-time', 'event-time is required: an RFC 3339 timestamp such as "2026-01-01T12:00:00Z"'));
    expect(errorOf(without('event-time', '2026-02-30T00:00:00Z')).body).toEqual(field('Invalid', 'event-time', 'event-time must be an RFC 3339 timestamp such as "2026-01-01T12:00:00Z", got "2026-02-30T00:00:00Z"'));
    expect(errorOf(without('event-id', 'nope')).body).toEqual(field('Invalid', 'event-id', 'event-id must be a UUID such as "8954ad1c-78ed-4c58-a639-68bd44031de0" (or left out to get one), got "nope"'));
    for (const v of [undefined, null, '']) expect(errorOf(without('data', v)).body).toEqual(field('Missing', 'data', 'data is required: the event payload (any JSON value)'));
  });

  it('reports the first problem in the legacy order: event-type, event-type-version, event-time, event-id, data', () => {
    const all = { 'event-id': 'x', 'event-time': 'x', 'event-type-version': '', data: null };
    expect(errorOf(all).body.details![0].field).toBe('event-type');
    expect(errorOf({ ...all, 'event-type': 'a' }).body.details![0].field).toBe('event-type-version');
    expect(errorOf({ ...all, 'event-type': 'a', 'event-type-version': 'v1' }).body.details![0].field).toBe('event-time');
    expect(errorOf({ ...all, 'event-type': 'a', 'event-type-version': 'v1', 'event-time': ok['event-time'] }).body.details![0].field).toBe('event-id');
    expect(errorOf({ ...all, 'event-type': 'a', 'event-type-version': 'v1', 'event-time': ok['event-time'], 'event-id': undefined }).body.details![0].field).toBe('data');
  });
});

describe('LegacyRequestError', () => {
  it('its message is moreInfo, or the message when moreInfo is empty; status and reason from the body', () => {
    const e = errorOf({ ...ok, 'event-type': '' });
    expect([e.name, e.message, e.status, e.reason]).toEqual(['LegacyRequestError', 'event-type is required, e.g. "order.created"', 400, 'missing_field']);
    const plain = new LegacyRequestError(legacyError(413, 'request_body_too_large', 'Request body too large'));
    expect([plain.message, plain.status, plain.reason, plain.body]).toEqual(['Request body too large', 413, 'request_body_too_large', { status: 413, type: 'request_body_too_large', message: 'Request body too large', moreInfo: '' }]);
    expect(new LegacyRequestError({ ...legacyError(400, 't', 'm'), details: [] }).reason).toBe('t');
  });
});

describe('adapter metrics', () => {
  it('registers accepted, rejected and the publish histogram once per registry, with their labels and buckets', async () => {
    const registry = new Registry();
    const m = metricsIn(registry);
    expect(metricsIn(registry).accepted).toBe(m.accepted);
    expect(metricsIn(registry).rejected).toBe(m.rejected);
    expect(metricsIn(registry).publish).toBe(m.publish);
    m.accepted.inc({ mode: 'binary' });
    m.rejected.inc({ reason: 'invalid_attribute' });
    m.publish.observe(0.003);
    const json = await registry.getMetricsAsJSON();
    const byName = Object.fromEntries(json.map((x) => [x.name, x]));
    expect(Object.keys(byName).sort()).toEqual(['event_mesh_adapter_events_accepted_total', 'event_mesh_adapter_events_rejected_total', 'event_mesh_adapter_publish_duration_seconds']);
    expect(byName.event_mesh_adapter_events_accepted_total.values).toEqual([{ value: 1, labels: { mode: 'binary' } }]);
    expect(byName.event_mesh_adapter_events_rejected_total.values).toEqual([{ value: 1, labels: { reason: 'invalid_attribute' } }]);
    const buckets = byName.event_mesh_adapter_publish_duration_seconds.values.filter((v) => (v as { metricName?: string }).metricName === 'event_mesh_adapter_publish_duration_seconds_bucket').map((v) => v.labels.le);
    expect(buckets).toEqual([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, '+Inf']);
    // A second registry gets its own.
    expect(metricsIn(new Registry()).accepted).not.toBe(m.accepted);
  });
});
