#!/usr/bin/env node
/**
 * The `event-mesh` command: `adapter`, `dispatcher`, `dev [dir]` and `status [dir]`.
 *
 * Every option has a flag and an environment variable (docs/architecture.md); a flag wins
 * over the variable, the variable over the default. A bad value is reported naming the
 * flag and the variable, with exit code 2 (no stack trace).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { ChannelConfig } from './channel/factory';
import { DEFAULT_MAX_JSON_DEPTH, MAX_JSON_DEPTH_LIMIT } from './cloudevents/json-depth';
import { DEFAULT_INTEGRATION_NAMESPACE, DEFAULT_SYSTEM_NAMESPACE, parseGoDuration, parseIsoDuration, ROUTING_MOUNT_PATH } from '../constructs/api';

export type Command = 'adapter' | 'dispatcher' | 'dev' | 'controller' | 'status' | 'graph';
export const COMMANDS: readonly Command[] = ['adapter', 'dispatcher', 'dev', 'controller', 'status', 'graph'];

type Kind = 'string' | 'port' | 'int' | 'duration' | 'bool' | 'level' | 'channel' | 'map' | 'url' | 'urls' | 'depth' | 'auth' | 'logFormat' | 'graphFormat';

export interface OptionSpec {
  /** Long flag without the dashes; undefined for env-only options (secrets). */
  readonly flag?: string;
  readonly env: string;
  readonly key: keyof CliConfig;
  readonly kind: Kind;
  readonly description: string;
  /** Shown in --help; per command when it differs. */
  readonly defaultText: string | Partial<Record<Command, string>>;
  readonly commands: readonly Command[];
  readonly multiple?: boolean;
}

export interface CliConfig {
  port: number;
  host: string;
  channel: 'nats' | 'kafka' | 'inmemory' | 'pubsub';
  pubsubProject?: string;
  natsUrl: string;
  kafkaBrokers?: string[];
  kafkaUsername: string;
  kafkaPassword?: string;
  kafkaTls: boolean;
  streamMaxAgeMs: number;
  channelMaxInactivityMs: number;
  streamReplicas: number;
  logLevel: string;
  application?: string;
  channelNamespace: string;
  channelName?: string;
  maxBodyBytes: number;
  routing: string;
  /** dispatcher --routing cluster: kubeconfig file (default: in-cluster, then ~/.kube/config). */
  kubeconfig?: string;
  systemNamespace: string;
  clusterDomain: string;
  shutdownGraceMs: number;
  ackWaitMs: number;
  /** dev: `service[.namespace]=url` */
  map: string[];
  /** dev: use NATS at this URL instead of the in-memory channel. */
  devNats?: string;
  /** dev: first adapter port (then +1 per application). */
  adapterPort?: number;
  /** adapter (and dev): how clients authenticate. */
  auth: 'none' | 'mtls' | 'token';
  tlsCertFile?: string;
  tlsKeyFile?: string;
  clientCaFile?: string;
  clientIdentity?: string;
  tokensFile?: string;
  trustedProxies?: string[];
  probePort?: number;
  webhookAllowedOrigins?: string;
  /** controller: namespace of the adapters and channels. */
  integrationNamespace: string;
  /** controller: JSON file with the mesh settings Applications render with (EventMesh props). */
  meshConfig?: string;
  /** controller: server-side apply field manager. */
  fieldManager: string;
  leaseName: string;
  /** controller: @default the system namespace */
  leaseNamespace?: string;
  leaseDurationMs: number;
  /** controller: this replica's name in the Lease. @default POD_NAME, else the host name */
  identity?: string;
  requeueBaseDelayMs: number;
  requeueMaxDelayMs: number;
  resyncMs: number;
  knativeServing: boolean;
  /** json (one object per line, stdout) or pretty (readable lines, stderr). */
  logFormat: 'json' | 'pretty';
  /** dispatcher: fill the event_type label of the Knative-named metrics. */
  metricsEventType: boolean;
  /** dispatcher: one fan-out stage per broker (default: on for nats and inmemory). */
  fanOut?: boolean;
  /** graph: mermaid or dot. */
  graphFormat: 'mermaid' | 'dot';
  /** Deepest nesting of arrays and objects accepted in a JSON body. */
  maxJsonDepth: number;
}

/** The commands that move events (the controller only talks to the API server; `status` and `graph` print and exit). */
const ALL: readonly Command[] = ['adapter', 'dispatcher', 'dev'];
const WITH_CONTROLLER: readonly Command[] = [...ALL, 'controller'];

