/**
 * Kafka on Azure Event Hubs as the mesh's channel. The connection lives in the Secret
 * `knative-kafka`, referenced, never rendered: create it (in event-mesh-system and
 * kyma-integration, where the dispatcher and the adapters run) before applying, e.g.
 *
 *   for ns in event-mesh-system kyma-integration; do
 *     kubectl -n $ns create secret generic knative-kafka \
 *       --from-literal=brokers=$kafkaBrokersHost:$kafkaBrokersPort \
 *       --from-literal=brokers.hostname=$kafkaBrokersHost --from-literal=brokers.port=$kafkaBrokersPort \
 *       --from-literal=namespace=$kafkaNamespace --from-literal=username='$ConnectionString' \
 *       --from-literal=password="$kafkaPassword" --from-literal=provider=azure
 *   done
 *
 * (or let the Pulumi component create the Event Hubs namespace and the Secret).
 *
 * Run: `npm run build && node lib/examples/kafka-azure/main.js` (writes dist/kafka-azure/, or the directory given as argument).
 */
import { App, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { EventMesh, Sink } from '../../constructs';

export function buildKafkaAzureChart(scope: Construct, id = 'kafka-azure'): Chart {
  const chart = new Chart(scope, id);
  new EventMesh(chart, 'mesh', {
    defaultChannel: 'kafka',
    kafka: { provider: 'azure', secretName: 'knative-kafka', numPartitions: 8 },
    applications: [{
      name: 'orders',
      namespaces: ['fulfilment'],
      description: 'Order management system',
      events: [{ type: 'order.created', version: 'v1' }, { type: 'order.shipped', version: 'v1' }],
    }],
    triggers: [{
      name: 'ship-orders',
      namespace: 'fulfilment',
      filter: { type: 'order.created', source: 'orders' },
      subscriber: Sink.knativeService('shipping'),
      delivery: { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT1S', timeout: 'PT10S', ordering: 'ordered' },
    }],
  });
  return chart;
}

if (require.main === module) {
  // A subdirectory keeps the examples apart. `event-mesh dev dist` reads dist/ recursively and
  // would serve this mesh next to the commerce one: pass another directory to avoid that.
  const app = new App({ outdir: process.argv[2] ?? 'dist/kafka-azure' });
  buildKafkaAzureChart(app);
  app.synth();
}
