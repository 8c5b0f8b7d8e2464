/**
 * The controller's whole reconcile as one pure function: every object observed (from the API
 * server's informers, or from a manifest directory under `event-mesh dev`) in, everything to
 * apply, delete and write as status out. The running controller (index.ts), dynamic dev mode
 * and `event-mesh status` all call this; none keeps logic of its own.
 */
import {
  KNATIVE_EVENTING_GROUP, KNATIVE_MESSAGING_GROUP, KYMA_APPLICATION_GROUP, KYMA_SOURCES_GROUP,
} from '../../constructs/api';
import { buildRoutingTable } from '../dispatcher/routing/table';
import type { ManifestObject } from '../dispatcher/routing/manifests';
import { reconcileApplicationMapping } from './application-mapping/reconcile';
import { reconcileApplication } from './application/reconcile';
import { reconcileBroker } from './broker/reconcile';
import { READY, type Condition } from './conditions';
import type { ControllerContext } from './context';
import { reconcileHttpSource } from './http-source/reconcile';
import { reconcileNamespace } from './namespace/reconcile';
import { ObservedIndex, objectKey, refKey, type ObjectRef } from './objects';
import { emptyResult, mergeResults, type Note, type StatusUpdate } from './result';
import { reconcileSubscription } from './subscription/reconcile';
import { reconcileTrigger } from './trigger/reconcile';

export type { ObjectRef } from './objects';
export type { ControllerContext } from './context';

export interface DesiredState {
  /** Objects to server-side-apply (with ownerReferences where an Application owns them). */
  apply: ManifestObject[];
  /** Objects to delete (e.g. a removed mapping's Subscription). */
  delete: ObjectRef[];
  /** Status subresource content, for every object of ours that has a status. */
  status: { ref: ObjectRef; status: Record<string, unknown> }[];
  /** Things worth one log line (e.g. a Broker of another class); `key` dedupes them. */
  notes: Note[];
}

const readyOf = (update: StatusUpdate): Condition | undefined =>
  (update.status.conditions as Condition[] | undefined)?.find((c) => c.type === READY);

export function reconcileAll(observed: readonly ManifestObject[], ctx: ControllerContext): DesiredState {
  const index = new ObservedIndex(observed);
  const out = emptyResult();

  const problems = new Map<string, string[]>();
  for (const p of buildRoutingTable(observed).problems) {
    // A missing Broker is BrokerDoesNotExist, reported on its own condition.
    if (p.kind === 'Trigger' && p.message.startsWith('spec.broker: Broker ')) continue;
    const key = `${p.kind}/${p.namespace}/${p.name}`;
    problems.set(key, [...(problems.get(key) ?? []), p.message]);
  }

  const brokerReady = new Map<string, Condition>();
  for (const broker of index.all(KNATIVE_EVENTING_GROUP, 'Broker')) {
    const result = reconcileBroker(broker, ctx);
    mergeResults(out, result);
    const ready = result.status[0] && readyOf(result.status[0]);
    if (ready) brokerReady.set(`${broker.metadata?.namespace ?? 'default'}/${broker.metadata?.name}`, ready);
  }

  const sourceReady = new Map<string, Condition>();
  for (const source of index.all(KYMA_SOURCES_GROUP, 'HTTPSource')) {
    const update = reconcileHttpSource(source, index, ctx);
    out.status.push(update);
    const ready = readyOf(update);
    if (ready) sourceReady.set(`${source.metadata?.namespace}/${source.metadata?.name}`, ready);
  }

  const applicationReady = new Map<string, Condition>();
  for (const app of index.all(KYMA_APPLICATION_GROUP, 'Application')) {
    const result = reconcileApplication(app, index, ctx, sourceReady);
    mergeResults(out, result);
    if (!app.metadata?.deletionTimestamp) applicationReady.set(app.metadata?.name ?? '', result.set.conditions()[0]);
  }
  for (const mapping of index.all(KYMA_APPLICATION_GROUP, 'ApplicationMapping')) {
    out.status.push(reconcileApplicationMapping(mapping, ctx, applicationReady));
  }

  for (const namespace of index.all('', 'Namespace')) {
    const broker = reconcileNamespace(namespace, index);
    if (broker) out.apply.push(broker);
  }

  for (const trigger of index.all(KNATIVE_EVENTING_GROUP, 'Trigger')) {
    const key = `Trigger/${trigger.metadata?.namespace ?? 'default'}/${trigger.metadata?.name}`;
    const update = reconcileTrigger(trigger, { index, ctx, brokerReady, problems: problems.get(key) ?? [] });
    if (update) out.status.push(update);
  }
  for (const sub of index.all(KNATIVE_MESSAGING_GROUP, 'Subscription')) {
    const key = `Subscription/${sub.metadata?.namespace ?? 'default'}/${sub.metadata?.name}`;
    const update = reconcileSubscription(sub, index, ctx, problems.get(key) ?? []);
    if (update) out.status.push(update);
  }

  // One entry per object: a Broker asked for by both a namespace label and a mapping is applied once.
  const apply = new Map<string, ManifestObject>();
  for (const obj of out.apply) apply.set(objectKey(obj), obj);
  const del = new Map<string, ObjectRef>();
  for (const ref of out.delete) if (!apply.has(refKey(ref))) del.set(refKey(ref), ref);
  return { apply: [...apply.values()], delete: [...del.values()], status: out.status, notes: out.notes };
}