export const OPTIONS: readonly OptionSpec[] = [
  { flag: 'port', env: 'PORT', key: 'port', kind: 'port', defaultText: '8080', commands: WITH_CONTROLLER, description: 'HTTP port (dev: the broker ingress; adapters follow from --adapter-port)' },
  { flag: 'host', env: 'HOST', key: 'host', kind: 'string', defaultText: { adapter: '0.0.0.0', dispatcher: '0.0.0.0', dev: '127.0.0.1', controller: '0.0.0.0' }, commands: WITH_CONTROLLER, description: 'address to listen on' },
  { flag: 'channel', env: 'EVENT_MESH_CHANNEL', key: 'channel', kind: 'channel', defaultText: { adapter: 'nats', dispatcher: 'nats', dev: 'inmemory' }, commands: ALL, description: 'channel implementation: nats, kafka, pubsub or inmemory' },
  { flag: 'nats-url', env: 'NATS_URL', key: 'natsUrl', kind: 'urls', defaultText: 'nats://127.0.0.1:4222', commands: ALL, description: 'NATS server URL, or a comma-separated list of the cluster nodes (channel nats; the client fails over and reconnects forever)' },
  { flag: 'kafka-brokers', env: 'KAFKA_BROKERS', key: 'kafkaBrokers', kind: 'string', defaultText: '—', commands: ALL, description: 'comma-separated host:port list (channel kafka)' },
  { flag: 'kafka-username', env: 'KAFKA_USERNAME', key: 'kafkaUsername', kind: 'string', defaultText: '$ConnectionString', commands: ALL, description: 'SASL PLAIN user (channel kafka)' },
  { env: 'KAFKA_PASSWORD', key: 'kafkaPassword', kind: 'string', defaultText: '— (env only: a secret)', commands: ALL, description: 'SASL PLAIN password (channel kafka)' },
  { flag: 'kafka-tls', env: 'KAFKA_TLS', key: 'kafkaTls', kind: 'bool', defaultText: 'true', commands: ALL, description: 'use TLS to Kafka: true or false' },
  { flag: 'pubsub-project', env: 'PUBSUB_PROJECT', key: 'pubsubProject', kind: 'string', defaultText: "the credentials' project", commands: ALL, description: 'Google Cloud project of the Pub/Sub topics (channel pubsub; PUBSUB_EMULATOR_HOST selects the emulator)' },
  { flag: 'stream-max-age', env: 'STREAM_MAX_AGE', key: 'streamMaxAgeMs', kind: 'duration', defaultText: '24h', commands: ALL, description: 'how long a topic keeps events' },
  { flag: 'channel-max-inactivity', env: 'CHANNEL_MAX_INACTIVITY', key: 'channelMaxInactivityMs', kind: 'duration', defaultText: '48h', commands: ALL, description: 'remove a topic after this long without activity' },
  { flag: 'stream-replicas', env: 'STREAM_REPLICAS', key: 'streamReplicas', kind: 'int', defaultText: '1', commands: ALL, description: 'copies of each event' },
  { flag: 'log-level', env: 'LOG_LEVEL', key: 'logLevel', kind: 'level', defaultText: 'info', commands: WITH_CONTROLLER, description: 'fatal, error, warn, info, debug, trace or silent' },
  { flag: 'application', env: 'APPLICATION_NAME', key: 'application', kind: 'string', defaultText: '— (required)', commands: ['adapter'], description: 'the application this adapter receives events from' },
  { flag: 'channel-namespace', env: 'CHANNEL_NAMESPACE', key: 'channelNamespace', kind: 'string', defaultText: DEFAULT_INTEGRATION_NAMESPACE, commands: ['adapter'], description: 'namespace of the application channel' },
  { flag: 'channel-name', env: 'CHANNEL_NAME', key: 'channelName', kind: 'string', defaultText: 'the application name', commands: ['adapter'], description: 'name of the application channel' },
  { flag: 'max-body-bytes', env: 'MAX_BODY_BYTES', key: 'maxBodyBytes', kind: 'int', defaultText: '65536', commands: ALL, description: 'largest accepted request body' },
  { flag: 'routing', env: 'ROUTING_DIR', key: 'routing', kind: 'string', defaultText: ROUTING_MOUNT_PATH, commands: ['dispatcher'], description: 'where routing comes from: "cluster" (watch Brokers, Triggers, Subscriptions, Channels through the API server) or a directory with their manifests' },
  { flag: 'system-namespace', env: 'SYSTEM_NAMESPACE', key: 'systemNamespace', kind: 'string', defaultText: DEFAULT_SYSTEM_NAMESPACE, commands: ['dispatcher', 'dev', 'controller', 'status', 'graph'], description: 'namespace of the dispatcher (broker ingress address)' },
  { flag: 'cluster-domain', env: 'CLUSTER_DOMAIN', key: 'clusterDomain', kind: 'string', defaultText: 'cluster.local', commands: ['dispatcher', 'dev', 'controller', 'status', 'graph'], description: "the cluster's DNS domain" },
  { flag: 'shutdown-grace', env: 'SHUTDOWN_GRACE', key: 'shutdownGraceMs', kind: 'duration', defaultText: '25s', commands: WITH_CONTROLLER, description: 'on SIGTERM, how long in-flight work may finish' },
  { flag: 'ack-wait', env: 'ACK_WAIT', key: 'ackWaitMs', kind: 'duration', defaultText: '30s', commands: ['dispatcher', 'dev'], description: 'redeliver an event not acknowledged within this time (after a crash)' },
  { flag: 'map', env: 'EVENT_MESH_MAP', key: 'map', kind: 'map', multiple: true, defaultText: '—', commands: ['dispatcher', 'dev'], description: 'repeatable service[.namespace]=URL: where a cluster Service subscriber runs locally (env: comma-separated)' },
  { flag: 'nats', env: 'EVENT_MESH_DEV_NATS', key: 'devNats', kind: 'urls', defaultText: '— (in-memory channel)', commands: ['dev'], description: 'use NATS JetStream at this URL instead of the in-memory channel' },
  { flag: 'kubeconfig', env: 'KUBECONFIG', key: 'kubeconfig', kind: 'string', defaultText: 'in-cluster service account, else ~/.kube/config', commands: ['dispatcher', 'controller'], description: 'kubeconfig file for the API server (dispatcher: with --routing cluster)' },
  { flag: 'adapter-port', env: 'ADAPTER_PORT', key: 'adapterPort', kind: 'port', defaultText: '--port + 1 (0 when --port is 0)', commands: ['dev'], description: 'port of the first application adapter, +1 for each further one' },
  { flag: 'auth', env: 'AUTH', key: 'auth', kind: 'auth', defaultText: { adapter: 'mtls', dev: 'none (prints a warning)' }, commands: ['adapter', 'dev'], description: 'client authentication: mtls (client certificate naming the application), token (bearer tokens) or none (dev: mtls generates throwaway certificates)' },
  { flag: 'tls-cert-file', env: 'TLS_CERT_FILE', key: 'tlsCertFile', kind: 'string', defaultText: '— (required with --auth mtls)', commands: ['adapter'], description: "PEM certificate the adapter serves HTTPS with (reloaded when the file changes); with --auth token optional" },
  { flag: 'tls-key-file', env: 'TLS_KEY_FILE', key: 'tlsKeyFile', kind: 'string', defaultText: '— (required with --auth mtls)', commands: ['adapter'], description: 'PEM private key of --tls-cert-file' },
  { flag: 'client-ca-file', env: 'CLIENT_CA_FILE', key: 'clientCaFile', kind: 'string', defaultText: '— (required with --auth mtls)', commands: ['adapter'], description: 'PEM bundle of the CAs whose client certificates are accepted (reloaded when the file changes)' },
  { flag: 'client-identity', env: 'CLIENT_IDENTITY', key: 'clientIdentity', kind: 'string', defaultText: 'the application name (as CN)', commands: ['adapter'], description: 'identity a client certificate must carry: <name> or cn:<name> (subject CN), uri:<uri> or dns:<name> (SAN)' },
  { flag: 'tokens-file', env: 'TOKENS_FILE', key: 'tokensFile', kind: 'string', defaultText: '— (required with --auth token)', commands: ['adapter'], description: 'file of accepted bearer tokens, one a line (reloaded when the file changes)' },
  { flag: 'trusted-proxies', env: 'TRUSTED_PROXIES', key: 'trustedProxies', kind: 'string', defaultText: '— (X-Forwarded-Client-Cert ignored)', commands: ['adapter'], description: 'comma-separated IPs/CIDRs of TLS-terminating proxies whose X-Forwarded-Client-Cert is trusted (--auth mtls)' },
  { flag: 'probe-port', env: 'PROBE_PORT', key: 'probePort', kind: 'port', defaultText: '9090 (with --auth none: the event port)', commands: ['adapter'], description: 'plain-HTTP port of /healthz, /readyz and /metrics, apart from the authenticated event port' },
  { flag: 'webhook-allowed-origins', env: 'WEBHOOK_ALLOWED_ORIGINS', key: 'webhookAllowedOrigins', kind: 'string', defaultText: '* (any authenticated sender)', commands: ['adapter'], description: 'comma-separated origins the CloudEvents webhook handshake (OPTIONS, WebHook-Request-Origin) allows' },
  { flag: 'integration-namespace', env: 'INTEGRATION_NAMESPACE', key: 'integrationNamespace', kind: 'string', defaultText: DEFAULT_INTEGRATION_NAMESPACE, commands: ['controller'], description: 'namespace of the application adapters and channels' },
  { flag: 'mesh-config', env: 'MESH_CONFIG', key: 'meshConfig', kind: 'string', defaultText: '— (EventMesh defaults)', commands: ['controller'], description: 'JSON file of the mesh settings Applications are rendered with (the EventMesh construct mounts it)' },
  { flag: 'field-manager', env: 'FIELD_MANAGER', key: 'fieldManager', kind: 'string', defaultText: 'event-mesh-controller', commands: ['controller'], description: 'server-side apply field manager' },
  { flag: 'lease-name', env: 'LEASE_NAME', key: 'leaseName', kind: 'string', defaultText: 'event-mesh-controller', commands: ['controller'], description: 'coordination.k8s.io Lease of the leader election' },
  { flag: 'lease-namespace', env: 'LEASE_NAMESPACE', key: 'leaseNamespace', kind: 'string', defaultText: 'the system namespace', commands: ['controller'], description: 'namespace of that Lease' },
  { flag: 'lease-duration', env: 'LEASE_DURATION', key: 'leaseDurationMs', kind: 'duration', defaultText: '15s', commands: ['controller'], description: 'how long a leader that stopped renewing keeps the Lease' },
  { flag: 'identity', env: 'POD_NAME', key: 'identity', kind: 'string', defaultText: 'the host name', commands: ['controller'], description: 'this replica in the Lease' },
  { flag: 'requeue-base-delay', env: 'REQUEUE_BASE_DELAY', key: 'requeueBaseDelayMs', kind: 'duration', defaultText: '200ms', commands: ['controller'], description: 'first retry of a failed write; doubles per failure' },
  { flag: 'requeue-max-delay', env: 'REQUEUE_MAX_DELAY', key: 'requeueMaxDelayMs', kind: 'duration', defaultText: '60s', commands: ['controller'], description: 'longest retry delay of a failed write' },
  { flag: 'resync', env: 'RESYNC_PERIOD', key: 'resyncMs', kind: 'duration', defaultText: '5m', commands: ['controller'], description: 'reconcile everything this often even without changes' },
  { flag: 'knative-serving', env: 'KNATIVE_SERVING', key: 'knativeServing', kind: 'bool', defaultText: 'false', commands: ['controller'], description: 'also watch and write Knative Services (adapters with workload knative-service)' },
  { flag: 'log-format', env: 'LOG_FORMAT', key: 'logFormat', kind: 'logFormat', defaultText: { adapter: 'json', dispatcher: 'json', dev: 'pretty', controller: 'json' }, commands: WITH_CONTROLLER, description: 'json: one JSON object per line on stdout; pretty: readable lines on stderr' },
  { flag: 'format', env: 'EVENT_MESH_GRAPH_FORMAT', key: 'graphFormat', kind: 'graphFormat', defaultText: 'mermaid', commands: ['graph'], description: 'mermaid (a flowchart GitHub renders) or dot (Graphviz)' },
  { flag: 'metrics-event-type', env: 'METRICS_EVENT_TYPE', key: 'metricsEventType', kind: 'bool', defaultText: 'false', commands: ['dispatcher', 'dev'], description: 'fill the event_type label of event_count and the latency histograms (one series per event type)' },
  { flag: 'fan-out', env: 'FAN_OUT', key: 'fanOut', kind: 'bool', defaultText: 'true with nats and inmemory, false with kafka and pubsub', commands: ['dispatcher'], description: 'read each broker once and hand its events to the Triggers (one consumer per broker); false: a consumer per Trigger' },
  { flag: 'max-json-depth', env: 'MAX_JSON_DEPTH', key: 'maxJsonDepth', kind: 'depth', defaultText: String(DEFAULT_MAX_JSON_DEPTH), commands: ALL, description: `deepest nesting of arrays and objects accepted in a JSON body (1 to ${MAX_JSON_DEPTH_LIMIT}); deeper gets 400 json_too_deep` },
];

