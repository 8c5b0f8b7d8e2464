/**
 * The seed scenario: the external application `commerce` sends `user.created` (v1) events;
 * the namespace `serverless` receives them and a Trigger delivers them to `test-function`,
 * retrying 3 times with exponential backoff from 0.5 s before giving up to `dead-letters`.
 *
 * The subscriber is a plain Kubernetes Service (Knative's event_display behind it) rather
 * than a Kyma Function, so the example runs on any cluster; with Kyma Serverless installed,
 * `Sink.function('test-function')` addresses a Function instead.
 *
 * Run: `npm run synth` (writes dist/commerce.k8s.yaml).
 */
import { App, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { EventMesh, Sink, Trigger } from '../../constructs';
import { EventDisplay } from '../event-display';

export const COMMERCE_APP = 'commerce';
export const SUBSCRIBER_NAMESPACE = 'serverless';

export function buildCommerceChart(scope: Construct, id = 'commerce'): Chart {
  const chart = new Chart(scope, id);

  new EventMesh(chart, 'mesh', {
    applications: [{
      name: COMMERCE_APP,
      namespaces: [SUBSCRIBER_NAMESPACE],
      description: 'Commerce backend: customers and orders',
      events: [{ type: 'user.created', version: 'v1', description: 'A customer signed up' }],
    }],
  });

  // Triggers may live anywhere in the App: the mesh's routing ConfigMap collects them at synth.
  new Trigger(chart, 'test-trigger', {
    namespace: SUBSCRIBER_NAMESPACE,
    broker: 'default',
    filter: { type: 'user.created', eventtypeversion: 'v1', source: COMMERCE_APP },
    subscriber: Sink.service('test-function'),
    delivery: {
      retry: 3,
      backoffPolicy: 'exponential',
      backoffDelay: 'PT0.5S',
      deadLetterSink: Sink.service('dead-letters'),
    },
  });

  new EventDisplay(chart, 'test-function', { name: 'test-function', namespace: SUBSCRIBER_NAMESPACE });
  new EventDisplay(chart, 'dead-letters', { name: 'dead-letters', namespace: SUBSCRIBER_NAMESPACE });
  return chart;
}

if (require.main === module) {
  const app = new App();
  buildCommerceChart(app);
  app.synth();
}
