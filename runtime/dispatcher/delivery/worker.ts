/**
 * One delivery worker per Trigger or Subscription: a durable consumer on its topic whose
 * handler filters, delivers with retries, dead-letters, forwards replies, and only then
 * acks. Isolation: every worker has its own consumer and in-flight budget, so a slow or
 * failing subscriber only holds back its own events.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Channel, ChannelConsumer, ChannelMessage } from '../../channel/channel';
import { EventValidationError, readChannelEvent } from '../../cloudevents';
import type { CloudEventJson } from '../../cloudevents';
import type { Destination } from '../../../constructs/api';
import type { Logger } from '../../observability';
import { deadLetterEvent, prepareReply } from '../events';
import type { BrokerStore } from '../ingress/broker-store';
import type { DispatcherMetrics } from '../metrics';
import type { RoutingTable } from '../routing/table';
import { deliverWithRetries } from './attempts';
import type { AttemptDeps } from './attempts';
import { retryWaitMs } from './backoff';
import { HeartbeatSweep, heartbeatPeriodMs } from './heartbeats';
import { DeliveryAborted, HttpSender } from './http-sender';
import type { AttemptResult } from './http-sender';
import type { KnativeRoute } from '../knative-metrics';
import type { DeliveryPolicy } from './policy';
import { parseReply } from './replies';
import { describeOutcome, isRetryable, outcomeStatus } from './retry';
import type { Target } from './targets';
import { CHANNEL_MAX_DELIVERIES, deliveryLimit, UndeliverableEventError, undeliverableDeadLetter } from './undeliverable';
import { Lane } from '../fanout/lane';
import { decodeParked, encodeParked, parkedAttributes } from '../fanout/parked';
import { FanOutShare, ParkedMessage } from '../fanout/shares';
import type { Park } from '../fanout/shares';

export interface WorkerRoute {
  readonly kind: 'trigger' | 'subscription';
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly topic: string;
  readonly consumer: string;
  readonly order: 'ordered' | 'unordered';
  readonly maxInFlight: number;
  /** Exact terms every matching event satisfies, for the channel to filter on (Triggers). */
  readonly prefilter?: Readonly<Record<string, string>>;
  readonly matches: (event: CloudEventJson) => boolean;
  readonly subscriber: Destination;
  readonly delivery: DeliveryPolicy;
  /** Where replies go: the Trigger's broker, a Subscription's spec.reply, or nowhere. */
  readonly reply?: { readonly broker: { namespace: string; name: string } } | { readonly destination: Destination };
  /**
   * `fan-out`: a Trigger fed by its broker's fan-out stage (`offer`); its own consumer then
   * reads only its parked events (`topic`, `consumer` and `prefilter` are the broker's
   * retry topic, the Trigger's retry consumer and its parked attributes).
   * @default "dedicated" (its own consumer on `topic`)
   */
  readonly stage?: 'dedicated' | 'fan-out';
}

/** Events that may wait in a fan-out Trigger's lane before new ones are parked. */
export function laneQueueLimit(maxInFlight: number): number {
  return Math.min(1024, Math.max(64, 4 * maxInFlight));
}

export interface WorkerDeps {
  readonly channel: Channel;
  readonly sender: HttpSender;
  readonly store: BrokerStore;
  readonly metrics: DispatcherMetrics;
  readonly logger: Logger;
  readonly resolve: (dest: Destination, namespace: string) => Target;
  readonly table: () => RoutingTable;
  readonly ackWaitMs: number;
  readonly maxRetryAfterMs?: number;
}

type RouteLabels = { kind: 'trigger' | 'subscription'; namespace: string; name: string };