const DEFAULTS: Record<Command, Partial<Record<keyof CliConfig, string>>> = {
  adapter: {},
  dispatcher: {},
  dev: { channel: 'inmemory', host: '127.0.0.1', auth: 'none', logFormat: 'pretty' },
  controller: {},
  status: {},
  graph: {},
};
const BASE_DEFAULTS: Partial<Record<keyof CliConfig, string>> = {
  port: '8080',
  host: '0.0.0.0',
  channel: 'nats',
  natsUrl: 'nats://127.0.0.1:4222',
  kafkaUsername: '$ConnectionString',
  kafkaTls: 'true',
  streamMaxAgeMs: '24h',
  channelMaxInactivityMs: '48h',
  streamReplicas: '1',
  logLevel: 'info',
  channelNamespace: DEFAULT_INTEGRATION_NAMESPACE,
  maxBodyBytes: '65536',
  routing: ROUTING_MOUNT_PATH,
  systemNamespace: DEFAULT_SYSTEM_NAMESPACE,
  clusterDomain: 'cluster.local',
  shutdownGraceMs: '25s',
  ackWaitMs: '30s',
  auth: 'mtls',
  integrationNamespace: DEFAULT_INTEGRATION_NAMESPACE,
  fieldManager: 'event-mesh-controller',
  leaseName: 'event-mesh-controller',
  leaseDurationMs: '15s',
  requeueBaseDelayMs: '200ms',
  requeueMaxDelayMs: '60s',
  resyncMs: '5m',
  knativeServing: 'false',
  logFormat: 'json',
  metricsEventType: 'false',
  graphFormat: 'mermaid',
  maxJsonDepth: String(DEFAULT_MAX_JSON_DEPTH),
};

