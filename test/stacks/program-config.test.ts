import { readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { ConfigValidationError, readProgramConfig, type ConfigSource } from '../../stacks/program/config';
import { planMesh } from '../../stacks/program/program';

const ROOT = join(__dirname, '..', '..');

/** Config as Pulumi hands it to a program: scalars as strings, structured values as JSON. */
function source(values: Record<string, unknown>, name = 'event-mesh'): ConfigSource & { keys: string[] } {
  const raw = new Map(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  return { name, get: (key) => raw.get(key), keys: [...raw.keys()].map((k) => `${name}:${k}`) };
}

function problemsOf(values: Record<string, unknown>): string {
  const s = source(values);
  try {
    readProgramConfig(s, s.keys);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigValidationError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigValidationError');
}

describe('program config', () => {
  test('defaults: NATS, no applications, the current kube context', () => {
    const cfg = readProgramConfig(source({}));
    expect(cfg).toEqual({ channel: 'nats', mesh: { defaultChannel: 'nats' }, kubeContext: undefined, azure: undefined, usesKafka: false, gcp: undefined, usesPubSub: false });
  });

  test('Pulumi.dev.yaml is a valid configuration the construct accepts', () => {
    const stack = parse(readFileSync(join(ROOT, 'Pulumi.dev.yaml'), 'utf8')) as { config: Record<string, unknown> };
    const values = Object.fromEntries(Object.entries(stack.config).map(([k, v]) => [k.replace(/^event-mesh:/, ''), v]));
    const s = source(values);
    const cfg = readProgramConfig(s, s.keys);
    expect(cfg.channel).toBe('nats');
    expect(cfg.mesh.applications?.map((a) => a.name)).toEqual(['commerce', 'marketing']);
    expect(cfg.mesh.triggers?.[0]).toMatchObject({ name: 'order-created', namespace: 'prod', filter: { type: 'order.created' } });
    const plan = planMesh(cfg);
    expect(Object.keys(plan.adapterUrls)).toEqual(['commerce', 'marketing']);
    // Switching the same stack to Kafka needs nothing else.
    const kafka = readProgramConfig(source({ ...values, channel: 'kafka' }));
    expect(kafka.usesKafka).toBe(true);
    expect(kafka.azure).toMatchObject({ location: 'westeurope', sku: 'Standard', tags: { env: 'dev' } });
    expect(kafka.mesh.kafka).toEqual({ provider: 'azure' });
    expect(planMesh(kafka).kafka?.applications).toEqual(['commerce', 'marketing']);
  });

  test('Pulumi.yaml runs the compiled program', () => {
    const project = parse(readFileSync(join(ROOT, 'Pulumi.yaml'), 'utf8')) as { name: string; runtime: { name: string; options: { typescript: boolean } }; main: string };
    expect(project.name).toBe('event-mesh');
    expect(project.runtime).toEqual({ name: 'nodejs', options: { typescript: false } });
    expect(project.main).toBe('lib/stacks/program/index.js');
  });

  test('an application on Kafka under a NATS default also brings up Event Hubs', () => {
    const cfg = readProgramConfig(source({ applications: [{ name: 'erp', namespaces: ['prod'], channel: 'kafka' }], azure: { existingResourceGroup: 'rg' } }));
    expect(cfg.usesKafka).toBe(true);
    expect(cfg.azure?.existingResourceGroup).toBe('rg');
  });

  test('errors name the key and the fix', () => {
    expect(problemsOf({ channel: 'rabbitmq' })).toMatch(/event-mesh:channel: must be one of "nats", "kafka", "pubsub", got "rabbitmq"\n\s+fix: pulumi config set event-mesh:channel nats/);
    expect(problemsOf({ channel: 'kafka' })).toMatch(/event-mesh:azure: is required when a channel is Kafka[\s\S]*fix: pulumi config set --path 'event-mesh:azure.location' westeurope/);
    expect(problemsOf({ channel: 'kafka', azure: { location: 'westeurope', sku: 'Basic' } })).toMatch(/event-mesh:azure.sku: "Basic" has no Kafka endpoint[\s\S]*Standard or Premium[\s\S]*azure.sku' Standard/);
    expect(problemsOf({ channel: 'kafka', azure: { sku: 'Standard' } })).toMatch(/event-mesh:azure.location: is required/);
    expect(problemsOf({ channel: 'kafka', azure: { location: 'x', existingResourceGroup: 'a', resourceGroupName: 'b' } })).toMatch(/not both/);
    expect(problemsOf({ applications: [{ namespaces: ['prod'] }] })).toMatch(/event-mesh:applications\[0\].name: is required[\s\S]*--path 'event-mesh:applications\[0\].name' commerce/);
    expect(problemsOf({ applications: [{ name: 'a', namespace: ['prod'] }] })).toMatch(/applications\[0\].namespace: is not a known setting[\s\S]*known: name, namespaces/);
    expect(problemsOf({ applications: { name: 'a' } })).toMatch(/event-mesh:applications: must be a list/);
    expect(problemsOf({ triggers: [{ name: 't' }] })).toMatch(/triggers\[0\].subscriber: is required/);
    expect(problemsOf({ nats: { replicas: 'three' } })).toMatch(/nats.replicas: must be a whole number/);
    expect(problemsOf({ chanel: 'nats' })).toMatch(/event-mesh:chanel: is not a setting this program reads[\s\S]*pulumi config rm event-mesh:chanel/);
    expect(problemsOf({ logLevel: 'verbose' })).toMatch(/logLevel: must be one of "trace"/);
  });

  test('all problems are reported at once', () => {
    const message = problemsOf({ channel: 'x', applications: [{}], azure: { sku: 'Basic' } });
    expect(message).toMatch(/^invalid stack configuration \(3 problems\)/);
  });

  test('what only the construct can check is reported as a configuration error too', () => {
    const cfg = readProgramConfig(source({ nats: { replicas: 2 } }));
    expect(() => planMesh(cfg)).toThrow(ConfigValidationError);
    expect(() => planMesh(cfg)).toThrow(/nats replicas must be 1, 3 or 5/);
    const dangling = readProgramConfig(source({ triggers: [{ name: 't', namespace: 'nowhere', subscriber: { uri: 'http://x.example/' } }] }));
    expect(() => planMesh(dangling)).toThrow(/no such broker/);
  });
});
