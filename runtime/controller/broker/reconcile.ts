/**
 * Broker status (pure), for Brokers of our class only: Addressable with `address.url` (its
 * ingress URL on the dispatcher) and DeliveryValid. Brokers of another class are not ours:
 * no status, one note for the log.
 */
import { brokerClassOf, brokerIngressUrl, isServedBrokerClass, validateDelivery, type BrokerSpec } from '../../../constructs/api';
import { ConditionSet } from '../conditions';
import { addressingOf, type ControllerContext } from '../context';
import { refOf, type ObservedObject } from '../objects';
import { emptyResult, type ReconcileResult } from '../result';
import { statusUpdate } from '../status';
import { BROKER_CONDITIONS, BrokerReason } from './conditions';

export interface BrokerReconcile extends ReconcileResult {
  /** The conditions computed for the Broker (undefined for another class). */
  readonly set?: ConditionSet;
}

export function reconcileBroker(broker: ObservedObject, ctx: ControllerContext): BrokerReconcile {
  const result = emptyResult();
  const namespace = broker.metadata?.namespace ?? 'default';
  const name = broker.metadata?.name ?? '';
  if (!isServedBrokerClass(broker.metadata?.annotations)) {
    const cls = brokerClassOf(broker.metadata?.annotations);
    result.notes.push({
      key: `foreign-broker/${namespace}/${name}/${cls}`,
      level: 'info',
      ref: refOf(broker),
      message: `broker ${namespace}/${name} has class "${cls}": left to that class's controller, with its Triggers`,
    });
    return result;
  }
  const set = new ConditionSet(BROKER_CONDITIONS, broker.status, ctx.now);
  const url = brokerIngressUrl(namespace, name, addressingOf(ctx));
  set.markTrue('Addressable');
  const problems = validateDelivery((broker.spec as BrokerSpec | undefined)?.delivery, 'spec.delivery');
  if (problems.length) set.markFalse('DeliveryValid', BrokerReason.InvalidDelivery, problems.map((p) => p.message).join('; '));
  else set.markTrue('DeliveryValid');
  result.status.push(statusUpdate(broker, set, { address: { url } }));
  return { ...result, set };
}