/** A command-line mistake: printed as is, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Go (`25s`, `1h30m`) or ISO-8601 (`PT25S`) duration, or whole milliseconds (`500ms`). */
export function parseDurationText(text: string): number | undefined {
  const t = text.trim();
  return parseGoDuration(t) ?? parseIsoDuration(t);
}

function convert(spec: OptionSpec, raw: string, where: string): unknown {
  const bad = (what: string) => new UsageError(`${where} must be ${what}, got ${JSON.stringify(raw)}`);
  switch (spec.kind) {
    case 'string':
      if (raw.trim() === '') throw bad('a non-empty value');
      return spec.key === 'kafkaBrokers' || spec.key === 'trustedProxies' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : raw;
    case 'port': {
      if (!/^\d+$/.test(raw.trim()) || Number(raw) > 65535) throw bad('a port number from 0 to 65535');
      return Number(raw);
    }
    case 'int': {
      if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) throw bad('a whole number of at least 1');
      return Number(raw);
    }
    case 'duration': {
      const ms = parseDurationText(raw);
      if (ms === undefined) throw bad('a duration such as "25s", "1h30m" or "PT25S"');
      return ms;
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(v)) return true;
      if (['false', '0', 'no'].includes(v)) return false;
      throw bad('true or false');
    }
    case 'level':
      if (!LEVELS.includes(raw.trim())) throw bad(LEVELS.join(', '));
      return raw.trim();
    case 'auth':
      if (!['none', 'mtls', 'token'].includes(raw.trim())) throw bad('none, mtls or token');
      return raw.trim();
    case 'graphFormat':
      if (!['mermaid', 'dot'].includes(raw.trim())) throw bad('mermaid or dot');
      return raw.trim();
    case 'logFormat':
      if (!['json', 'pretty'].includes(raw.trim())) throw bad('json or pretty');
      return raw.trim();
    case 'channel':
      if (!['nats', 'kafka', 'inmemory', 'pubsub'].includes(raw.trim())) throw bad('nats, kafka, pubsub or inmemory');
      return raw.trim();
    case 'url':
      try {
        new URL(raw);
      } catch {
        throw bad('a URL such as nats://127.0.0.1:4222');
      }
      return raw;
    case 'urls': {
      const urls = raw.split(',').map((u) => u.trim());
      for (const u of urls) {
        try {
          new URL(u);
        } catch {
          throw bad(`a URL or a comma-separated list of URLs such as nats://nats-0:4222,nats://nats-1:4222 (${JSON.stringify(u)} is not a URL)`);
        }
      }
      return urls.join(',');
    }
    case 'depth': {
      const n = Number(raw.trim());
      if (!/^\d+$/.test(raw.trim()) || n < 1 || n > MAX_JSON_DEPTH_LIMIT) throw bad(`a whole number from 1 to ${MAX_JSON_DEPTH_LIMIT}`);
      return n;
    }
    case 'map':
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)?=https?:\/\/.+/.test(raw)) {
        throw bad('service[.namespace]=http://host:port (e.g. orders-fn.shop=http://127.0.0.1:3000)');
      }
      return raw;
  }
}

