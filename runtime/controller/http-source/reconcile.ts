/**
 * HTTPSource status (pure): SinkProvided (its Channel exists), Deployed (its adapter
 * Deployment has an available replica, or its Knative Service is Ready) and ServiceCreated
 * (the adapter's Service exists); Ready over the three, `sinkUri` and `observedGeneration`.
 */
import { KNATIVE_MESSAGING_GROUP, adapterName, applicationChannelName } from '../../../constructs/api';
import { ConditionSet, conditionOf } from '../conditions';
import type { ControllerContext } from '../context';
import type { ObservedIndex, ObservedObject } from '../objects';
import { statusUpdate } from '../status';
import type { StatusUpdate } from '../result';
import { HTTP_SOURCE_CONDITIONS, HttpSourceReason } from './conditions';

const KNATIVE_SERVING_GROUP = 'serving.knative.dev';

function deploymentAvailable(deployment: ObservedObject): boolean {
  const status = (deployment.status ?? {}) as { availableReplicas?: number; conditions?: { type: string; status: string }[] };
  const available = status.conditions?.find((c) => c.type === 'Available');
  if (available) return available.status === 'True';
  return (status.availableReplicas ?? 0) > 0;
}

export function reconcileHttpSource(source: ObservedObject, index: ObservedIndex, ctx: ControllerContext): StatusUpdate {
  const set = new ConditionSet(HTTP_SOURCE_CONDITIONS, source.status, ctx.now);
  const namespace = source.metadata?.namespace;
  const app = (source.spec as { source?: unknown } | undefined)?.source;
  let sinkUri: string | undefined;
  if (typeof app !== 'string' || !app) {
    const message = 'spec.source is required: the name of the application that sends the events';
    set.markFalse('SinkProvided', HttpSourceReason.InvalidSpec, message)
      .markFalse('Deployed', HttpSourceReason.InvalidSpec, message)
      .markFalse('ServiceCreated', HttpSourceReason.InvalidSpec, message);
    return statusUpdate(source, set);
  }

  const channelName = applicationChannelName(app);
  const channel = index.get(KNATIVE_MESSAGING_GROUP, 'Channel', namespace, channelName);
  if (channel) {
    set.markTrue('SinkProvided');
    const address = (channel.status as { address?: { url?: unknown } } | undefined)?.address?.url;
    sinkUri = typeof address === 'string' ? address : undefined;
  } else {
    set.markFalse('SinkProvided', HttpSourceReason.SinkNotFound, `Channel "${channelName}" not found in namespace "${namespace}"`);
  }

  const name = adapterName(app);
  const ksvc = index.get(KNATIVE_SERVING_GROUP, 'Service', namespace, name);
  if (ksvc) {
    set.markTrue('ServiceCreated');
    const ready = conditionOf(ksvc);
    if (ready?.status === 'True') set.markTrue('Deployed');
    else set.markFalse('Deployed', HttpSourceReason.ServiceNotReady, `Knative Service "${name}" is not ready${ready?.reason ? ` (${ready.reason})` : ''}`);
  } else {
    const deployment = index.get('apps', 'Deployment', namespace, name);
    if (!deployment) set.markFalse('Deployed', HttpSourceReason.DeploymentNotFound, `adapter Deployment "${name}" not found in namespace "${namespace}"`);
    else if (!deploymentAvailable(deployment)) set.markFalse('Deployed', HttpSourceReason.DeploymentUnavailable, `adapter Deployment "${name}" has no available replica`);
    else set.markTrue('Deployed');
    if (index.get('', 'Service', namespace, name)) set.markTrue('ServiceCreated');
    else set.markFalse('ServiceCreated', HttpSourceReason.ServiceNotFound, `adapter Service "${name}" not found in namespace "${namespace}"`);
  }
  return statusUpdate(source, set, { sinkUri });
}
