/**
 * The per-application HTTP source adapter: receives CloudEvents (binary, structured,
 * batch) and legacy Event Service requests from one application, sets `source` to the
 * application name and stores each event on the application's channel topic
 * (`channelTopic(channelNamespace, channelName)`), answering 2xx only once the channel
 * has durably stored it. See docs/runtime-adapter.md.
 *
 *   const adapter = await startAdapter({ application: 'commerce', port: 0 }, { channel });
 *   // POST `${adapter.url}/events` …
 *   await adapter.close();
 */
import http, { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram } from 'prom-client';
import {
  ADAPTER_PORT,
  applicationChannelName,
  channelTopic,
  DEFAULT_INTEGRATION_NAMESPACE,
} from '../../constructs/api';
import { Channel, ChannelFullError, ChannelUnavailableError, TopicOptions } from '../channel/channel';
import { ChannelConfig, createChannel, topicOptionsFor } from '../channel/factory';
import { decodeHttpEvents, EventValidationError, isUriReference, toChannelBytes } from '../cloudevents';
import type { CloudEventJson } from '../cloudevents';
import { BodyTooLargeError, readBody, RequestAbortedError, sendError, sendJson } from '../http';
import { createLogger, createMetricsRegistry } from '../observability';
import type { Logger, Registry } from '../observability';
import { legacyError, LegacyRequestError, legacyToCloudEvent } from './legacy';

export interface AdapterOptions {
  /** The application's name: becomes every event's `source`. Required. */
  readonly application: string;
  /** Namespace of the application channel. @default "kyma-integration" */
  readonly channelNamespace?: string;
  /** Name of the application channel. @default the application name */
  readonly channelName?: string;
  /** Port to listen on; 0 picks a free one. @default 8080 */
  readonly port?: number;
  /** Address to listen on. @default "0.0.0.0" */
  readonly host?: string;
  /** Largest accepted request body (a whole batch). @default 65536 */
  readonly maxBodyBytes?: number;
  /** close(): how long in-flight requests may take before connections are cut. @default 25000 */
  readonly shutdownGraceMs?: number;
  /** Channel to create when `deps.channel` is not given (also gives the topic options). */
  readonly channel?: ChannelConfig;
  /** Options of the channel topic. @default topicOptionsFor(channel config) */
  readonly topic?: TopicOptions;
  /** Whole-request deadline (slow clients get 408). @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Deadline for the request headers (slowloris). @default 10000 */
  readonly headersTimeoutMs?: number;
}

export interface AdapterDeps {
  /** A channel to publish on (dev mode shares one); created from options.channel otherwise. */
  readonly channel?: Channel;
  readonly logger?: Logger;
  /** Registry the adapter's metrics go to (and /metrics serves). */
  readonly registry?: Registry;
}

