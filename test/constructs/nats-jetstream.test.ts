import { Chart, Testing } from 'cdk8s';
import { EventMesh, NATS_HEADLESS_SERVICE, NATS_SERVICE, NatsJetStream, parseQuantity } from '../../constructs';
import { parseCommandLine } from '../../runtime/cli';
import { buildNatsProductionChart } from '../../examples/nats-production/main';
import { containerEnv, find, synth } from '../support/synth';
import type { Manifest } from '../support/validate-manifests';

const spec = (m: Manifest) => m.spec as any;

describe('the 3-server production profile', () => {
  let manifests: Manifest[];
  beforeAll(() => {
    manifests = synth(buildNatsProductionChart(Testing.app()));
  });

  test('clusters three servers with routes over the headless Service', () => {
    const sts = find(manifests, 'StatefulSet', NATS_SERVICE);
    expect(spec(sts).replicas).toBe(3);
    expect(spec(sts).serviceName).toBe(`${NATS_SERVICE}-headless`);
    expect(spec(sts).template.spec.affinity.podAntiAffinity).toBeDefined();
    const conf = (find(manifests, 'ConfigMap', `${NATS_SERVICE}-config`).data as Record<string, string>)['nats.conf'];
    for (const i of [0, 1, 2]) expect(conf).toContain(`nats://${NATS_SERVICE}-${i}.${NATS_SERVICE}-headless.event-mesh-system.svc.cluster.local:6222`);
    expect(conf).toContain('max_file_store: 21474836480');
  });

  test('streams are replicated 3 times and the overrides reach the runtime', () => {
    for (const name of ['event-mesh-dispatcher', 'commerce-adapter', 'marketing-adapter']) {
      expect(containerEnv(find(manifests, 'Deployment', name))).toMatchObject({
        STREAM_REPLICAS: '3', STREAM_MAX_AGE: '72h', CHANNEL_MAX_INACTIVITY: '168h', LOG_LEVEL: 'warn',
      });
    }
  });

  test('adapters and the dispatcher get every server of the cluster as NATS_URL, in a form the CLI accepts', () => {
    const sts = find(manifests, 'StatefulSet', NATS_SERVICE);
    expect(spec(sts).serviceName).toBe(NATS_HEADLESS_SERVICE);
    const expected = [0, 1, 2].map((i) => `nats://${NATS_SERVICE}-${i}.${NATS_HEADLESS_SERVICE}.event-mesh-system.svc.cluster.local:4222`);
    for (const name of ['event-mesh-dispatcher', 'commerce-adapter', 'marketing-adapter']) {
      const env = containerEnv(find(manifests, 'Deployment', name)) as Record<string, string>;
      expect(env.NATS_URL.split(',')).toEqual(expected);
      const command = name === 'event-mesh-dispatcher' ? ['dispatcher'] : ['adapter', '--application', 'x', '--auth', 'none'];
      expect(parseCommandLine(command, { NATS_URL: env.NATS_URL }).config!.natsUrl).toBe(expected.join(','));
    }
  });

  test('volume, storage class and memory from the props; GOMEMLIMIT below the limit', () => {
    const sts = find(manifests, 'StatefulSet', NATS_SERVICE);
    expect(spec(sts).volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'premium-rwo', resources: { requests: { storage: '20Gi' } } });
    const container = spec(sts).template.spec.containers[0];
    expect(container.resources).toEqual({ limits: { memory: '2Gi' }, requests: { cpu: '500m', memory: '2Gi' } });
    const gomemlimit = Number(container.env.find((e: any) => e.name === 'GOMEMLIMIT').value);
    expect(gomemlimit).toBeLessThan(parseQuantity('2Gi')!);
  });

  test('a disruption budget that keeps the quorum', () => {
    const pdb = spec(find(manifests, 'PodDisruptionBudget', NATS_SERVICE));
    expect(pdb.maxUnavailable).toBe(1);
    expect(pdb.selector.matchLabels).toEqual(spec(find(manifests, 'StatefulSet', NATS_SERVICE)).selector.matchLabels);
  });

  test('the monitoring port is served, exposed for scraping and used by the probes', () => {
    const sts = find(manifests, 'StatefulSet', NATS_SERVICE);
    const container = spec(sts).template.spec.containers[0];
    expect(container.ports).toEqual(expect.arrayContaining([{ name: 'monitor', containerPort: 8222 }, { name: 'cluster', containerPort: 6222 }]));
    expect(spec(find(manifests, 'Service', NATS_SERVICE)).ports).toEqual(expect.arrayContaining([{ name: 'monitor', port: 8222, targetPort: 'monitor' }]));
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(container[probe].httpGet).toMatchObject({ port: 'monitor', path: expect.stringMatching(/^\/healthz/) });
    const conf = (find(manifests, 'ConfigMap', `${NATS_SERVICE}-config`).data as Record<string, string>)['nats.conf'];
    expect(conf).toContain('http: 0.0.0.0:8222');
  });

  test('the servers reach each other through the NetworkPolicy (route port, same namespace, mesh label)', () => {
    const np = spec(find(manifests, 'NetworkPolicy', NATS_SERVICE));
    const podLabels = spec(find(manifests, 'StatefulSet', NATS_SERVICE)).template.metadata.labels;
    const [rule] = np.ingress;
    expect(rule.ports).toEqual(expect.arrayContaining([{ port: 6222, protocol: 'TCP' }]));
    expect(rule.from[0].namespaceSelector.matchExpressions[0].values).toContain('event-mesh-system');
    for (const [k, v] of Object.entries(rule.from[0].podSelector.matchLabels)) expect(podLabels[k]).toBe(v);
  });

  test('two applications share the analytics namespace', () => {
    expect(manifests.filter((m) => m.kind === 'Broker' && m.metadata!.namespace === 'analytics')).toHaveLength(1);
  });
});

test('the construct exposes what the mesh passes on', () => {
  const nats = new NatsJetStream(new Chart(Testing.app(), 'c'), 'nats', { persistence: { maxAge: '12h' }, channel: { maxInactivity: '96h' } });
  expect([nats.streamMaxAge, nats.channelMaxInactivity, nats.streamReplicas, nats.storageSize, nats.memoryLimit]).toEqual(['12h', '96h', 1, '1Gi', '256M']);
  expect(nats.url).toBe('nats://event-mesh-nats.event-mesh-system.svc.cluster.local:4222');
  expect(nats.serverUrls).toEqual([nats.url]);
  expect(nats.serverConfig).not.toContain('cluster {');
});

test('the image is configurable', () => {
  const chart = new Chart(Testing.app(), 'c');
  new EventMesh(chart, 'mesh', { nats: { image: 'registry.corp/nats:2.10.22-alpine' } });
  expect(spec(find(synth(chart), 'StatefulSet', NATS_SERVICE)).template.spec.containers[0].image).toBe('registry.corp/nats:2.10.22-alpine');
});

test.each([
  ['1Gi', 2 ** 30], ['256M', 256e6], ['500m', 0.5], ['1e3', 1000], ['1.5Gi', 1.5 * 2 ** 30], ['2', 2],
])('parseQuantity(%s)', (text, value) => {
  expect(parseQuantity(text)).toBe(value);
});

test.each(['-1Gi', '1GB', 'Gi', '1 Gi', '', 'abc'])('parseQuantity rejects or negates %p', (text) => {
  const value = parseQuantity(text);
  expect(value === undefined || value < 0).toBe(true);
});