export interface ParsedCommandLine {
  readonly command?: Command;
  readonly help: boolean;
  readonly version: boolean;
  readonly positionals: string[];
  readonly config?: CliConfig;
}

function optionsFor(command: Command): OptionSpec[] {
  return OPTIONS.filter((o) => o.commands.includes(command));
}

function describeWhere(spec: OptionSpec, fromFlag: boolean): string {
  return fromFlag ? `--${spec.flag}` : `${spec.env} (environment)`;
}

/** Parse argv (without `node` and the script) and the environment. Throws UsageError. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedCommandLine {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const target = first === 'help' ? rest[0] : undefined;
    if (target !== undefined && !COMMANDS.includes(target as Command)) throw new UsageError(`unknown command "${target}": use ${COMMANDS.join(', ')}`);
    return { command: target as Command | undefined, help: true, version: false, positionals: [] };
  }
  if (first === '--version' || first === '-v') return { help: false, version: true, positionals: [] };
  if (!COMMANDS.includes(first as Command)) {
    throw new UsageError(first.startsWith('-') ? `a command comes first: event-mesh ${COMMANDS.join('|')} [options]` : `unknown command "${first}": use ${COMMANDS.join(', ')}`);
  }
  const command = first as Command;
  const specs = optionsFor(command).filter((s) => s.flag);
  const parseOptions: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const s of specs) parseOptions[s.flag!] = { type: 'string', ...(s.multiple ? { multiple: true } : {}) };
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options: parseOptions, allowPositionals: true, strict: true });
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`event-mesh ${command}: ${msg} (see event-mesh ${command} --help)`);
  }
  if (parsed.values.help) return { command, help: true, version: false, positionals: parsed.positionals };
  const maxPositionals = command === 'dev' || command === 'status' || command === 'graph' ? 1 : 0;
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`event-mesh ${command}: unexpected argument ${JSON.stringify(parsed.positionals[maxPositionals])} (see event-mesh ${command} --help)`);
  }

  const config: Record<string, unknown> = { map: [] };
  for (const spec of optionsFor(command)) {
    const flagValue = spec.flag ? (parsed.values as Record<string, string | string[] | undefined>)[spec.flag] : undefined;
    const envValue = env[spec.env];
    const dflt = DEFAULTS[command][spec.key] ?? BASE_DEFAULTS[spec.key];
    if (spec.multiple) {
      const values = flagValue !== undefined ? (flagValue as string[]).map((v) => [v, true] as const) : envValue ? envValue.split(',').filter((v) => v.trim()).map((v) => [v.trim(), false] as const) : [];
      config[spec.key] = values.map(([v, fromFlag]) => convert(spec, v, describeWhere(spec, fromFlag)));
      continue;
    }
    if (flagValue !== undefined) config[spec.key] = convert(spec, flagValue as string, describeWhere(spec, true));
    else if (envValue !== undefined && envValue !== '') config[spec.key] = convert(spec, envValue, describeWhere(spec, false));
    else if (dflt !== undefined) config[spec.key] = convert(spec, dflt, `default of --${spec.flag}`);
  }
  const cfg = config as unknown as CliConfig;
  if (command === 'adapter' && !cfg.application) {
    throw new UsageError('event-mesh adapter: --application (or APPLICATION_NAME) is required: the name of the application whose events this adapter receives');
  }
  checkAuthFlags(command, cfg);
  if (cfg.channel === 'kafka' && command !== 'dev' && (!cfg.kafkaBrokers || cfg.kafkaBrokers.length === 0)) {
    throw new UsageError(`event-mesh ${command}: --channel kafka needs --kafka-brokers (or KAFKA_BROKERS), e.g. my-ns.servicebus.windows.net:9093`);
  }
  if (command === 'controller') {
    if (cfg.requeueBaseDelayMs > cfg.requeueMaxDelayMs) {
      throw new UsageError(`event-mesh controller: --requeue-base-delay (${cfg.requeueBaseDelayMs} ms) must not exceed --requeue-max-delay (${cfg.requeueMaxDelayMs} ms)`);
    }
    if (cfg.leaseDurationMs < 1000) throw new UsageError(`event-mesh controller: --lease-duration must be at least 1s, got ${cfg.leaseDurationMs} ms`);
  }
  if (command === 'dev' && cfg.devNats) {
    cfg.channel = 'nats';
    cfg.natsUrl = cfg.devNats;
  }
  return { command, help: false, version: false, positionals: parsed.positionals, config: cfg };
}

/** The file flags an auth mode needs; a clear error naming the missing ones. */
function checkAuthFlags(command: Command, cfg: CliConfig): void {
  if (command === 'dev') {
    if (cfg.auth === 'token') throw new UsageError('event-mesh dev: --auth must be none or mtls (mtls generates throwaway certificates), got "token"');
    return;
  }
  if (command !== 'adapter') return;
  const flag = (key: keyof CliConfig) => OPTIONS.find((o) => o.key === key)!;
  const missing = (keys: (keyof CliConfig)[]) => keys.filter((k) => cfg[k] === undefined).map(flag);
  const say = (specs: OptionSpec[], why: string) => {
    if (specs.length === 0) return;
    throw new UsageError(`event-mesh adapter: ${why} needs ${specs.map((s) => `--${s.flag}`).join(', ')} (or ${specs.map((s) => s.env).join(', ')}): ` +
      'mount the Secret with the certificate files and point the flags at them, or pass --auth none to run without authentication (development only)');
  };
  if (cfg.auth === 'mtls') say(missing(['tlsCertFile', 'tlsKeyFile', 'clientCaFile']), '--auth mtls (the default)');
  if (cfg.auth === 'token') {
    say(missing(['tokensFile']), '--auth token');
    if ((cfg.tlsCertFile === undefined) !== (cfg.tlsKeyFile === undefined)) say(missing(['tlsCertFile', 'tlsKeyFile']), '--auth token with HTTPS');
  }
}

