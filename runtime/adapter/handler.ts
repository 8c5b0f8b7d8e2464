/**
 * The adapter's request handling: routes a request to the CloudEvents endpoint (`/events`),
 * the legacy Event Service endpoint (`/v1/events`) or the probes and metrics, decodes the
 * events, sets `source` to the application and publishes them on the channel, mapping every
 * failure to a status code and a JSON error. I/O only through the request, the response and
 * the channel it is given.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Channel, ChannelFullError, ChannelUnavailableError } from '../channel/channel';
import { adoptTraceContext, decodeHttpEvents, EventValidationError, toChannelBytes } from '../cloudevents';
import type { CloudEventJson } from '../cloudevents';
import { BodyTooLargeError, readBody, RequestAbortedError, sendError, sendJson } from '../http';
import type { Logger, Registry } from '../observability';
import type { AuthDecision } from './auth';
import { legacyError, LegacyRequestError, legacyToCloudEvent } from './legacy';
import type { AdapterMetrics } from './metrics';
import { webhookHandshake } from './webhook';

export interface AdapterHandlerContext {
  readonly application: string;
  readonly channel: Channel;
  readonly topic: string;
  readonly maxBodyBytes: number;
  /** Deepest nesting of arrays and objects in a JSON body. @default 64 */
  readonly maxJsonDepth?: number;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: AdapterMetrics;
  /** The adapter is shutting down (answers carry `connection: close`, /readyz says 503). */
  isClosing(): boolean;
  /** The channel topic has been created. */
  isTopicReady(): boolean;
  /** Authentication of the event endpoints (POST and OPTIONS); undefined lets every request in. */
  authorize?(req: IncomingMessage): AuthDecision | undefined;
  /** Origins the webhook handshake (OPTIONS) allows; `*` for all. @default ["*"] */
  readonly webhookAllowedOrigins?: readonly string[];
  /** Serve /healthz, /readyz and /metrics here too (false: they have a port of their own). */
  readonly probes: boolean;
  /** Where the probes are served instead (named in the 404 when `probes` is false). */
  probeUrl?(): string | undefined;
}

