/**
 * The per-application HTTP source adapter: receives CloudEvents (binary, structured,
 * batch) and legacy Event Service requests from one application, sets `source` to the
 * application name and stores each event on the application's channel topic
 * (`channelTopic(channelNamespace, channelName)`), answering 2xx only once the channel
 * has durably stored it. See docs/runtime-adapter.md.
 *
 *   server.ts   startAdapter(): channel start-up, listening, graceful close (I/O)
 *   handler.ts  routing, decoding, publishing, error mapping
 *   metrics.ts  the adapter's Prometheus metrics
 *   auth.ts     authentication decisions (pure); authenticator.ts feeds them from requests and files
 *   webhook.ts  the CloudEvents webhook OPTIONS handshake (pure)
 *   legacy.ts   the legacy Event Service API (pure)
 */
export { startAdapter, DEFAULT_MAX_BODY_BYTES, DEFAULT_PROBE_PORT, DEFAULT_SHUTDOWN_GRACE_MS } from './server';
export type { AdapterOptions, AdapterDeps, AdapterHandle } from './server';
export { AUTH_MODES } from './authenticator';
export type { AdapterAuth, AuthMode } from './authenticator';
export { legacyToCloudEvent, LegacyRequestError } from './legacy';
