/**
 * NATS JetStream channel.
 *
 * - One stream per topic, named `EM_<escaped topic>` (collision-free, see `streamNameFor`),
 *   file storage, limits retention, `max_age` from TopicOptions.maxAgeMs, `num_replicas`
 *   from replicas, `max_bytes` + discard `new` when maxBytes is set.
 * - One durable pull consumer per consumer name (`durableNameFor`), explicit ack,
 *   `ack_wait`, `max_ack_pending` = maxInFlight (1 when ordered), `max_deliver` =
 *   maxDeliveries (unlimited when not given).
 * - publish resolves after the PubAck; publishes are pipelined (each awaits its own ack).
 * - maxInactivity: consumers get `inactive_threshold` (the server removes a durable that
 *   has had no pull requests for that long); a sweeper removes a stream whose topic has
 *   no consumer left and no message for that long. The threshold is kept in the stream
 *   description, so any process sweeps any mesh stream.
 * - The connection reconnects forever; `isReady()` follows it. Publishing while
 *   disconnected fails fast with ChannelUnavailableError.
 *
 * - Events are stored on attribute-carrying subjects and Trigger consumers get a filter
 *   subject from their prefilter (server-side filtering, subjects.ts); streams and consumers
 *   of the old layout migrate on start (see ensureConsumer, docs/runtime-dispatcher.md).
 *
 * This file holds the channel (connection, status watch, topics, consumers, close) and
 * re-exports the folder's public names; see names.ts, config.ts, errors.ts, outbox.ts,
 * publisher.ts, subscription.ts and sweeper.ts for the rest. Does I/O.
 */
import { connect as natsConnect } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, JetStreamApiError, JetStreamClient, jetstreamManager, JetStreamManager } from '@nats-io/jetstream';
import type { ChannelKind } from '../../../constructs/api';
import { redactUrlCredentials } from '../../observability/redact';
import { awaitConnection, Channel, ChannelConsumer, ChannelLogger, ChannelUnavailableError, ConsumerOptions, EventAttributes, MessageHandler, noopLogger, TopicOptions } from '../channel';
import { consumerConfigFor, consumerNeedsUpdate, consumerUpdateFor, streamConfigFor, streamNeedsUpdate } from './config';
import { errText, isNoResponders, mapNatsError } from './errors';
import { durableNameFor, streamNameFor, subjectFor } from './names';
import { NatsConnection, Outbox } from './outbox';
import { PipelinedPublisher } from './publisher';
import { filterIsSafe, filterSubjectFor, publishSubjectFor } from './subjects';
import { JetStreamSubscription } from './subscription';
import { Sweeper } from './sweeper';

export type { ChannelLogger } from '../channel';
export { mapNatsError } from './errors';
export { durableNameFor, escapeName, STREAM_PREFIX, streamNameFor, subjectFor } from './names';
export { filterSubjectFor, publishSubjectFor, streamSubjectFor } from './subjects';

export interface JetStreamChannelOptions {
  /** NATS server URL(s). @default "nats://127.0.0.1:4222" */
  readonly servers?: string | string[];
  /** Options for topics created implicitly (publish/consume of a topic never ensured). */
  readonly defaults?: TopicOptions;
  /** connect() rejects after this long (the connection attempt goes on). @default 10000 */
  readonly connectTimeoutMs?: number;
  /** A publish without PubAck after this long fails with ChannelUnavailableError. @default 5000 */
  readonly publishTimeoutMs?: number;
  /** How often the inactivity sweeper runs. @default maxInactivity / 4, 250 ms…60 s */
  readonly sweepIntervalMs?: number;
  /**
   * How often a consumer whose filter subject must wait for old-layout events to be
   * acknowledged checks again. @default 1000
   */
  readonly migrationCheckMs?: number;
  /** Connection name shown by the server. */
  readonly name?: string;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  readonly logger?: ChannelLogger;
}


