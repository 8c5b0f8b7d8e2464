/**
 * A production profile: a 3-server NATS JetStream cluster (streams replicated 3 times,
 * servers spread across nodes, bigger volumes and a longer retention), 3 dispatcher
 * replicas, and two applications sharing the `analytics` namespace (its Namespace and
 * `default` Broker are rendered once).
 *
 * Run: `npm run build && node lib/examples/nats-production/main.js` (writes dist/nats-production/, or the directory given as argument).
 */
import { App, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { EventMesh, Sink } from '../../constructs';

export function buildNatsProductionChart(scope: Construct, id = 'nats-production'): Chart {
  const chart = new Chart(scope, id);
  const mesh = new EventMesh(chart, 'mesh', {
    nats: {
      replicas: 3,
      persistence: { maxAge: '72h', size: '20Gi', storageClassName: 'premium-rwo' },
      resources: { limits: { memory: '2Gi' }, requests: { cpu: '500m' } },
      channel: { maxInactivity: '168h' },
    },
    dataPlane: {
      replicas: 3,
      resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '2', memory: '1Gi' } },
      maxBodyBytes: 262144,
    },
    adapters: { replicas: 2 },
    logLevel: 'warn',
    applications: [
      { name: 'commerce', namespaces: ['serverless', 'analytics'], events: [{ type: 'user.created', version: 'v1' }] },
      { name: 'marketing', namespaces: ['analytics'], events: [{ type: 'campaign.sent', version: 'v1' }] },
    ],
  });
  mesh.addTrigger({
    name: 'all-user-events',
    namespace: 'analytics',
    filters: [{ prefix: { type: 'user.' } }, { not: { exact: { source: 'marketing' } } }],
    subscriber: Sink.service('warehouse-loader', { path: '/ingest' }),
    delivery: { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT1S', ordering: 'parallel', maxInFlight: 64 },
  });
  return chart;
}

if (require.main === module) {
  // A subdirectory keeps the examples apart. `event-mesh dev dist` reads dist/ recursively and
  // would serve this mesh next to the commerce one: pass another directory to avoid that.
  const app = new App({ outdir: process.argv[2] ?? 'dist/nats-production' });
  buildNatsProductionChart(app);
  app.synth();
}
