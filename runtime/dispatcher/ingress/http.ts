/**
 * Broker ingress over HTTP: `POST /<namespace>/<broker>` with one CloudEvent (binary or
 * structured) or a batch. Strictly decoded; 202 once every event is durably stored.
 * Never throws: every failure is a JSON error response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChannelFullError, ChannelUnavailableError } from '../../channel/channel';
import { decodeHttpEvents, EventValidationError } from '../../cloudevents';
import { BodyTooLargeError, readBody, RequestAbortedError, sendError } from '../../http';
import type { Logger } from '../../observability';
import type { DispatcherMetrics } from '../metrics';
import { BrokerNotFoundError, BrokerStore } from './broker-store';

/** `/<namespace>/<broker>` (a trailing slash allowed), or undefined. */
export function parseBrokerPath(pathname: string): { namespace: string; broker: string } | undefined {
  const m = /^\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)\/?$/.exec(pathname);
  return m ? { namespace: m[1], broker: m[3] } : undefined;
}

export interface IngressOptions {
  readonly maxBodyBytes: number;
  /** While shutting down new events are refused with 503. */
  readonly accepting: () => boolean;
  /** Deepest nesting of arrays and objects in a JSON body; deeper gets 400. @default 64 */
  readonly maxJsonDepth?: number;
}

export async function handleBrokerIngress(
  req: IncomingMessage,
  res: ServerResponse,
  target: { namespace: string; broker: string },
  store: BrokerStore,
  options: IngressOptions,
  metrics: DispatcherMetrics,
  logger: Logger,
): Promise<void> {
  const { namespace, broker } = target;
  // Knative's event_count / event_dispatch_latencies: one per event (one for a request that
  // never got as far as its events), with the status it was answered.
  let types: readonly (string | undefined)[] = [undefined];
  let storeMs: number | undefined;
  const count = (outcome: string, status: number) => {
    metrics.ingress.inc({ namespace, broker, outcome });
    for (const t of types) metrics.knative.ingress(target, t, status, storeMs);
  };
  if (req.method !== 'POST') {
    req.resume();
    count('method_not_allowed', 405);
    sendError(res, 405, 'method_not_allowed', `broker ingress accepts POST only (got ${req.method}): POST CloudEvents to /${namespace}/${broker}`, { headers: { allow: 'POST' } });
    return;
  }
  if (!store.serves(namespace, broker)) {
    req.resume();
    count('broker_not_found', 404);
    sendError(res, 404, 'broker_not_found', new BrokerNotFoundError(namespace, broker).message);
    return;
  }
  if (!options.accepting()) {
    req.resume();
    count('shutting_down', 503);
    sendError(res, 503, 'shutting_down', 'the dispatcher is shutting down: retry, another replica will take the event', { headers: { 'retry-after': 1 } });
    return;
  }
  try {
    const body = await readBody(req, options.maxBodyBytes);
    const { events } = decodeHttpEvents(req.headers, body, { maxJsonDepth: options.maxJsonDepth });
    types = events.map((e) => e.type);
    const started = performance.now();
    await store.store(namespace, broker, events);
    storeMs = performance.now() - started;
    count('accepted', 202);
    res.writeHead(202, { 'content-length': 0 });
    res.end();
  } catch (err) {
    if (err instanceof EventValidationError) {
      count('invalid', err.status);
      sendError(res, err.status, err.code, err.message, err.attribute === undefined ? {} : { attribute: err.attribute });
    } else if (err instanceof BodyTooLargeError) {
      count('too_large', 413);
      sendError(res, 413, 'body_too_large', err.message, { headers: { connection: 'close' } });
    } else if (err instanceof RequestAbortedError) {
      count('aborted', 0);
      res.destroy();
    } else if (err instanceof BrokerNotFoundError) {
      count('broker_not_found', 404);
      sendError(res, 404, 'broker_not_found', err.message);
    } else if (err instanceof ChannelFullError) {
      count('channel_full', 507);
      sendError(res, 507, 'channel_full', `${err.message}: retry later`);
    } else if (err instanceof ChannelUnavailableError) {
      count('channel_unavailable', 503);
      sendError(res, 503, 'channel_unavailable', `the event store is not available (${err.message}): retry`, { headers: { 'retry-after': err.retryAfterSeconds } });
    } else {
      count('error', 500);
      logger.error({ err, namespace, broker }, 'broker ingress failed');
      sendError(res, 500, 'internal_error', `storing the event failed: ${(err as Error)?.message ?? String(err)}; retry`);
    }
  }
}
