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
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  ADAPTER_PORT,
  ADAPTER_PROBE_PORT,
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
import { createAuthenticator, type AdapterAuth } from './authenticator';
import { createAdapterHandler, createProbeHandler } from './handler';
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
  /**
   * How clients authenticate: mutual TLS, bearer tokens, or explicitly none. Required, so
   * that no caller gets an open adapter by leaving it out.
   */
  readonly auth: AdapterAuth;
  /**
   * Plain-HTTP port of /healthz, /readyz and /metrics (0 picks a free one).
   * @default 9090 when auth is mtls or token; with auth none the main port serves them
   */
  readonly probePort?: number;
  /** How often mounted certificate and token files are compared besides file events, in ms. @default 1000 */
  readonly reloadPollMs?: number;
  /** Origins the CloudEvents webhook handshake (OPTIONS) allows; "*" for any authenticated sender. @default ["*"] */
  readonly webhookAllowedOrigins?: readonly string[];
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
  /** `http(s)://127.0.0.1:<port>` (or the host it listens on). */
  readonly url: string;
  readonly port: number;
  /** `http://127.0.0.1:<probePort>`: /healthz, /readyz and /metrics (the main url when they share its port). */
  readonly probeUrl: string;
  readonly probePort: number;
  /** Certificate, CA and token reloads applied since start. */
  reloads(): number;
  /** The channel topic events are stored on. */
  readonly topic: string;
  readonly channel: Channel;
  /** Stop accepting, finish in-flight requests (up to shutdownGraceMs), close an owned channel. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 65_536;
export const DEFAULT_SHUTDOWN_GRACE_MS = 25_000;
export const DEFAULT_PROBE_PORT = ADAPTER_PROBE_PORT;

/** Start an adapter. Resolves once it listens (the channel may still be connecting: /readyz says). */
export async function startAdapter(options: AdapterOptions, deps: AdapterDeps = {}): Promise<AdapterHandle> {
  const application = options.application;
  if (!application || !isUriReference(application)) {
    throw new Error(`application must be a non-empty name usable as CloudEvents source (e.g. "commerce"), got ${JSON.stringify(application)}`);
  }
  const logger = deps.logger ?? createLogger({ name: 'adapter' });
  // Files first: a missing certificate fails the start before anything connects.
  const auth = createAuthenticator(options.auth, { application, logger, reloadPollMs: options.reloadPollMs });
  const separateProbes = auth.mode !== 'none' || options.probePort !== undefined;
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
  // The wait between two attempts; close() cuts it short rather than wait out the backoff.
  let retryWait: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  const stopRetrying = () => {
    closing = true;
    if (retryWait) {
      clearTimeout(retryWait.timer);
      retryWait.wake();
    }
  };

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
        await new Promise<void>((wake) => (retryWait = { timer: setTimeout(wake, Math.min(5000, 250 * 2 ** Math.min(attempt, 4))), wake }));
        retryWait = undefined;
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
    authorize: (req) => auth.check(req),
    webhookAllowedOrigins: options.webhookAllowedOrigins,
    probes: !separateProbes,
    probeUrl: () => probeUrl,
  });
  let probeUrl: string | undefined;

  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const httpOptions: http.ServerOptions = {
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    headersTimeout,
    // How often Node enforces the two timeouts above (its default is 30 s).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 2))),
    keepAliveTimeout: 5_000,
    maxHeaderSize: 16 * 1024,
  };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      inFlight++;
      res.once('close', () => {
        inFlight--;
      });
      route(req, res).catch((e) => {
        logger.error({ err: (e as Error)?.message ?? String(e), url: req.url }, 'request failed');
        if (!res.headersSent) sendError(res, 500, 'internal_error', 'internal error; retry later');
        else res.destroy();
      });
  };
  const server: http.Server = auth.tlsOptions ? https.createServer({ ...httpOptions, ...auth.tlsOptions }, onRequest) : http.createServer(httpOptions, onRequest);
  if (auth.tlsOptions) {
    auth.attach(server as https.Server);
    // No (or an untrusted, expired) client certificate: the handshake fails; count it.
    server.on('tlsClientError', (err: NodeJS.ErrnoException) => {
      metrics.rejected.inc({ reason: 'tls_handshake_failed' });
      logger.debug({ err: err.message, code: err.code }, 'TLS handshake failed');
    });
  }
  server.on('clientError', answerClientError(logger));

  const listen = (srv: http.Server, port: number) => new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, options.host ?? '0.0.0.0', () => {
      srv.off('error', reject);
      resolve();
    });
  });
  const probeServer = separateProbes ? http.createServer(httpOptions, (req, res) => {
    probeRoute(req, res).catch((e) => {
      logger.error({ err: (e as Error)?.message ?? String(e), url: req.url }, 'probe request failed');
      if (!res.headersSent) sendError(res, 500, 'internal_error', 'internal error; retry later');
      else res.destroy();
    });
  }) : undefined;
  const probeRoute = createProbeHandler({
    application, channel, topic, maxBodyBytes, logger, registry, metrics,
    isClosing: () => closing,
    isTopicReady: () => topicReady,
  });
  try {
    await listen(server, options.port ?? ADAPTER_PORT);
    if (probeServer) await listen(probeServer, options.probePort ?? ADAPTER_PROBE_PORT);
  } catch (e) {
    server.close();
    auth.close();
    stopRetrying();
    await preparing.catch(() => undefined);
    if (ownsChannel) await channel.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const probePort = probeServer ? (probeServer.address() as AddressInfo).port : port;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const url = `${auth.tlsOptions ? 'https' : 'http'}://${hostPart}:${port}`;
  probeUrl = probeServer ? `http://${hostPart}:${probePort}` : url;
  logger.info({ port, probePort, auth: auth.mode, tls: !!auth.tlsOptions, application, topic, channel: channel.kind }, 'adapter listening');

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    if (closed) return closed;
    stopRetrying();
    closed = (async () => {
      const stopped = new Promise<void>((r) => server.close(() => r()));
      auth.close();
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        server.closeIdleConnections();
      }
      server.closeAllConnections();
      await stopped;
      // The probes answer (/readyz 503) until the event port has drained.
      if (probeServer) {
        const probesStopped = new Promise<void>((r) => probeServer.close(() => r()));
        probeServer.closeAllConnections();
        await probesStopped;
      }
      await preparing.catch(() => undefined);
      if (ownsChannel) await channel.close();
      logger.info({ application }, 'adapter stopped');
    })();
    return closed;
  };

  return { url, port, probeUrl, probePort, topic, channel, reloads: () => auth.reloads(), close };
}