/** NATS JetStream implementation of the Channel contract. */
export class JetStreamChannel implements Channel {
  readonly kind: ChannelKind = 'nats';
  private nc?: NatsConnection;
  private js?: JetStreamClient;
  private jsm?: JetStreamManager;
  private publisher?: PipelinedPublisher;
  private box?: Outbox;
  private connecting?: Promise<void>;
  private connected = false;
  private closed = false;
  private readonly topics = new Map<string, TopicOptions>();
  private readonly ensuring = new Map<string, Promise<void>>();
  private readonly subs = new Set<JetStreamSubscription>();
  private readonly sweeper: Sweeper;
  private readonly logger: ChannelLogger;

  constructor(private readonly options: JetStreamChannelOptions = {}) {
    this.logger = options.logger ?? noopLogger;
    this.sweeper = new Sweeper({
      manager: () => this.manager(),
      isReady: () => this.isReady(),
      removed: (topic) => this.ensuring.delete(topic),
      logger: this.logger,
      sweepIntervalMs: options.sweepIntervalMs,
    });
  }

  /**
   * Connect (reconnecting forever afterwards). Rejects with ChannelUnavailableError when
   * the first connection takes longer than connectTimeoutMs; the attempt continues in the
   * background and isReady() turns true once it succeeds.
   */
  async connect(): Promise<void> {
    if (this.closed) throw new ChannelUnavailableError('the JetStream channel was closed');
    if (!this.connecting) {
      this.connecting = this.doConnect();
      this.connecting.catch((e) => this.logger.error({ err: errText(e) }, 'connecting to NATS failed'));
    }
    await awaitConnection(this.connecting, this.options.connectTimeoutMs ?? 10_000, () => `NATS at ${this.serverList().map(redactUrlCredentials).join(', ')} is not reachable yet (still trying)`);
  }

  private serverList(): string[] {
    const s = this.options.servers ?? 'nats://127.0.0.1:4222';
    return Array.isArray(s) ? s : s.split(',').map((x) => x.trim()).filter(Boolean);
  }

