/**
 * The per-application HTTP source adapter's server: starts the channel, listens, hands
 * each request to the handler (handler.ts) and shuts down gracefully. Does I/O (sockets,
 * channel). See docs/runtime-adapter.md.
 *
 *   const adapter = await startAdapter({ application: 'commerce', port: 0 }, { channel });
 *   // POST `${adapter.url}/events` …
 *   await adapter.close();
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ADAPTER_PORT,
  applicationChannelName,
  channelTopic,
  DEFAULT_INTEGRATION_NAMESPACE,
} from '../../constructs/api';
import type { Channel, TopicOptions } from '../channel/channel';
import { ChannelConfig, createChannel, topicOptionsFor } from '../channel/factory';
import { isUriReference } from '../cloudevents';
import { answerClientError, sendError } from '../http';
import { createLogger, createMetricsRegistry } from '../observability';
import type { Logger, Registry } from '../observability';
import { createAdapterHandler } from './handler';
import { metricsIn } from './metrics';

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
  /** Deepest nesting of arrays and objects in a JSON body; deeper gets 400. @default 64 */
  readonly maxJsonDepth?: number;
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
  const channel = deps.channel ?? createChannel(options.channel ?? { kind: 'nats' }, { logger, name: `adapter-${application}` });
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

  const route = createAdapterHandler({
    application,
    channel,
    topic,
    maxBodyBytes,
    maxJsonDepth: options.maxJsonDepth,
    logger,
    registry,
    metrics,
    isClosing: () => closing,
    isTopicReady: () => topicReady,
  });

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
  server.on('clientError', answerClientError(logger));

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