/** The adapter's `auth` option from the parsed flags (checkAuthFlags ran). */
export function adapterAuthFromCli(cfg: CliConfig): import('./adapter').AdapterAuth {
  if (cfg.auth === 'none') return { mode: 'none' };
  if (cfg.auth === 'token') return { mode: 'token', tokensFile: cfg.tokensFile!, certFile: cfg.tlsCertFile, keyFile: cfg.tlsKeyFile };
  return {
    mode: 'mtls',
    certFile: cfg.tlsCertFile!,
    keyFile: cfg.tlsKeyFile!,
    clientCaFile: cfg.clientCaFile!,
    ...(cfg.clientIdentity ? { clientIdentity: cfg.clientIdentity } : {}),
    ...(cfg.trustedProxies?.length ? { trustedProxies: cfg.trustedProxies } : {}),
  };
}

const SUMMARY: Record<Command, string> = {
  adapter: 'HTTP source adapter of one application: POST /events (CloudEvents 1.0) and the legacy /v1/events, stored on the application channel',
  dispatcher: 'broker ingress (POST /<namespace>/<broker>), Subscription dispatch and Trigger delivery, with routing read from --routing',
  dev: 'everything in one process for local development: an adapter per application found in the manifests under [dir] (default dist) and the dispatcher; rewired when a file there changes',
  controller: 'reconciles Applications, ApplicationMappings, namespaces, Brokers, Triggers, Subscriptions and HTTPSources through the API server, and writes their status',
  status: 'READY and REASON of each HTTPSource, Broker, Trigger and Subscription under [dir] (default dist), as the controller would report them',
  graph: 'print the wiring of the manifests under [dir] (default dist) as a Mermaid flowchart (or --format dot): applications, channels, brokers, Triggers and their filters, subscribers, dead-letter sinks',
};

