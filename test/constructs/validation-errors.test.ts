/**
 * Every mistake fails synthesis with a lower-case message that shows the bad value, says
 * how to fix it and names the construct path.
 */
import { Chart, Testing } from 'cdk8s';
import { EventMesh, Sink, Trigger, type TriggerProps } from '../../constructs';
import { synth } from '../support/synth';

const newChart = () => new Chart(Testing.app(), 'user');
const subscriber = Sink.service('fn');

function expectError(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  let message = '';
  try {
    fn();
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message).not.toBe('');
  // cdk8s wraps synth-time validation as "Validation failed with the following errors:\n  [path] <ours>".
  const ours = message.replace(/^Validation failed with the following errors:\s*\[[^\]]*\]\s*/, '');
  // Every message of ours: lower-case, and it ends by naming the construct path.
  expect(ours).toMatch(/^[a-z]/);
  expect(ours).toMatch(/\(at [^()\s]+\)$/);
  for (const part of parts) {
    if (typeof part === 'string') expect(message).toContain(part);
    else expect(message).toMatch(part);
  }
}

function triggerIn(props: Partial<TriggerProps>) {
  const chart = newChart();
  new EventMesh(chart, 'mesh', { namespaces: ['serverless'] });
  return () => new Trigger(chart, 'orders', { namespace: 'serverless', subscriber, ...props });
}

describe('triggers', () => {
  test('a trigger on a broker that is not in its namespace fails at synth', () => {
    const chart = newChart();
    new EventMesh(chart, 'mesh', { namespaces: ['serverless'] });
    new Trigger(chart, 'orders', { namespace: 'shop', subscriber });
    expectError(() => synth(chart),
      'trigger "orders" uses broker "default" in namespace "shop", but the app defines no such broker',
      'bind the namespace', 'mesh.bindNamespace("shop")',
      '(at user/orders)');
  });

  test('app.synth() runs the same check', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'user');
    new EventMesh(chart, 'mesh', { namespaces: ['serverless'] });
    new Trigger(chart, 'orders', { namespace: 'serverless', broker: 'premium', subscriber });
    expectError(() => app.synth(), 'uses broker "premium" in namespace "serverless"', 'brokers in "serverless": "default"', '(at user/orders)');
  });

  test('a broker added after the trigger satisfies it', () => {
    const chart = newChart();
    new Trigger(chart, 'orders', { namespace: 'late', subscriber });
    const mesh = new EventMesh(chart, 'mesh');
    mesh.bindNamespace('late');
    expect(() => synth(chart)).not.toThrow();
  });

  test('requireBroker: false skips the check for brokers managed elsewhere', () => {
    const chart = newChart();
    new Trigger(chart, 'orders', { namespace: 'elsewhere', subscriber, requireBroker: false });
    expect(() => synth(chart)).not.toThrow();
  });

  test('an attribute name that is not ^[a-z][a-z0-9]*$', () => {
    expectError(triggerIn({ filter: { eventTypeVersion: 'v1' } }),
      'attribute name "eventTypeVersion" must match ^[a-z][a-z0-9]*$', 'fix that field in the props', '(at user/orders)');
  });

  test('an attribute name in the filters dialect, however deep', () => {
    expectError(triggerIn({ filters: [{ any: [{ exact: { '1type': 'a' } }] }] }),
      'attribute name "1type" must match', '(at user/orders)');
  });

  test('a backoffDelay that is not ISO-8601', () => {
    expectError(triggerIn({ delivery: { backoffDelay: '500ms' } }),
      'spec.delivery.backoffDelay must be an ISO-8601 duration such as "PT0.2S" or "PT1M", got "500ms"', 'fix that field', '(at user/orders)');
  });

  test('a timeout that is not ISO-8601', () => {
    expectError(triggerIn({ delivery: { timeout: 'P1M' } }), 'spec.delivery.timeout must be an ISO-8601 duration', 'got "P1M"', '(at user/orders)');
  });

  test('a negative retry', () => {
    expectError(triggerIn({ delivery: { retry: -1 } }),
      'spec.delivery.retry must be a whole number of at least 0, got -1', 'fix that field', '(at user/orders)');
  });

  test('ordered delivery with maxInFlight above 1', () => {
    expectError(triggerIn({ delivery: { ordering: 'ordered', maxInFlight: 4 } }),
      'maxInFlight is 4 but ordering is "ordered"', 'drop maxInFlight, or set ordering to "parallel"', '(at user/orders)');
  });

  test('a maxInFlight above what the dispatcher accepts', () => {
    expectError(triggerIn({ delivery: { ordering: 'parallel', maxInFlight: 5000 } }),
      'trigger "orders" delivery.maxInFlight must be a whole number between 1 and 1000, got 5000', '(at user/orders)');
  });

  test('a subscriber the dispatcher cannot address', () => {
    expectError(triggerIn({ subscriber: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'fn' } } }),
      'cannot address a Deployment', 'point subscriber at something the dispatcher can call', '(at user/orders)');
  });

  test('a label value the API server would refuse', () => {
    expectError(triggerIn({ labels: { team: 'Payments Team' } }),
      'trigger "orders" labels.team must be a label value', 'got "Payments Team"', 'put free text in an annotation instead', '(at user/orders)');
  });

  test('a label key the API server would refuse', () => {
    expectError(triggerIn({ labels: { 'team name': 'payments' } }),
      'trigger "orders" labels key "team name" is not a valid label key', 'e.g. "team" or "example.com/team"', '(at user/orders)');
  });

  test('a broker name that cannot name a Broker (checked even with requireBroker: false)', () => {
    expectError(triggerIn({ broker: 'Orders_Broker', requireBroker: false }),
      'trigger "orders" broker must be lower-case letters, digits and "-"', 'got "Orders_Broker"', 'rename it, e.g. "orders-broker"', '(at user/orders)');
  });

  test('a name that is not a DNS label', () => {
    expectError(triggerIn({ name: 'Orders_Trigger' }), 'got "Orders_Trigger"', 'rename it, e.g. "orders-trigger"', '(at user/orders)');
  });
});

