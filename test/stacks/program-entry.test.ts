/**
 * The entry point as `pulumi up` runs it: config from the stack, resources declared on import,
 * stack outputs as module exports.
 */
import { installMocks, registered, settle, valueOf } from './harness';

installMocks();

import * as pulumi from '@pulumi/pulumi';

const CONFIG = {
  'event-mesh:channel': 'kafka',
  'event-mesh:applications': JSON.stringify([{ name: 'commerce', namespaces: ['prod'] }]),
  'event-mesh:azure': JSON.stringify({ location: 'westeurope', sku: 'Standard' }),
  'event-mesh:kubeContext': 'aks-dev',
};

type ProgramModule = typeof import('../../stacks/program/index');

describe('stacks/program/index', () => {
  test('reads the stack config, deploys Event Hubs and the mesh, exports the URLs and the Event Hubs namespace', async () => {
    pulumi.runtime.setAllConfig(CONFIG);
    let program!: ProgramModule;
    jest.isolateModules(() => {
      program = require('../../stacks/program/index') as ProgramModule;
    });
    await valueOf(program.eventHubsNamespace!);
    await settle();
    expect(program.channel).toBe('kafka');
    expect(await valueOf(program.adapterUrls)).toEqual({ commerce: 'https://commerce-adapter.kyma-integration.svc.cluster.local/events' });
    expect(await valueOf(program.brokerIngressUrls)).toEqual({ 'prod/default': 'http://event-mesh-broker-ingress.event-mesh-system.svc.cluster.local/prod/default' });
    expect(await valueOf(program.eventHubsNamespace!)).toBe('event-hubs-ns5678');
    expect(await valueOf(program.kafkaBrokers!)).toBe('event-hubs-ns5678.servicebus.windows.net:9093');
    const types = new Set(registered().map((r) => r.type));
    for (const t of ['event-mesh:index:EventMesh', 'event-mesh:azure:EventHubsKafka', 'azure-native:eventhub:Namespace', 'kubernetes:core/v1:Secret', 'pulumi:providers:kubernetes']) {
      expect(types).toContain(t);
    }
    expect(registered().find((r) => r.type === 'pulumi:providers:kubernetes')!.inputs.context).toBe('aks-dev');
  });

  test('invalid config stops the program with a clean error naming the key and the fix', () => {
    pulumi.runtime.setAllConfig({ 'event-mesh:channel': 'kafka', 'event-mesh:azure': JSON.stringify({ location: 'westeurope', sku: 'Basic' }) });
    let error: unknown;
    jest.isolateModules(() => {
      try {
        require('../../stacks/program/index');
      } catch (err) {
        error = err;
      }
    });
    expect(pulumi.RunError.isInstance(error as Error)).toBe(true);
    expect((error as Error).message).toMatch(/event-mesh:azure.sku: "Basic" has no Kafka endpoint[\s\S]*fix: pulumi config set --path 'event-mesh:azure.sku' Standard/);
  });
});
