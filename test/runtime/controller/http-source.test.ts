/** HTTPSource status, as a table: Ready over SinkProvided, Deployed and ServiceCreated. */
import { HttpSourceReason } from '../../../runtime/controller/http-source/conditions';
import { reconcileAll, type ControllerContext } from '../../../runtime/controller/reconcile-all';
import type { ObservedObject } from '../../../runtime/controller/objects';
import { channel, clock, deployment, httpSource, knativeService, service } from '../../support/controller-objects';

const ctx: ControllerContext = { now: clock('2026-12-01T20:00:00.000Z') };
const NS = 'kyma-integration';
const src = (o = {}) => httpSource(NS, 'commerce', 'commerce', { generation: 2, ...o });

function conditions(observed: ObservedObject[]) {
  const status = reconcileAll(observed, ctx).status.find((s) => s.ref.kind === 'HTTPSource')!.status as { observedGeneration: number; sinkUri?: string; conditions: { type: string; status: string; reason?: string }[] };
  return { ...status, byType: Object.fromEntries(status.conditions.map((c) => [c.type, [c.status, c.reason].filter(Boolean).join(' ')])) };
}

test.each([
  {
    name: 'everything in place and available: Ready',
    observed: [channel(NS, 'commerce'), deployment(NS, 'commerce-adapter', true), service(NS, 'commerce-adapter')],
    expected: { Ready: 'True', SinkProvided: 'True', Deployed: 'True', ServiceCreated: 'True' },
  },
  {
    name: 'no channel: SinkNotFound',
    observed: [deployment(NS, 'commerce-adapter', true), service(NS, 'commerce-adapter')],
    expected: { Ready: `False ${HttpSourceReason.SinkNotFound}`, SinkProvided: 'False SinkNotFound', Deployed: 'True', ServiceCreated: 'True' },
  },
  {
    name: 'adapter not available yet: DeploymentUnavailable',
    observed: [channel(NS, 'commerce'), deployment(NS, 'commerce-adapter', false), service(NS, 'commerce-adapter')],
    expected: { Ready: 'False DeploymentUnavailable', SinkProvided: 'True', Deployed: 'False DeploymentUnavailable', ServiceCreated: 'True' },
  },
  {
    name: 'a Deployment without status yet counts as unavailable',
    observed: [channel(NS, 'commerce'), deployment(NS, 'commerce-adapter', undefined), service(NS, 'commerce-adapter')],
    expected: { Ready: 'False DeploymentUnavailable', SinkProvided: 'True', Deployed: 'False DeploymentUnavailable', ServiceCreated: 'True' },
  },
  {
    name: 'nothing there yet: the first failing reason wins Ready',
    observed: [],
    expected: { Ready: 'False SinkNotFound', SinkProvided: 'False SinkNotFound', Deployed: 'False DeploymentNotFound', ServiceCreated: 'False ServiceNotFound' },
  },
  {
    name: 'a Knative Service adapter that is not ready: ServiceNotReady, as the seed\'s troubleshooting page shows',
    observed: [channel(NS, 'commerce'), knativeService(NS, 'commerce-adapter', 'False', 'RevisionMissing')],
    expected: { Ready: 'False ServiceNotReady', SinkProvided: 'True', Deployed: 'False ServiceNotReady', ServiceCreated: 'True' },
  },
  {
    name: 'a ready Knative Service adapter',
    observed: [channel(NS, 'commerce'), knativeService(NS, 'commerce-adapter', 'True')],
    expected: { Ready: 'True', SinkProvided: 'True', Deployed: 'True', ServiceCreated: 'True' },
  },
])('$name', ({ observed, expected }) => {
  const status = conditions([src(), ...observed]);
  expect(status.byType).toEqual(expected);
  expect(status.observedGeneration).toBe(2);
});

test('sinkUri is the Channel\'s address when it has one', () => {
  const ch = channel(NS, 'commerce', { status: { address: { url: 'http://commerce-kn-channel.kyma-integration.svc.cluster.local' } } });
  expect(conditions([src(), ch]).sinkUri).toBe('http://commerce-kn-channel.kyma-integration.svc.cluster.local');
  expect(conditions([src(), channel(NS, 'commerce')]).sinkUri).toBeUndefined();
});

test('an empty spec.source: every condition False, reason InvalidSpec', () => {
  const status = conditions([httpSource(NS, 'x', '')]);
  expect(status.byType).toEqual({ Ready: 'False InvalidSpec', SinkProvided: 'False InvalidSpec', Deployed: 'False InvalidSpec', ServiceCreated: 'False InvalidSpec' });
});