describe('applications', () => {
  test('two applications with the same name', () => {
    const chart = newChart();
    expectError(() => new EventMesh(chart, 'mesh', { applications: [{ name: 'shop' }, { name: 'shop' }] }),
      'application "shop" is defined twice', 'give every application a unique name', '(at user/mesh)');
  });

  test('two mesh triggers with the same name in one namespace', () => {
    const mesh = new EventMesh(newChart(), 'mesh', { namespaces: ['ns'] });
    mesh.addTrigger({ name: 't', namespace: 'ns', subscriber });
    expectError(() => mesh.addTrigger({ name: 't', namespace: 'ns', subscriber }),
      'trigger "t" in namespace "ns" is defined twice', 'give each trigger a unique name within its namespace', '(at user/mesh)');
  });

  test('addApplication with a name already used', () => {
    const mesh = new EventMesh(newChart(), 'mesh', { applications: [{ name: 'shop' }] });
    expectError(() => mesh.addApplication({ name: 'shop' }), 'application "shop" is defined twice', '(at user/mesh)');
  });

  test('an application bound to the same namespace twice', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { applications: [{ name: 'shop', namespaces: ['serverless', 'serverless'] }] }),
      'application "shop" is bound to namespace "serverless" twice', 'list each namespace once', '(at user/mesh/Applications/shop)');
  });

  test('bindNamespace on a namespace the application already reaches', () => {
    const app = new EventMesh(newChart(), 'mesh', { applications: [{ name: 'shop', namespaces: ['serverless'] }] }).applications[0];
    expectError(() => app.bindNamespace('serverless'), 'bound to namespace "serverless" twice', '(at user/mesh/Applications/shop)');
  });

  test('an application name that cannot name a Service', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { applications: [{ name: '1shop' }] }),
      'application name must start with a letter', 'got "1shop"', 'rename the application', '(at user/mesh/Applications/1shop)');
  });

  test('a channel kind the mesh does not deploy', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { channels: ['nats'], applications: [{ name: 'shop', channel: 'kafka' }] }),
      'application "shop" uses channel "kafka", which this mesh does not deploy (enabled: nats)', 'add "kafka" to the EventMesh channels prop', '(at user/mesh)');
  });
});