export interface AdapterHandle {
  /** `http://127.0.0.1:<port>` (or the host it listens on). */
  readonly url: string;
  readonly port: number;
  /** The channel topic events are stored on. */
  readonly topic: string;
  readonly channel: Channel;
  /** Stop accepting, finish in-flight requests (up to shutdownGraceMs), close an owned channel. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 65_536;
export const DEFAULT_SHUTDOWN_GRACE_MS = 25_000;

interface AdapterMetrics {
  accepted: Counter<'mode'>;
  rejected: Counter<'reason'>;
  publish: Histogram<string>;
}

function metricsIn(registry: Registry): AdapterMetrics {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    accepted:
      existing<Counter<'mode'>>('event_mesh_adapter_events_accepted_total') ??
      new Counter({ name: 'event_mesh_adapter_events_accepted_total', help: 'Events stored on the channel (2xx answered), by request mode', labelNames: ['mode'], registers: [registry] }),
    rejected:
      existing<Counter<'reason'>>('event_mesh_adapter_events_rejected_total') ??
      new Counter({ name: 'event_mesh_adapter_events_rejected_total', help: 'Requests to the event endpoints answered with an error, by reason', labelNames: ['reason'], registers: [registry] }),
    publish:
      existing<Histogram<string>>('event_mesh_adapter_publish_duration_seconds') ??
      new Histogram({
        name: 'event_mesh_adapter_publish_duration_seconds',
        help: 'Time from decoded request to the channel durably storing its events',
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
  };
}

/** Start an adapter. Resolves once it listens (the channel may still be connecting: /readyz says). */
export async function startAdapter(options: AdapterOptions, deps: AdapterDeps = {}): Promise<AdapterHandle> {
  const application = options.application;
  if (!application || !isUriReference(application)) {
    throw new Error(`application must be a non-empty name usable as CloudEvents source (e.g. "commerce"), got ${JSON.stringify(application)}`);
  }
  const logger = deps.logger ?? createLogger({ name: 'adapter' });
  const registry = deps.registry ?? createMetricsRegistry();
  const metrics = metricsIn(registry);
  const ownsChannel = !deps.channel;
  const channel = deps.channel ?? await createChannel(options.channel ?? { kind: 'nats' }, { logger, name: `adapter-${application}` });
  const topic = channelTopic(options.channelNamespace ?? DEFAULT_INTEGRATION_NAMESPACE, options.channelName ?? applicationChannelName(application));
  const topicOptions = options.topic ?? topicOptionsFor(options.channel ?? { kind: channel.kind });
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const graceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  let closing = false;
  let topicReady = false;
  let inFlight = 0;

  // Connect and create the topic; keep retrying in the background when the channel is
  // not there yet (the adapter serves 503 and /readyz 503 meanwhile).
  const prepare = async (): Promise<void> => {
    for (let attempt = 0; !closing && !topicReady; attempt++) {
      try {
        await channel.connect();
        await channel.ensureTopic(topic, topicOptions);
        topicReady = true;
        logger.info({ topic }, 'channel topic ready');
      } catch (e) {
        logger.warn({ err: (e as Error).message, topic, attempt }, 'channel not ready yet; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(attempt, 4))));
      }
    }
  };
  const preparing = prepare();
  // Give a reachable channel the chance to be ready before we listen.
  let startupTimer: NodeJS.Timeout | undefined;
  await Promise.race([preparing, new Promise((r) => (startupTimer = setTimeout(r, 2000)))]);
  clearTimeout(startupTimer);

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
      } else if (e instanceof RequestAbortedError) {
        metrics.rejected.inc({ reason: 'aborted' });
        logger.debug({ err: e.message }, 'request aborted');
      } else {
        reject(res, 400, 'bad_request', 'the request body could not be read');
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
      const decoded = decodeHttpEvents(req.headers, body, { rawData: true });
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
      ev = legacyToCloudEvent(body, application);
    } catch (e) {
      if (e instanceof LegacyRequestError) {
        metrics.rejected.inc({ reason: e.reason });
        sendJson(res, e.status, e.body);
        return;
      }
      throw e;
    }
    try {
      await publishAll([ev]);
    } catch (e) {
      channelError(res, e, true);
      return;
    }
    metrics.accepted.inc({ mode: 'legacy' });
    sendJson(res, 200, { 'event-id': ev.id });
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (closing) res.setHeader('connection', 'close');
    switch (path) {
      case '/':
      case '/events':
        if (method !== 'POST') return methodNotAllowed(req, res, 'POST');
        return handleEvents(req, res);
      case '/v1/events':
        if (method !== 'POST') return methodNotAllowed(req, res, 'POST');
        return handleLegacy(req, res);
      case '/healthz':
        if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(req, res, 'GET, HEAD');
        req.resume();
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz': {
        if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(req, res, 'GET, HEAD');
        req.resume();
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
        return sendError(res, 404, 'not_found', `no endpoint ${JSON.stringify(path)}: post events to /events (CloudEvents) or /v1/events (legacy)`);
    }
  };

  const methodNotAllowed = (req: IncomingMessage, res: ServerResponse, allow: string) => {
    req.resume();
    sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed here: use ${allow}`, { headers: { allow } });
  };

  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const server = http.createServer(
    {
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      headersTimeout,
      // How often Node enforces the two timeouts above (its default is 30 s).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 2))),
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => {
      inFlight++;
      res.once('close', () => {
        inFlight--;
      });
      route(req, res).catch((e) => {
        logger.error({ err: (e as Error)?.message ?? String(e), url: req.url }, 'request failed');
        if (!res.headersSent) sendError(res, 500, 'internal_error', 'internal error; retry later');
        else res.destroy();
      });
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    logger.debug({ err: err.message, code: err.code }, 'malformed HTTP request');
    if (!socket.writable || (socket as unknown as { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({ error: 'bad_request', message: `malformed HTTP request (${err.code ?? err.message})` });
    // Reply, then drop the connection: the peer may never close its side (slowloris).
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`, () => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? ADAPTER_PORT, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  logger.info({ port, application, topic, channel: channel.kind }, 'adapter listening');

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    if (closed) return closed;
    closing = true;
    closed = (async () => {
      const stopped = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        server.closeIdleConnections();
      }
      server.closeAllConnections();
      await stopped;
      await preparing.catch(() => undefined);
      if (ownsChannel) await channel.close();
      logger.info({ application }, 'adapter stopped');
    })();
    return closed;
  };

  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, topic, channel, close };
}

export { legacyToCloudEvent, LegacyRequestError } from './legacy';
