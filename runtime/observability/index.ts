/**
 * Logging and metrics shared by every runtime component.
 *
 *   const logger = createLogger({ name: 'adapter', level: process.env.LOG_LEVEL });
 *   const registry = createMetricsRegistry();            // default process metrics included
 *   res.end(await registry.metrics());                   // GET /metrics
 */
import pino, { DestinationStream, Logger, LoggerOptions } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';

export { formatLogRecord, prettyStream } from './pretty';
export type { Logger } from 'pino';
export { redactUrlCredentials } from './redact';
export type { Registry } from 'prom-client';

export interface LoggerFactoryOptions {
  /**
   * Component name, logged as `name` (the one `name` key of a line: objects a line is
   * about go under `object`, `trigger`, `route`, …).
   */
  readonly name?: string;
  /** pino level (`fatal`…`trace`, or `silent`). @default process.env.LOG_LEVEL ?? "info" */
  readonly level?: string;
  /** Where to write (tests pass a stream). @default stdout */
  readonly destination?: DestinationStream;
}

/** Paths never logged: credentials and auth headers are replaced by "[redacted]". */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'sasl.password',
  'headers.authorization',
  'req.headers.authorization',
  'headers.cookie',
  'req.headers.cookie',
  'kafkaPassword',
  '*.kafkaPassword',
];

/** JSON logs on stdout (one object per line), secrets redacted. */
export function createLogger(options: LoggerFactoryOptions = {}): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: options.name ? { name: options.name } : undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that drops everything (tests, library defaults). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * A fresh prom-client registry (not the global one, so several components and tests can
 * live in one process), with the default process metrics unless `defaults` is false.
 */
export function createMetricsRegistry(options: { defaults?: boolean; prefix?: string } = {}): Registry {
  const registry = new Registry();
  if (options.defaults !== false) collectDefaultMetrics({ register: registry, prefix: options.prefix });
  return registry;
}