/** A request handler for one adapter; it rejects only on unexpected errors (the server answers 500). */
export function createAdapterHandler(ctx: AdapterHandlerContext): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { application, channel, topic, maxBodyBytes, logger, registry, metrics } = ctx;

  const publishAll = async (events: CloudEventJson[], rawData?: readonly (Uint8Array | undefined)[]): Promise<void> => {
    const start = performance.now();
    if (events.length === 1) {
      await channel.publish(topic, toChannelBytes(events[0], rawData?.[0]));
    } else {
      await Promise.all(events.map((ev, i) => channel.publish(topic, toChannelBytes(ev, rawData?.[i]))));
    }
    metrics.publish.observe((performance.now() - start) / 1000);
  };

  const reject = (res: ServerResponse, status: number, reason: string, message: string, extra: { attribute?: string; headers?: Record<string, string | number> } = {}) => {
    metrics.rejected.inc({ reason });
    sendError(res, status, reason, message, extra);
  };

  const channelError = (res: ServerResponse, e: unknown, legacy: boolean) => {
    if (e instanceof ChannelUnavailableError) {
      metrics.rejected.inc({ reason: 'channel_unavailable' });
      const headers = { 'retry-after': String(Math.max(1, Math.ceil(e.retryAfterSeconds))) };
      if (legacy) sendJson(res, 503, legacyError(503, 'service_unavailable', 'Service unavailable', `${e.message}: retry later`), headers);
      else sendError(res, 503, 'channel_unavailable', `the event channel is unavailable (${e.message}): retry after ${headers['retry-after']} s`, { headers });
      logger.warn({ err: e.message, topic }, 'publish failed: channel unavailable');
      return;
    }
    if (e instanceof ChannelFullError) {
      metrics.rejected.inc({ reason: 'channel_full' });
      if (legacy) sendJson(res, 507, legacyError(507, 'insufficient_storage', 'Insufficient storage', e.message));
      else sendError(res, 507, 'channel_full', `the event channel is full (${e.message}): retry later, events are not accepted until consumers catch up`);
      logger.error({ err: e.message, topic }, 'publish failed: channel full');
      return;
    }
    metrics.rejected.inc({ reason: 'internal_error' });
    logger.error({ err: (e as Error)?.message ?? String(e), topic }, 'publish failed');
    if (legacy) sendJson(res, 500, legacyError(500, 'internal_server_error', 'Some unexpected internal error occurred, please contact support.'));
    else sendError(res, 500, 'internal_error', 'the event could not be stored because of an internal error; retry later');
  };

  const readOrReject = async (req: IncomingMessage, res: ServerResponse, legacy: boolean): Promise<Buffer | undefined> => {
    try {
      return await readBody(req, maxBodyBytes);
    } catch (e) {
      if (e instanceof BodyTooLargeError) {
        res.setHeader('connection', 'close');
        if (legacy) {
          metrics.rejected.inc({ reason: 'request_body_too_large' });
          sendJson(res, 413, legacyError(413, 'request_body_too_large', 'Request body too large', e.message));
        } else {
          reject(res, 413, 'request_body_too_large', e.message);
        }
      } else {
        // readBody rejects only with these two: the client went away, nobody to answer.
        metrics.rejected.inc({ reason: 'aborted' });
        logger.debug({ err: (e as RequestAbortedError).message }, 'request aborted');
      }
      return undefined;
    }
  };

  const handleEvents = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readOrReject(req, res, false);
    if (!body) return;
    let events: CloudEventJson[];
    let mode: string;
    let rawData: readonly (Uint8Array | undefined)[] | undefined;
    try {
      // rawData: a JSON body is stored as sent, not parsed (to validate it) and serialized again.
      const decoded = decodeHttpEvents(req.headers, body, { rawData: true, maxJsonDepth: ctx.maxJsonDepth });
      events = decoded.events;
      mode = decoded.mode;
      rawData = decoded.rawData;
    } catch (e) {
      if (e instanceof EventValidationError) {
        reject(res, e.status, e.code, e.message, { attribute: e.attribute });
        return;
      }
      throw e;
    }
    for (const ev of events) ev.source = application;
    try {
      await publishAll(events, rawData);
    } catch (e) {
      channelError(res, e, false);
      return;
    }
    metrics.accepted.inc({ mode }, events.length);
    res.writeHead(202, { 'content-length': 0 });
    res.end();
  };

  const handleLegacy = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readOrReject(req, res, true);
    if (!body) return;
    let ev: CloudEventJson;
    try {
      ev = legacyToCloudEvent(body, application, ctx.maxJsonDepth);
    } catch (e) {
      if (e instanceof LegacyRequestError) {
        metrics.rejected.inc({ reason: e.reason });
        sendJson(res, e.status, e.body);
        return;
      }
      throw e;
    }
    adoptTraceContext(req.headers, [ev]);
    try {
      await publishAll([ev]);
    } catch (e) {
      channelError(res, e, true);
      return;
    }
    metrics.accepted.inc({ mode: 'legacy' });
    sendJson(res, 200, { 'event-id': ev.id });
  };

  /** True when the request may go on; otherwise the refusal is sent and counted. */
  const authorized = (req: IncomingMessage, res: ServerResponse): boolean => {
    const decision = ctx.authorize?.(req);
    if (!decision || decision.allow) return true;
    req.resume();
    metrics.rejected.inc({ reason: decision.reason });
    sendJson(res, decision.status, decision.body, decision.headers);
    return false;
  };

  const handleOptions = (req: IncomingMessage, res: ServerResponse): void => {
    req.resume();
    const answer = webhookHandshake(req.headers, ctx.webhookAllowedOrigins ?? ['*']);
    if (answer.body) {
      metrics.rejected.inc({ reason: 'origin_not_allowed' });
      sendJson(res, answer.status, answer.body, answer.headers);
      return;
    }
    res.writeHead(answer.status, { ...answer.headers, 'content-length': 0 });
    res.end();
  };

  const probesHere = ctx.probes;

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (ctx.isClosing()) res.setHeader('connection', 'close');
    switch (path) {
      case '/':
      case '/events':
        if (method === 'OPTIONS') return authorized(req, res) ? handleOptions(req, res) : undefined;
        if (method !== 'POST') return methodNotAllowed(req, res, 'POST, OPTIONS');
        return authorized(req, res) ? handleEvents(req, res) : undefined;
      case '/v1/events':
        if (method !== 'POST') return methodNotAllowed(req, res, 'POST');
        return authorized(req, res) ? handleLegacy(req, res) : undefined;
      default:
        if (probesHere) return probe(path, method, req, res);
        req.resume();
        return sendError(res, 404, 'not_found', PROBE_PATHS.includes(path)
          ? `${path} is served on the probe port${ctx.probeUrl?.() ? ` (${ctx.probeUrl()}${path})` : ''}, apart from the authenticated event endpoints`
          : notFound(path));
    }
  };

  const probe = async (path: string, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const closing = ctx.isClosing();
    switch (path) {
      case '/healthz':
        if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(req, res, 'GET, HEAD');
        req.resume();
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz': {
        if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(req, res, 'GET, HEAD');
        req.resume();
        const topicReady = ctx.isTopicReady();
        const ready = !closing && topicReady && channel.isReady();
        if (ready) return sendJson(res, 200, { status: 'ready', topic });
        return sendError(res, 503, 'not_ready', closing ? 'the adapter is shutting down' : topicReady ? `the ${channel.kind} channel is not connected` : `the channel topic ${topic} is not ready yet`);
      }
      case '/metrics': {
        if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(req, res, 'GET, HEAD');
        req.resume();
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      default:
        req.resume();
        // Only reached where the probes are served with the event endpoints.
        return sendError(res, 404, 'not_found', notFound(path));
    }
  };

  const methodNotAllowed = (req: IncomingMessage, res: ServerResponse, allow: string) => {
    req.resume();
    sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed here: use ${allow}`, { headers: { allow } });
  };

  return route;
}

const PROBE_PATHS = ['/healthz', '/readyz', '/metrics'];

function notFound(path: string): string {
  return `no endpoint ${JSON.stringify(path)}: post events to /events (CloudEvents) or /v1/events (legacy)`;
}

/** The handler of the plain-HTTP probe port: /healthz, /readyz and /metrics only. */
export function createProbeHandler(ctx: Omit<AdapterHandlerContext, 'probes' | 'authorize' | 'probeUrl'>): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const route = createAdapterHandler({ ...ctx, probes: true, authorize: undefined });
  return async (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (PROBE_PATHS.includes(path)) return route(req, res);
    req.resume();
    sendError(res, 404, 'not_found', `no endpoint ${JSON.stringify(path)} on the probe port: it serves ${PROBE_PATHS.join(', ')}; events go to the adapter's main port`);
  };
}