export class DeliveryWorker {
  private consumer?: ChannelConsumer;
  private readonly stopWaiting = new AbortController();
  private readonly hardStop = new AbortController();
  private stopping = false;
  /** Deliveries in progress get working() heartbeats from one sweep, not a timer each. */
  private readonly heartbeats: HeartbeatSweep<ChannelMessage>;
  private readonly deliveryDeps: AttemptDeps;
  /** Per-route values computed once per route (and routing table), not per event. */
  private routeLabels!: RouteLabels;
  private outcomeLabels!: Map<string, RouteLabels & { outcome: string }>;
  private targetCache?: { route: WorkerRoute; table: RoutingTable; target: Target };
  private knativeLabels?: KnativeRoute;
  /** Fan-out stage only: how many deliveries run at once, and who waits. */
  private lane?: Lane;
  /**
   * Fan-out stage only: broker events up to this sequence were the business of this
   * Trigger's old per-Trigger consumer (taken over on upgrade), not of the fan-out stage.
   */
  startAfter?: number;
  /** Stopped because its route was deleted (not a restart or shutdown). */
  private removed = false;

  constructor(
    private route: WorkerRoute,
    private readonly deps: WorkerDeps,
  ) {
    this.heartbeats = new HeartbeatSweep<ChannelMessage>(heartbeatPeriodMs(deps.ackWaitMs), (m) => m.working());
    this.deliveryDeps = {
      sender: deps.sender,
      store: deps.store,
      signal: this.hardStop.signal,
      stopWaiting: this.stopWaiting.signal,
      maxRetryAfterMs: deps.maxRetryAfterMs,
    };
    this.cacheLabels();
  }

  private cacheLabels(): void {
    const { kind, namespace, name } = this.route;
    this.routeLabels = { kind, namespace, name };
    this.outcomeLabels = new Map();
    const reply = this.route.reply;
    this.knativeLabels = kind === 'trigger' && reply && 'broker' in reply ? { namespace, broker: reply.broker.name, trigger: name } : undefined;
  }

  private outcome(outcome: string): RouteLabels & { outcome: string } {
    let labels = this.outcomeLabels.get(outcome);
    if (!labels) {
      labels = { ...this.routeLabels, outcome };
      this.outcomeLabels.set(outcome, labels);
    }
    return labels;
  }

  /** The subscriber's Target, resolved again only when the route or the routing table changed. */
  private subscriberTarget(route: WorkerRoute): Target {
    const table = this.deps.table();
    const cached = this.targetCache;
    if (cached && cached.route === route && cached.table === table) return cached.target;
    const target = this.deps.resolve(route.subscriber, route.namespace);
    this.targetCache = { route, table, target };
    return target;
  }

  /** Knative metric labels of a Trigger (namespace, broker, trigger); undefined for a Subscription. */
  private knativeRoute(): KnativeRoute | undefined {
    return this.knativeLabels;
  }

  /**
   * Events stored in process on a served broker (a Subscription's application channel → broker
   * hop, replies) are what Knative's broker ingress would have received over HTTP: counted as
   * ingress in the Knative-named metrics, with the status the store answered.
   */
  private brokerIngressRecorder(target: Target, eventType: string): ((r: AttemptResult, ms: number) => void) | undefined {
    if (target.kind !== 'broker') return undefined;
    const knative = this.deps.metrics.knative;
    const route = { namespace: target.namespace, broker: target.broker };
    return (r, ms) => knative.ingress(route, eventType, statusOf(r), ms);
  }

  get current(): WorkerRoute {
    return this.route;
  }

  get fanOut(): boolean {
    return this.route.stage === 'fan-out';
  }

  /**
   * Start the worker's own consumer. A fan-out Trigger's is on the broker's retry topic and
   * reads only what is parked for it (everything, whenever parked), through its lane; the
   * fan-out stage offers it the broker's events (`offer`).
   */
  async start(): Promise<void> {
    const { route } = this;
    const fanOut = route.stage === 'fan-out';
    if (fanOut) this.lane = new Lane(route.maxInFlight, laneQueueLimit(route.maxInFlight));
    const ordered = !fanOut && route.order === 'ordered';
    this.consumer = await this.deps.channel.consume(route.topic, route.consumer, fanOut ? (m) => this.handleParked(m) : (m) => this.handle(m), {
      ordered,
      maxInFlight: ordered ? 1 : route.maxInFlight,
      ackWaitMs: this.deps.ackWaitMs,
      // A new Trigger sees events from its creation on (as Knative's brokers); a new
      // Subscription also gets what its channel stored before it existed (the adapter may
      // have accepted events before the dispatcher wired the channel).
      deliverPolicy: route.kind === 'trigger' && !fanOut ? 'new' : 'all',
      // Backstop only: the worker's own, spec-derived limit (deliveryLimit) comes first.
      maxDeliveries: CHANNEL_MAX_DELIVERIES,
      prefilter: route.prefilter,
    });
    this.heartbeats.start();
    this.deps.metrics.consumers.inc({ kind: route.kind });
  }