describe('nats', () => {
  test('a maxAge that is not a duration', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { nats: { persistence: { maxAge: '24x' } } }),
      'nats persistence.maxAge must be a duration such as "24h"', 'got "24x"', 'set nats persistence.maxAge to a positive number followed by h, m, s or ms', '(at user/mesh/Nats)');
  });

  test('a maxInactivity that is not a duration', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { nats: { channel: { maxInactivity: '2 days' } } }),
      'nats channel.maxInactivity must be a duration', 'got "2 days"', '(at user/mesh/Nats)');
  });

  test('a negative volume size', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { nats: { persistence: { size: '-1Gi' } } }),
      'nats persistence.size must be a positive Kubernetes quantity such as "1Gi"', 'got "-1Gi"', 'use a number with an optional suffix', '(at user/mesh/Nats)');
  });

  test('a memory limit that is not a quantity', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { nats: { resources: { limits: { memory: '256MB' } } } }),
      'nats resources.limits.memory must be a positive Kubernetes quantity', 'got "256MB"', '(at user/mesh/Nats)');
  });

  test('an even number of servers', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { nats: { replicas: 2 } }),
      'nats replicas must be 1, 3 or 5, got 2', 'odd number so JetStream keeps a quorum', '(at user/mesh/Nats)');
  });

  test('stream settings are checked even when NATS is not deployed', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { defaultChannel: 'kafka', nats: { persistence: { maxAge: '-5h' } } }),
      'nats persistence.maxAge must be a duration', 'got "-5h"', '(at user/mesh)');
  });
});

describe('kafka', () => {
  test('a literal Secret host given as a URL', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', {
      defaultChannel: 'kafka',
      kafka: { insecureLiteralSecret: { brokersHostname: 'https://ns.servicebus.windows.net', brokersPort: 9093, namespace: 'ns', password: 'p' } },
    }), 'kafka insecureLiteralSecret.brokersHostname must be a host name, got "https://ns.servicebus.windows.net"', 'without scheme or port', '(at user/mesh/Kafka)');
  });

  test('a literal Secret without a password', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', {
      defaultChannel: 'kafka',
      kafka: { insecureLiteralSecret: { brokersHostname: 'ns.servicebus.windows.net', brokersPort: 9093, namespace: 'ns', password: '' } },
    }), 'kafka insecureLiteralSecret.password is empty', 'drop insecureLiteralSecret to reference an existing Secret', '(at user/mesh/Kafka)');
  });
});

describe('mesh', () => {
  test('an unknown default channel', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { defaultChannel: 'rabbitmq' as never }),
      'defaultChannel must be one of nats, kafka, inmemory, pubsub, got "rabbitmq"', '(at user/mesh)');
  });

  test('channel pubsub without the pubsub prop (no project)', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { defaultChannel: 'pubsub' }),
      'channel "pubsub" is enabled but the pubsub prop is missing (no Google Cloud project)', 'set pubsub: { project:', '(at user/mesh)');
  });

  test('pubsub with a project that is no project ID', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { defaultChannel: 'pubsub', pubsub: { project: 'My Project', gcpServiceAccount: 'em@p.iam.gserviceaccount.com' } }),
      'pubsub project must be a Google Cloud project ID', 'got "My Project"', 'set pubsub.project', '(at user/mesh/PubSub)');
  });

  test('pubsub with both a key Secret and a Google service account', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', {
      defaultChannel: 'pubsub',
      pubsub: { project: 'my-project', gcpServiceAccount: 'event-mesh@my-project.iam.gserviceaccount.com', keySecret: { name: 'gcp-key' } },
    }), 'pubsub sets both gcpServiceAccount and keySecret', 'drop keySecret', '(at user/mesh/PubSub)');
  });

  test('pubsub with no credentials at all', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { defaultChannel: 'pubsub', pubsub: { project: 'my-project' } }),
      'pubsub has no credentials', 'pubsub.gcpServiceAccount', 'pubsub.keySecret', '(at user/mesh/PubSub)');
  });

  test('pubsub with a Google service account that is no email', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { defaultChannel: 'pubsub', pubsub: { project: 'my-project', gcpServiceAccount: 'event-mesh' } }),
      'pubsub gcpServiceAccount must be a Google service account email, got "event-mesh"', 'iam.gserviceaccount.com', '(at user/mesh/PubSub)');
  });

  test('dispatcher resources that are not quantities', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { dataPlane: { resources: { limits: { memory: 'lots' } } } }),
      'event-mesh-dispatcher resources.limits.memory must be a positive Kubernetes quantity', 'got "lots"', '(at user/mesh/Dispatcher/Resource)');
  });

  test('a log level the runtime does not know', () => {
    expectError(() => new EventMesh(newChart(), 'mesh', { logLevel: 'verbose' as never }),
      'logLevel must be one of trace, debug, info, warn, error, fatal, got "verbose"', '(at user/mesh)');
  });
});
