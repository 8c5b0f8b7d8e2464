import * as kplus from 'cdk8s-plus-27';
import type { IConstruct } from 'constructs';
import { parseGoDuration } from './api';
import { configError, shown } from './errors';
import type { StreamSettings } from './nats-jetstream';
import { requireGoDuration, requireInteger } from './prop-checks';
import { RUNTIME_PORT } from './runtime-deployment';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** Settings every runtime container (adapter, dispatcher) shares. */
export interface RuntimeSettings {
  readonly logLevel: LogLevel;
  readonly streams: StreamSettings;
}

/** Per-workload runtime options that are not about channels. */
export interface RuntimeProcessOptions {
  /** Largest event body accepted, in bytes (MAX_BODY_BYTES). @default 65536 */
  readonly maxBodyBytes?: number;
  /** How long the process drains in-flight work on shutdown (SHUTDOWN_GRACE), Go duration. @default "25s" */
  readonly shutdownGrace?: string;
}

export function requireLogLevel(scope: IConstruct, value: string): LogLevel {
  if (!LOG_LEVELS.includes(value as LogLevel)) {
    throw configError(scope, `logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${shown(value)}`, 'pick one of those levels');
  }
  return value as LogLevel;
}

/** MAX_BODY_BYTES and SHUTDOWN_GRACE, validated; plus the grace in whole seconds for the pod. */
export function resolveProcessOptions(scope: IConstruct, field: string, options: RuntimeProcessOptions = {}) {
  const maxBodyBytes = requireInteger(scope, `${field} maxBodyBytes`, options.maxBodyBytes ?? 65536, 1024);
  const shutdownGrace = requireGoDuration(scope, `${field} shutdownGrace`, options.shutdownGrace ?? '25s');
  return { maxBodyBytes, shutdownGrace, shutdownGraceSeconds: Math.ceil((parseGoDuration(shutdownGrace) as number) / 1000) };
}

/** The env every runtime container gets (see docs/architecture.md). */
export function commonRuntimeEnv(settings: RuntimeSettings, process: { maxBodyBytes: number; shutdownGrace: string }): Record<string, kplus.EnvValue> {
  const v = kplus.EnvValue.fromValue;
  return {
    PORT: v(String(RUNTIME_PORT)),
    LOG_LEVEL: v(settings.logLevel),
    STREAM_MAX_AGE: v(settings.streams.maxAge),
    CHANNEL_MAX_INACTIVITY: v(settings.streams.maxInactivity),
    STREAM_REPLICAS: v(String(settings.streams.replicas)),
    MAX_BODY_BYTES: v(String(process.maxBodyBytes)),
    SHUTDOWN_GRACE: v(process.shutdownGrace),
  };
}