  /** Whether the fan-out stage should hand this Trigger the broker event at `sequence`. */
  takes(sequence: number | undefined): boolean {
    return !this.stopping && (sequence === undefined || this.startAfter === undefined || sequence > this.startAfter);
  }

  /** Fan-out stage: whether this Trigger's lane is full (a new share would be offered for parking). */
  get saturated(): boolean {
    return this.lane?.saturated ?? false;
  }

  /**
   * Fan-out stage: this Trigger's share of a broker event (already parsed when `parsed`).
   * Runs in the lane; when too many wait, parked instead if `othersWaiting()` says another
   * Trigger of the broker could use the stage's window this share would hold.
   */
  offer(share: FanOutShare, parsed?: { event: CloudEventJson; raw?: Uint8Array }, othersWaiting: () => boolean = always): void {
    const lane = this.lane;
    if (!lane) return share.fail();
    lane.submit({
      spillable: true,
      run: () => this.handle(share, parsed),
      spill: () => {
        if (!othersWaiting()) return false;
        share.spill();
        return true;
      },
      // Stopped before it ran: a deleted Trigger owes nothing more; otherwise park it for
      // the Trigger's next worker (a restart, or the next process).
      abandon: () => (this.removed ? void share.ack() : share.spill()),
    });
  }

  /** Parks an event for this Trigger on its broker's retry topic. */
  readonly park: Park = (event, deliveries, delayMs, reason) => {
    const route = this.route;
    this.deps.metrics.parked.inc({ namespace: route.namespace, name: route.name, reason });
    return this.deps.channel.publish(route.topic, encodeParked({ trigger: route.key, deliveries, notBefore: Date.now() + Math.max(0, delayMs) }, event), parkedAttributes(route.key));
  };

  /** The retry consumer's handler: an event parked for this Trigger, once it is due. */
  private handleParked(message: ChannelMessage): Promise<void> {
    const parked = decodeParked(message.data);
    // Channels that cannot filter on the server hand every Trigger's parked events to each.
    if (!parked || parked.trigger !== this.route.key) {
      if (!parked) this.deps.logger.warn({ route: this.route.key, topic: this.route.topic }, 'ignoring a message on the retry topic that is not a parked event');
      return message.ack();
    }
    const wait = parked.notBefore - Date.now();
    if (wait > 0) {
      message.nak(wait);
      return Promise.resolve();
    }
    const lane = this.lane;
    if (!lane || this.stopping) {
      // Not at once: this consumer may still be open while it stops, and an immediate
      // redelivery to it would spin.
      message.nak(1000);
      return Promise.resolve();
    }
    const retry = new ParkedMessage(message, parked.event, parked.deliveries, this.park);
    return new Promise<void>((done) => {
      lane.submit({
        spillable: false,
        run: () => this.handle(retry).finally(done),
        spill: () => false,
        abandon: () => {
          message.nak(1000);
          done();
        },
      });
    });
  }

  /** Swap filter, subscriber or delivery policy in place: same consumer, same position. */
  update(route: WorkerRoute): void {
    this.route = route;
    this.lane?.resize(route.maxInFlight);
    this.cacheLabels();
  }