/** --help text: the commands, or one command's options with env var and default. */
export function helpText(command?: Command): string {
  if (!command) {
    return [
      'Usage: event-mesh <command> [options]',
      '',
      'Commands:',
      ...COMMANDS.map((c) => `  ${c.padEnd(11)}${SUMMARY[c]}`),
      '',
      'Run `event-mesh <command> --help` for its options. Every option can also be set with',
      'the environment variable shown there; a flag wins over the variable.',
    ].join('\n');
  }
  const rows = optionsFor(command).map((o) => {
    const dflt = typeof o.defaultText === 'string' ? o.defaultText : (o.defaultText[command] ?? '—');
    const flag = o.flag ? `--${o.flag} <value>${o.multiple ? ' (repeatable)' : ''}` : '(no flag)';
    return `  ${flag}\n      ${o.description}\n      env ${o.env}; default ${dflt}`;
  });
  const withDir = command === 'dev' || command === 'status' || command === 'graph';
  const usage = withDir ? `event-mesh ${command} [dir] [options]` : `event-mesh ${command} [options]`;
  const extra =
    withDir
      ? ['', 'Arguments:', '  [dir]  directory with the synthesized manifests (default dist)']
      : [];
  return [`Usage: ${usage}`, '', SUMMARY[command], ...extra, '', 'Options:', ...rows, '  --help, -h\n      show this help'].join('\n');
}

/** The channel factory's configuration from the parsed options. */
export function channelConfigFromCli(cfg: CliConfig): ChannelConfig {
  const kafka = { brokers: cfg.kafkaBrokers ?? [], username: cfg.kafkaUsername, password: cfg.kafkaPassword, tls: cfg.kafkaTls };
  return {
    kind: cfg.channel,
    natsUrl: cfg.natsUrl,
    ...(cfg.channel === 'kafka' ? { kafka: kafka as ChannelConfig['kafka'] } : {}),
    ...(cfg.channel === 'pubsub'
      ? { pubsub: { ...(cfg.pubsubProject ? { projectId: cfg.pubsubProject } : {}), ...(process.env.PUBSUB_EMULATOR_HOST ? { emulatorHost: process.env.PUBSUB_EMULATOR_HOST } : {}) } }
      : {}),
    streamMaxAgeMs: cfg.streamMaxAgeMs,
    maxInactivityMs: cfg.channelMaxInactivityMs,
    replicas: cfg.streamReplicas,
  };
}

