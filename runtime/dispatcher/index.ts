/**
 * The broker data plane: routing from manifests, broker ingress, filtering, delivery.
 * Pure parts: `filter/`, `routing/table.ts`, `routing/diff.ts`, `delivery/backoff.ts`,
 * `delivery/retry.ts`, `delivery/policy.ts`, `delivery/replies.ts`, `events.ts`.
 */
export { startDispatcher } from './dispatcher';
export type { Dispatcher, DispatcherDeps, DispatcherOptions } from './dispatcher';
export * from './events';
export * from './filter';
export * from './routing';
export { backoffMs, retryWaitMs, MAX_BACKOFF_MS } from './delivery/backoff';
export * from './delivery/retry';
export * from './delivery/policy';
export { parseReply } from './delivery/replies';
export type { ReplyParse } from './delivery/replies';
export { resolveTarget, localBroker } from './delivery/targets';
export type { Target } from './delivery/targets';
export { HttpSender, DeliveryAborted } from './delivery/http-sender';
export { DeliveryWorker } from './delivery/worker';
export type { WorkerRoute, WorkerDeps } from './delivery/worker';
export { BrokerStore, BrokerNotFoundError } from './ingress/broker-store';
export { handleBrokerIngress, parseBrokerPath } from './ingress/http';
export { createDispatcherMetrics } from './metrics';
export type { DispatcherMetrics, DropReason } from './metrics';
