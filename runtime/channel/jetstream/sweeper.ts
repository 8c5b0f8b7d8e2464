/**
 * Inactivity sweep of mesh streams, and the stream description that carries each
 * stream's topic and inactivity threshold (so any process sweeps any mesh stream).
 * The description codec is pure; `Sweeper` does I/O through the manager it is given.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { ChannelLogger, TopicOptions } from '../channel';
import { errText } from './errors';
import { STREAM_PREFIX } from './names';

export interface StreamDescription {
  topic: string;
  maxInactivityMs?: number;
}

export function describeStream(topic: string, options: TopicOptions): string {
  const d: StreamDescription = { topic };
  if (options.maxInactivityMs) d.maxInactivityMs = options.maxInactivityMs;
  return `event-mesh ${JSON.stringify(d)}`;
}

export function parseDescription(text: string | undefined): StreamDescription | undefined {
  if (!text || !text.startsWith('event-mesh ')) return undefined;
  try {
    return JSON.parse(text.slice('event-mesh '.length)) as StreamDescription;
  } catch {
    return undefined;
  }
}

export interface SweeperDeps {
  /** The manager to list and delete streams with (throws when not connected). */
  manager(): JetStreamManager;
  isReady(): boolean;
  /** A stream of `topic` was removed. */
  removed(topic: string): void;
  readonly logger: ChannelLogger;
  /** How often to sweep. @default maxInactivity / 4, 250 ms…60 s */
  readonly sweepIntervalMs?: number;
}

/** Removes inactive mesh streams on a timer. */
export class Sweeper {
  private timer?: NodeJS.Timeout;
  private everyMs?: number;
  private sweeping = false;

  constructor(private readonly deps: SweeperDeps) {}

  /** Sweep at least as often as topics with these options need. */
  schedule(o: TopicOptions): void {
    if (!o.maxInactivityMs) return;
    const every = this.deps.sweepIntervalMs ?? Math.min(60_000, Math.max(250, Math.floor(o.maxInactivityMs / 4)));
    if (this.timer && this.everyMs !== undefined && this.everyMs <= every) return;
    if (this.timer) clearInterval(this.timer);
    this.everyMs = every;
    this.timer = setInterval(() => {
      this.sweep().catch((e) => this.deps.logger.debug({ err: errText(e) }, 'inactivity sweep failed'));
    }, every);
    this.timer.unref();
  }

  /**
   * Remove mesh streams (any process's) that have an inactivity threshold, no consumer
   * and no message (or creation) within it. Consumers are removed by the server
   * (`inactive_threshold`).
   */
  async sweep(now = Date.now()): Promise<string[]> {
    if (this.sweeping || !this.deps.isReady()) return [];
    this.sweeping = true;
    const removed: string[] = [];
    try {
      const jsm = this.deps.manager();
      for await (const info of jsm.streams.list()) {
        if (!info.config.name.startsWith(STREAM_PREFIX)) continue;
        const d = parseDescription(info.config.description);
        if (!d?.maxInactivityMs) continue;
        if (info.state.consumer_count > 0) continue;
        const lastTs = Date.parse(info.state.last_ts);
        const created = Date.parse(info.created);
        const last = Math.max(Number.isFinite(lastTs) ? lastTs : 0, Number.isFinite(created) ? created : 0);
        if (now - last < d.maxInactivityMs) continue;
        try {
          await jsm.streams.delete(info.config.name);
          removed.push(d.topic);
          this.deps.removed(d.topic);
          this.deps.logger.info({ stream: info.config.name, topic: d.topic }, 'removed inactive stream');
        } catch (e) {
          this.deps.logger.debug({ err: errText(e), stream: info.config.name }, 'removing inactive stream failed');
        }
      }
    } finally {
      this.sweeping = false;
    }
    return removed;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