  private async doConnect(): Promise<void> {
    // First connection: retry until it works or the channel is closed (nats.js's own
    // waitOnFirstConnect cannot be cancelled). Afterwards the client reconnects forever.
    let nc: NatsConnection | undefined;
    for (let attempt = 0; !nc; attempt++) {
      if (this.closed) return;
      try {
        nc = await natsConnect({
          servers: this.serverList(),
          name: this.options.name ?? 'event-mesh',
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          reconnectJitter: 100,
          pingInterval: 10_000,
          maxPingOut: 3,
          timeout: 2000,
          user: this.options.user,
          pass: this.options.pass,
          token: this.options.token,
        });
      } catch (e) {
        if (attempt % 20 === 0) this.logger.warn({ err: errText(e), servers: this.serverList().map(redactUrlCredentials), attempt }, 'NATS not reachable yet; retrying');
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))));
      }
    }
    if (this.closed) {
      await nc.close();
      return;
    }
    this.nc = nc;
    this.js = jetstream(nc, { timeout: this.options.publishTimeoutMs ?? 5000 });
    this.jsm = await jetstreamManager(nc, { checkAPI: false, timeout: this.options.publishTimeoutMs ?? 5000 });
    this.box = new Outbox(nc);
    this.publisher = new PipelinedPublisher(nc, this.box, this.options.publishTimeoutMs ?? 5000);
    this.connected = true;
    this.logger.info({ server: nc.getServer() }, 'connected to NATS');
    void this.watchStatus(nc);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'disconnect':
          this.connected = false;
          this.publisher?.failAll('disconnected from NATS before the PubAck arrived');
          this.logger.warn({ server: s.server }, 'disconnected from NATS; reconnecting');
          break;
        case 'reconnect':
          this.connected = true;
          this.logger.info({ server: s.server }, 'reconnected to NATS');
          break;
        case 'close':
          this.connected = false;
          break;
        default:
          break;
      }
    }
    this.connected = false;
  }

  isReady(): boolean {
    return this.connected && !this.closed && this.nc !== undefined && !this.nc.isClosed();
  }

  private client(): JetStreamClient {
    if (!this.js || !this.isReady()) throw new ChannelUnavailableError('not connected to NATS', 1);
    return this.js;
  }

  private manager(): JetStreamManager {
    if (!this.jsm || !this.isReady()) throw new ChannelUnavailableError('not connected to NATS', 1);
    return this.jsm;
  }

  /** Create or update the stream of a topic. */
  async ensureTopic(topic: string, options: TopicOptions = {}): Promise<void> {
    const merged: TopicOptions = { ...this.options.defaults, ...options };
    this.topics.set(topic, merged);
    this.sweeper.schedule(merged);
    try {
      await this.upsertStream(topic, merged);
    } catch (e) {
      throw mapNatsError(e, `creating the stream of topic ${topic}`);
    }
  }

  private async upsertStream(topic: string, o: TopicOptions): Promise<void> {
    const jsm = this.manager();
    const want = streamConfigFor(topic, o);
    let info;
    try {
      info = await jsm.streams.info(want.name);
    } catch (e) {
      if (!(e instanceof JetStreamApiError && e.code === 10059)) throw e;
    }
    if (!info) {
      try {
        await jsm.streams.add(want);
        return;
      } catch (e) {
        // Created concurrently by another process: fall through to compare/update.
        if (!(e instanceof JetStreamApiError && /already in use|already exists/i.test(e.message))) throw e;
        info = await jsm.streams.info(want.name);
      }
    }
    const c = info.config;
    if (streamNeedsUpdate(c, want)) {
      const { name, ...update } = want;
      await jsm.streams.update(name, { ...c, ...update });
    }
  }

  /** Ensure the stream exists for implicit use, without overriding an existing config. */
  private async ensureImplicit(topic: string): Promise<void> {
    let p = this.ensuring.get(topic);
    if (!p) {
      const o = this.topics.get(topic) ?? { ...this.options.defaults };
      this.topics.set(topic, o);
      this.sweeper.schedule(o);
      p = this.upsertStream(topic, o).finally(() => this.ensuring.delete(topic));
      this.ensuring.set(topic, p);
    }
    await p;
  }

  async publish(topic: string, data: Uint8Array, attributes?: EventAttributes): Promise<void> {
    if (!this.isReady()) throw new ChannelUnavailableError(this.closed ? 'the JetStream channel was closed' : 'not connected to NATS (reconnecting)', 1);
    const publisher = this.publisher!;
    const subject = publishSubjectFor(topic, attributes);
    try {
      await publisher.publish(subject, data);
    } catch (e) {
      if (!isNoResponders(e) || !this.isReady()) throw mapNatsError(e, `publishing to ${topic}`);
      // No stream yet (never ensured, or removed after inactivity): create it and retry once.
      try {
        await this.ensureImplicit(topic);
        await publisher.publish(subject, data);
      } catch (e2) {
        throw mapNatsError(e2, `publishing to ${topic}`);
      }
    }
  }

  /**
   * Create the durable consumer or update its limits and filter subject. Resolves to false
   * while the filter its prefilter asks for must wait (events under the old subject layout
   * the consumer has not acknowledged yet): the consumer then reads the whole stream.
   */
  private async ensureConsumer(topic: string, consumer: string, options: ConsumerOptions): Promise<'filtered' | 'wait' | 'recreate'> {
    const jsm = this.manager();
    const stream = streamNameFor(topic);
    const durable = durableNameFor(consumer);
    const topicOptions = this.topics.get(topic) ?? {};
    const filter = filterSubjectFor(topic, options.prefilter);
    let info;
    try {
      info = await jsm.consumers.info(stream, durable);
    } catch (e) {
      if (e instanceof JetStreamApiError && e.code === 10059) {
        await this.ensureImplicit(topic);
      } else if (!(e instanceof JetStreamApiError && e.code === 10014)) {
        throw e;
      }
    }
    // A new consumer that starts at the end never sees old-layout events.
    const safe = filter === undefined || (!info && options.deliverPolicy === 'new') || filterIsSafe(info?.ack_floor.stream_seq ?? 0, await this.lastOldLayoutSeq(topic));
    const want = consumerConfigFor(topic, consumer, options, topicOptions, safe ? filter : undefined);
    if (!info) {
      try {
        await jsm.consumers.add(stream, want);
        return safe ? 'filtered' : 'wait';
      } catch (e) {
        if (!(e instanceof JetStreamApiError && /already (in use|exists)/i.test(e.message))) throw e;
        info = await jsm.consumers.info(stream, durable);
      }
    }
    // nats-server 2.9 accepts a wildcard filter on a consumer created without one but then
    // delivers nothing: such a consumer is recreated at its position (recreateFiltered).
    const recreate = !info.config.filter_subject && want.filter_subject !== undefined;
    if (recreate) delete want.filter_subject;
    if (consumerNeedsUpdate(info.config, want)) {
      await jsm.consumers.update(stream, durable, consumerUpdateFor(want));
      if ((want.filter_subject ?? '') !== (info.config.filter_subject ?? '')) this.logger.info({ topic, consumer, filterSubject: want.filter_subject ?? '' }, 'JetStream consumer filter subject set');
    }
    return recreate ? 'recreate' : safe ? 'filtered' : 'wait';
  }

  /**
   * Replace an unfiltered durable consumer by one with its filter subject that starts right
   * after the last event the old one delivered. Only when nothing is pending an ack (of any
   * process): an event delivered after the position was read has a higher sequence and is
   * delivered again by the new consumer, so none is lost. Resolves false when it must wait.
   */
  private async recreateFiltered(topic: string, consumer: string, options: ConsumerOptions): Promise<boolean> {
    const jsm = this.manager();
    const stream = streamNameFor(topic);
    const durable = durableNameFor(consumer);
    const filter = filterSubjectFor(topic, options.prefilter);
    const info = await jsm.consumers.info(stream, durable);
    if (!filter || info.config.filter_subject) return true;
    if (info.num_ack_pending > 0 || !filterIsSafe(info.ack_floor.stream_seq, await this.lastOldLayoutSeq(topic))) return false;
    const want = consumerConfigFor(topic, consumer, options, this.topics.get(topic) ?? {}, filter);
    await jsm.consumers.delete(stream, durable);
    await jsm.consumers.add(stream, { ...want, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: info.delivered.stream_seq + 1 });
    this.logger.info({ topic, consumer, filterSubject: filter, startSeq: info.delivered.stream_seq + 1 }, 'JetStream consumer recreated with its filter subject');
    return true;
  }

  /** One step of the migration: true once the consumer filters as its prefilter asks. */
  private async migrate(sub: JetStreamSubscription | undefined, topic: string, consumer: string, options: ConsumerOptions): Promise<boolean> {
    const state = await this.ensureConsumer(topic, consumer, options);
    if (state !== 'recreate') return state === 'filtered';
    const run = () => this.recreateFiltered(topic, consumer, options);
    return sub ? sub.pauseWhile(Math.max(1, options.ackWaitMs), run) : run();
  }

  /** Sequence of the last event stored under the old subject layout (`subjectFor`), 0 when none. */
  private async lastOldLayoutSeq(topic: string): Promise<number> {
    try {
      const m = await this.manager().streams.getMessage(streamNameFor(topic), { last_by_subj: subjectFor(topic) });
      return m?.seq ?? 0;
    } catch (e) {
      if (e instanceof JetStreamApiError && (e.code === 10037 || e.code === 10059)) return 0; // no such message / stream
      throw e;
    }
  }

  /**
   * Until a consumer may filter (see ensureConsumer), check again every `migrationCheckMs`;
   * the handler's predicate filters in the meantime.
   */
  private watchMigration(sub: JetStreamSubscription, topic: string, consumer: string, options: ConsumerOptions): void {
    const every = this.options.migrationCheckMs ?? 1000;
    let busy = false;
    const timer = setInterval(() => {
      if (!this.subs.has(sub) || this.closed) {
        clearInterval(timer);
        return;
      }
      if (!this.isReady()) return;
      if (busy) return;
      busy = true;
      this.migrate(sub, topic, consumer, options).then(
        (done) => {
          busy = false;
          if (done) clearInterval(timer);
        },
        (e) => {
          busy = false;
          this.logger.debug({ err: errText(e), topic, consumer }, 'checking whether the consumer can filter failed; will retry');
        },
      );
    }, every);
    timer.unref();
  }

  async deleteConsumer(topic: string, consumer: string): Promise<void> {
    try {
      await this.manager().consumers.delete(streamNameFor(topic), durableNameFor(consumer));
    } catch (e) {
      if (e instanceof JetStreamApiError && (e.code === 10014 || e.code === 10059)) return;
      throw mapNatsError(e, `deleting consumer ${consumer}`);
    }
  }

  async consumerSettledUpTo(topic: string, consumer: string): Promise<number | undefined> {
    try {
      const info = await this.manager().consumers.info(streamNameFor(topic), durableNameFor(consumer));
      // Nothing pending: all it was delivered is acknowledged (a consumer that never got an
      // event reports its start here). Otherwise the ack floor: above it, some are pending.
      return info.num_ack_pending === 0 ? info.delivered.stream_seq : info.ack_floor.stream_seq;
    } catch (e) {
      if (e instanceof JetStreamApiError && (e.code === 10014 || e.code === 10059)) return undefined;
      throw mapNatsError(e, `looking up consumer ${consumer}`);
    }
  }

  async consume(topic: string, consumer: string, handler: MessageHandler, options: ConsumerOptions): Promise<ChannelConsumer> {
    try {
      if (!this.topics.has(topic)) await this.ensureImplicit(topic);
      const filtered = await this.migrate(undefined, topic, consumer, options);
      const sub = new JetStreamSubscription(
        {
          consumer: () => this.client().consumers.get(streamNameFor(topic), durableNameFor(consumer)),
          recreate: async () => {
            await this.ensureConsumer(topic, consumer, options);
          },
          settle: (m, op) => this.box?.settle(m, op),
          flush: () => this.box?.flush(),
          stopped: (s) => this.subs.delete(s),
        },
        topic,
        consumer,
        handler,
        options,
        this.logger,
      );
      await sub.start();
      this.subs.add(sub);
      if (!filtered) this.watchMigration(sub, topic, consumer, options);
      return sub;
    } catch (e) {
      throw mapNatsError(e, `consuming ${topic} as ${consumer}`);
    }
  }

  /** Remove inactive mesh streams now (the sweeper also runs on a timer). */
  sweep(now = Date.now()): Promise<string[]> {
    return this.sweeper.sweep(now);
  }

  /** Diagnostics/tests: whether the stream of a topic exists. */
  async topicExists(topic: string): Promise<boolean> {
    try {
      await this.manager().streams.info(streamNameFor(topic));
      return true;
    } catch (e) {
      if (e instanceof JetStreamApiError && e.code === 10059) return false;
      throw mapNatsError(e, `looking up topic ${topic}`);
    }
  }

  /** Diagnostics/tests: whether a durable consumer exists. */
  async consumerExists(topic: string, consumer: string): Promise<boolean> {
    try {
      await this.manager().consumers.info(streamNameFor(topic), durableNameFor(consumer));
      return true;
    } catch (e) {
      if (e instanceof JetStreamApiError && (e.code === 10014 || e.code === 10059)) return false;
      throw mapNatsError(e, `looking up consumer ${consumer}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sweeper.stop();
    await Promise.allSettled([...this.subs].map((s) => s.stop(0)));
    const nc = this.nc;
    this.connected = false;
    this.box?.flush();
    this.publisher?.close();
    if (nc && !nc.isClosed()) {
      try {
        await nc.flush();
      } catch {
        // not connected: nothing to flush
      }
      await nc.close();
    }
  }
}
