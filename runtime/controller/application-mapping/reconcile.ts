/**
 * ApplicationMapping status (pure). The binding itself (namespace labels, `default` Broker,
 * Subscription) is part of the Application's objects (application/reconcile.ts); the mapping
 * reports whether its Application exists and is Ready, and the Broker its events reach.
 */
import { DEFAULT_BROKER_NAME, brokerIngressUrl } from '../../../constructs/api';
import { ConditionSet, type Condition } from '../conditions';
import { addressingOf, type ControllerContext } from '../context';
import type { ObservedObject } from '../objects';
import type { StatusUpdate } from '../result';
import { statusUpdate } from '../status';
import { APPLICATION_MAPPING_CONDITIONS, ApplicationMappingReason } from './conditions';

export function reconcileApplicationMapping(
  mapping: ObservedObject,
  ctx: ControllerContext,
  /** Ready of each Application computed in this pass, by name. */
  applicationReady: ReadonlyMap<string, Condition>,
): StatusUpdate {
  const set = new ConditionSet(APPLICATION_MAPPING_CONDITIONS, mapping.status, ctx.now);
  const name = mapping.metadata?.name ?? '';
  const namespace = mapping.metadata?.namespace ?? 'default';
  const ready = applicationReady.get(name);
  if (!ready) {
    const message = `Application "${name}" does not exist`;
    set.markFalse('ApplicationFound', ApplicationMappingReason.ApplicationNotFound, message)
      .markFalse('ApplicationReady', ApplicationMappingReason.ApplicationNotFound, message);
    return statusUpdate(mapping, set);
  }
  set.markTrue('ApplicationFound');
  if (ready.status === 'True') set.markTrue('ApplicationReady');
  else if (ready.status === 'False') set.markFalse('ApplicationReady', ApplicationMappingReason.ApplicationNotReady, `Application "${name}" is not ready: ${ready.reason ?? ''}`);
  else set.markUnknown('ApplicationReady', ApplicationMappingReason.ApplicationNotReady, `Application "${name}" is not ready yet: ${ready.reason ?? ''}`);
  return statusUpdate(mapping, set, { brokerUri: brokerIngressUrl(namespace, DEFAULT_BROKER_NAME, addressingOf(ctx)) });
}