  /**
   * Stop fetching; backoff waits end at once (their events are released for redelivery),
   * in-flight requests get `graceMs` to finish, then are aborted and released.
   */
  async stop(graceMs: number, removed = false): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.removed = removed;
    // Shares still waiting in the lane go back with their broker event.
    this.lane?.close();
    this.stopWaiting.abort();
    const timer = setTimeout(() => this.hardStop.abort(), Math.max(0, graceMs));
    try {
      // A fan-out Trigger's deliveries run in its lane, not in its consumer's handler.
      const lane = this.lane;
      await Promise.all([this.consumer?.stop(graceMs + 50), lane ? Promise.race([lane.idle(), new Promise((r) => setTimeout(r, graceMs + 50).unref())]) : undefined]);
    } finally {
      clearTimeout(timer);
      this.heartbeats.stop();
      this.hardStop.abort();
      if (this.consumer) this.deps.metrics.consumers.dec({ kind: this.route.kind });
      this.consumer = undefined;
    }
  }

  private labels(): RouteLabels {
    return this.routeLabels;
  }

  private attemptDeps(): AttemptDeps {
    return this.deliveryDeps;
  }

  /** The consumer's handler: settles the message exactly once (`parsed`: its data, already read). */
  async handle(message: ChannelMessage, parsed?: { event: CloudEventJson; raw?: Uint8Array }): Promise<void> {
    const received = performance.now();
    const route = this.route;
    const log = this.deps.logger;
    if (this.stopping) {
      message.nak();
      return;
    }
    let event: CloudEventJson;
    let raw: Uint8Array | undefined;
    try {
      ({ event, raw } = parsed ?? readChannelEvent(message.data));
    } catch (err) {
      // Redelivery cannot make stored bytes valid: dead-letter them (or drop), loudly.
      const why = err instanceof EventValidationError ? err.message : String(err);
      await this.giveUp(route, message, undefined, new UndeliverableEventError('invalid_stored_event', `the stored message is not a valid CloudEvent: ${why}`));
      return;
    }
    const knative = this.knativeRoute();
    if (!route.matches(event)) {
      this.deps.metrics.filtered.inc({ namespace: route.namespace, name: route.name });
      await message.ack();
      return;
    }
    if (knative) this.deps.metrics.knative.processing(knative, event.type, performance.now() - received);

    // A share's broker event is kept alive by its fan-out stage (a share's working() does nothing).
    const beats = !(message instanceof FanOutShare);
    if (beats) this.heartbeats.add(message);
    const started = performance.now();
    let outcomeLabel = 'delivered';
    try {
      outcomeLabel = await this.deliver(route, event, message, raw);
    } catch (err) {
      if (err instanceof UndeliverableEventError) {
        outcomeLabel = await this.giveUp(route, message, event, err);
      } else {
        outcomeLabel = 'released';
        if (!(err instanceof DeliveryAborted)) log.error({ err, route: route.key, id: event.id }, 'delivery failed unexpectedly; the event will be redelivered');
        this.release(route, message, event, err instanceof DeliveryAborted ? undefined : 1000);
      }
    } finally {
      if (beats) this.heartbeats.delete(message);
      this.deps.metrics.latency.observe(this.outcome(outcomeLabel), (performance.now() - started) / 1000);
    }
  }

  /** Deliver, dead-letter or drop; returns the outcome label. Throws DeliveryAborted on shutdown. */
  private async deliver(route: WorkerRoute, event: CloudEventJson, message: ChannelMessage, raw: Uint8Array | undefined): Promise<string> {
    const { metrics, logger } = this.deps;
    const labels = this.labels();
    const deps = this.attemptDeps();
    const target = this.subscriberTarget(route);
    const knative = this.knativeRoute();
    const onAttempt = knative
      ? (r: AttemptResult, ms: number) => metrics.knative.dispatch(knative, event.type, statusOf(r), ms)
      : this.brokerIngressRecorder(target, event.type);
    const result = await deliverWithRetries(target, event, route.delivery, deps, (retry, previous) => {
      metrics.retried.inc(labels);
      logger.debug({ route: route.key, id: event.id, retry, target: target.label, outcome: describeOutcome(previous.outcome) }, 'retrying delivery');
    }, raw, onAttempt);

    if (result.ok) {
      const forwarded = await this.forwardReply(route, event, result.last.headers, result.last.body, result.last.truncated);
      if (!forwarded) {
        // The reply could not be stored: deliver the original again later rather than lose the reply.
        return this.release(route, message, event, 1000);
      }
      metrics.delivered.inc(labels);
      await message.ack();
      return 'delivered';
    }

    const { outcome } = result.last;
    const why = describeOutcome(outcome);
    if (target.kind === 'broker' && isRetryable(outcome)) {
      // A broker this dispatcher serves could not store it (its channel is down or full):
      // that is the mesh's own storage, not a subscriber's answer. Keep the event where it
      // is and try again later, however many attempts the delivery policy allows.
      const wait = retryWaitMs(route.delivery.backoffPolicy, Math.max(route.delivery.backoffDelayMs, 1000), Math.max(1, message.deliveryCount), undefined, 30_000);
      logger.warn({ route: route.key, id: event.id, target: target.label, outcome: why, retryInMs: wait }, 'the broker could not store the event; it will be redelivered');
      message.nak(wait);
      return 'released';
    }
    const dls = route.delivery.deadLetterSink;
    if (!dls) {
      const reason = isRetryable(outcome) && target.kind !== 'unresolvable' ? 'retries_exhausted' : 'not_retryable';
      metrics.dropped.inc({ ...labels, reason });
      logger.warn({ route: route.key, id: event.id, source: event.source, type: event.type, target: target.label, attempts: result.attempts, outcome: why }, 'event dropped: delivery failed and there is no deadLetterSink');
      await message.ack();
      return 'dropped';
    }
    const errorData = outcome.kind === 'response' ? result.last.body : outcome.kind === 'timeout' ? 'timed out' : outcome.message;
    const dead = deadLetterEvent(event, target.label, outcomeStatus(outcome), errorData) as CloudEventJson;
    const dlsTarget = this.deps.resolve(dls, route.namespace);
    const dlResult = await deliverWithRetries(dlsTarget, dead, route.delivery, deps, () => metrics.retried.inc(labels));
    if (dlResult.ok) {
      metrics.deadLettered.inc(labels);
      logger.info({ route: route.key, id: event.id, target: target.label, outcome: why, deadLetterSink: dlsTarget.label }, 'event dead-lettered');
      await message.ack();
      return 'dead_lettered';
    }
    // Neither the subscriber nor the sink took it: keep it (at least once) and try again later.
    const wait = retryWaitMs(route.delivery.backoffPolicy, Math.max(route.delivery.backoffDelayMs, 1000), 1, undefined, 60_000);
    logger.error({ route: route.key, id: event.id, deadLetterSink: dlsTarget.label, outcome: describeOutcome(dlResult.last.outcome) }, 'the dead-letter sink did not accept the event; it will be redelivered');
    return this.release(route, message, event, wait);
  }

  /**
   * Give a message back for redelivery, unless this was its last allowed delivery
   * (deliveryLimit): then it is dropped and counted, never cycled again.
   */
  private release(route: WorkerRoute, message: ChannelMessage, event: CloudEventJson, delayMs: number | undefined): 'released' | 'dropped' {
    const limit = deliveryLimit(route.delivery);
    if (this.stopping || message.deliveryCount < limit) {
      message.nak(delayMs);
      return 'released';
    }
    this.deps.metrics.dropped.inc({ ...this.labels(), reason: 'delivery_limit_reached' });
    this.deps.logger.error({ route: route.key, id: event.id, source: event.source, type: event.type, deliveries: message.deliveryCount, limit }, 'event dropped: delivered the most times its delivery spec allows and still not delivered or dead-lettered');
    void message.ack();
    return 'dropped';
  }

  /**
   * A message no retry can deliver (UndeliverableEventError): to the dead-letter sink now,
   * as undeliverableDeadLetter; dropped and counted when there is no sink. Returns the
   * outcome label.
   */
  private async giveUp(route: WorkerRoute, message: ChannelMessage, event: CloudEventJson | undefined, err: UndeliverableEventError): Promise<string> {
    const { metrics, logger } = this.deps;
    const labels = this.labels();
    const dls = route.delivery.deadLetterSink;
    const target = event ? this.subscriberTarget(route) : undefined;
    const log = { route: route.key, kind: route.kind, id: event?.id, reason: err.reason, err: err.message };
    if (!dls) {
      metrics.dropped.inc({ ...labels, reason: err.reason });
      logger.error(log, 'event dropped: it cannot be delivered and there is no deadLetterSink');
      await message.ack();
      return 'dropped';
    }
    const dead = undeliverableDeadLetter(message.data, event, target?.label ?? `${route.kind} ${route.namespace}/${route.name}`, route, err.message);
    const dlsTarget = this.deps.resolve(dls, route.namespace);
    let ok = false;
    let why = '';
    try {
      const res = await deliverWithRetries(dlsTarget, dead, route.delivery, this.attemptDeps(), () => metrics.retried.inc(labels));
      ok = res.ok;
      why = describeOutcome(res.last.outcome);
    } catch (e) {
      if (e instanceof DeliveryAborted) {
        message.nak();
        return 'released';
      }
      why = (e as Error)?.message ?? String(e);
    }
    if (ok) {
      metrics.deadLettered.inc(labels);
      logger.warn({ ...log, deadLetterSink: dlsTarget.label }, 'undeliverable event dead-lettered');
      await message.ack();
      return 'dead_lettered';
    }
    logger.error({ ...log, deadLetterSink: dlsTarget.label, outcome: why }, 'the dead-letter sink did not accept an undeliverable event; it will be redelivered');
    const wait = retryWaitMs(route.delivery.backoffPolicy, Math.max(route.delivery.backoffDelayMs, 1000), 1, undefined, 60_000);
    return this.release(route, message, event ?? { specversion: '1.0', id: dead.id, source: dead.source, type: dead.type }, wait);
  }

  /** Forward a reply, if the response carried one. False only when storing it failed (retry). */
  private async forwardReply(route: WorkerRoute, original: CloudEventJson, headers: IncomingHttpHeaders | undefined, body: Buffer | undefined, truncated?: boolean): Promise<boolean> {
    const { metrics, logger } = this.deps;
    const rl = { namespace: route.namespace, name: route.name };
    const parsed = parseReply(headers, body, truncated);
    if (parsed.kind === 'none') return true;
    if (parsed.kind === 'invalid') {
      metrics.replies.inc({ ...rl, outcome: 'invalid' });
      logger.warn({ route: route.key, id: original.id, message: parsed.message }, 'ignoring an invalid reply event (the original event counts as delivered)');
      return true;
    }
    if (!route.reply) {
      metrics.replies.inc({ ...rl, outcome: 'discarded' }, parsed.events.length);
      return true;
    }
    for (const reply of parsed.events) {
      const decision = prepareReply(original, reply);
      if (!decision.forward) {
        metrics.replies.inc({ ...rl, outcome: 'ttl_exhausted' });
        metrics.dropped.inc({ ...this.labels(), reason: 'reply_ttl_exhausted' });
        logger.warn({ route: route.key, id: reply.id, type: reply.type, original: original.id }, 'reply dropped: knativebrokerttl reached 0 (an event loop?)');
        continue;
      }
      const target: Target =
        'broker' in route.reply
          ? { kind: 'broker', namespace: route.reply.broker.namespace, broker: route.reply.broker.name, label: `broker ${route.reply.broker.namespace}/${route.reply.broker.name}` }
          : this.deps.resolve(route.reply.destination, route.namespace);
      const res = await deliverWithRetries(target, decision.event as CloudEventJson, route.delivery, this.attemptDeps(), undefined, undefined, this.brokerIngressRecorder(target, reply.type));
      if (!res.ok) {
        if (!res.final) return false;
        metrics.replies.inc({ ...rl, outcome: 'rejected' });
        logger.warn({ route: route.key, id: reply.id, target: target.label, outcome: describeOutcome(res.last.outcome) }, 'reply rejected by its destination');
        continue;
      }
      metrics.replies.inc({ ...rl, outcome: 'forwarded' });
    }
    return true;
  }
}

const always = (): boolean => true;

/** The HTTP status of an attempt; 0 when no response came back (Knative's convention). */
function statusOf(r: AttemptResult): number {
  return r.outcome.kind === 'response' ? r.outcome.status : 0;
}