/** Turns SIGTERM/SIGINT into one graceful close, then exit 0. */
function onShutdown(close: () => Promise<void>, log: (msg: string) => void): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    close().then(
      () => process.exit(0),
      (err) => {
        log(`shutdown failed: ${(err as Error)?.message ?? err}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}

async function run(parsed: ParsedCommandLine): Promise<void> {
  const cfg = parsed.config!;
  const { createLogger, createMetricsRegistry, prettyStream } = await import('./observability');
  // One format per stream: pretty logs go to stderr (stdout keeps dev's own lines); JSON logs
  // go to stdout (and dev's lines to stderr, so stdout parses as JSON lines).
  const pretty = cfg.logFormat === 'pretty';
  const logger = createLogger({ name: parsed.command, level: cfg.logLevel, ...(pretty ? { destination: prettyStream(process.stderr) } : {}) });
  if (parsed.command === 'dev') {
    const { startDev } = await import('./dev');
    const lines = pretty ? process.stdout : process.stderr;
    const dev = await startDev({ dir: parsed.positionals[0] ?? 'dist', config: cfg, logger, out: (line: string) => lines.write(`${line}\n`) });
    onShutdown(() => dev.close(), (m) => logger.info(m));
    return;
  }
  if (parsed.command === 'controller') {
    const { runControllerFromCli } = await import('./controller/cli');
    const controller = await runControllerFromCli(cfg, logger);
    onShutdown(() => controller.stop(), (m) => logger.info(m));
    return;
  }
  const { createChannel } = await import('./channel/factory');
  const channel = await createChannel(channelConfigFromCli(cfg), { logger, name: `event-mesh-${parsed.command}` });
  const registry = createMetricsRegistry();
  if (parsed.command === 'dispatcher') {
    const { startDispatcher } = await import('./dispatcher');
    const { clusterRoutingFromCli } = await import('./dispatcher/routing/cluster-cli');
    const cluster = clusterRoutingFromCli(cfg, logger);
    const { standaloneRouting, unmappedWarnings } = await import('./dispatcher/standalone');
    const standalone = standaloneRouting(cfg.map);
    const d = await startDispatcher(
      {
        port: cfg.port,
        host: cfg.host,
        ...(cluster ? { routingSource: cluster.source } : { routingDir: cfg.routing }),
        maxBodyBytes: cfg.maxBodyBytes,
        systemNamespace: cfg.systemNamespace,
        clusterDomain: cfg.clusterDomain,
        shutdownGraceMs: cfg.shutdownGraceMs,
        ackWaitMs: cfg.ackWaitMs,
        topicOptions: { maxAgeMs: cfg.streamMaxAgeMs, maxInactivityMs: cfg.channelMaxInactivityMs, replicas: cfg.streamReplicas },
        metricsEventType: cfg.metricsEventType,
        maxJsonDepth: cfg.maxJsonDepth,
        ...(cfg.fanOut !== undefined ? { fanOut: cfg.fanOut } : {}),
        ...standalone,
      },
      { channel, ownsChannel: true, logger, registry },
    );
    logger.info({ port: d.port, routing: cfg.routing, channel: cfg.channel }, 'dispatcher listening');
    for (const warning of unmappedWarnings(d.table(), standalone, cfg.clusterDomain)) logger.warn(warning);
    onShutdown(async () => {
      await d.close(cfg.shutdownGraceMs);
      await cluster?.close();
    }, (m) => logger.info(m));
    return;
  }
  const { startAdapter } = await import('./adapter');
  const adapter = await startAdapter(
    {
      application: cfg.application!,
      channelNamespace: cfg.channelNamespace,
      channelName: cfg.channelName,
      port: cfg.port,
      host: cfg.host,
      maxBodyBytes: cfg.maxBodyBytes,
      shutdownGraceMs: cfg.shutdownGraceMs,
      channel: channelConfigFromCli(cfg),
      auth: adapterAuthFromCli(cfg),
      probePort: cfg.probePort,
      ...(cfg.webhookAllowedOrigins ? { webhookAllowedOrigins: cfg.webhookAllowedOrigins.split(',').map((o) => o.trim()).filter(Boolean) } : {}),
      maxJsonDepth: cfg.maxJsonDepth,
    },
    { channel, logger, registry },
  );
  onShutdown(async () => {
    await adapter.close();
    await channel.close();
  }, (m) => logger.info(m));
}

/** The version in the nearest package.json above this file (lib/runtime/ or runtime/). */
function packageVersion(): string {
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
    dir = path.dirname(dir);
  }
  return 'unknown';
}

export async function main(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  let parsed: ParsedCommandLine;
  try {
    parsed = parseCommandLine(argv, env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (parsed.help) {
    process.stdout.write(`${helpText(parsed.command)}\n`);
    return 0;
  }
  try {
    if (parsed.command === 'status') {
      const { runStatus } = await import('./dev/status-command');
      return await runStatus(parsed.positionals[0] ?? 'dist', parsed.config!, (line) => process.stdout.write(`${line}\n`), (line) => process.stderr.write(`${line}\n`));
    }
    if (parsed.command === 'graph') {
      const { graphOfDirectory } = await import('./graph');
      const { text, problems } = await graphOfDirectory(parsed.positionals[0] ?? 'dist', parsed.config!);
      for (const p of problems) process.stderr.write(`warning: ${p}\n`);
      process.stdout.write(text);
      return 0;
    }
    await run(parsed);
    return undefined; // keeps running until a signal
  } catch (err) {
    process.stderr.write(`error: event-mesh ${parsed.command}: ${(err as Error)?.message ?? String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  // `event-mesh dev | head`: a closed stdout is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  main().then((code) => {
    if (code !== undefined) process.exitCode = code;
    if (code !== undefined && code !== 0) process.exit(code);
  });
}
