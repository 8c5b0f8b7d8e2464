/**
 * `event-mesh controller`: every option a flag and an env var, bad values named; and the
 * real process (built CLI, kubeconfig through @kubernetes/client-node) against the stand-in
 * API server: it takes the Lease, writes a Trigger's status, serves /healthz and /metrics,
 * and on SIGTERM releases the Lease and exits 0.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { helpText, OPTIONS, parseCommandLine } from '../../../runtime/cli';
import { meshSettingsFromCli } from '../../../runtime/controller/cli';
import { createKubeClient, type KubeClient } from '../../../runtime/kube';
import type { ManifestObject } from '../../../runtime/dispatcher/routing/manifests';
import { spawnCli } from '../../support/cli-process';
import { startKubeApiServer, type KubeApiServerHandle } from '../../support/kube-api-server';

describe('event-mesh controller options', () => {
  test('defaults', () => {
    expect(parseCommandLine(['controller'], {}).config).toMatchObject({
      port: 8080, host: '0.0.0.0', fieldManager: 'event-mesh-controller', leaseName: 'event-mesh-controller', leaseDurationMs: 15_000,
      requeueBaseDelayMs: 200, requeueMaxDelayMs: 60_000, resyncMs: 300_000, knativeServing: false,
      systemNamespace: 'event-mesh-system', integrationNamespace: 'kyma-integration', clusterDomain: 'cluster.local',
    });
  });

  test('every controller option has a flag and an env var; a flag wins over the variable', () => {
    const own = OPTIONS.filter((o) => o.commands.includes('controller'));
    for (const o of own) expect(o.flag && o.env).toBeTruthy();
    const env = { FIELD_MANAGER: 'env-fm', LEASE_NAME: 'env-lease', LEASE_NAMESPACE: 'ops', LEASE_DURATION: '30s', POD_NAME: 'pod-1', REQUEUE_BASE_DELAY: '1s', REQUEUE_MAX_DELAY: '2m', RESYNC_PERIOD: '1m', KNATIVE_SERVING: 'true', INTEGRATION_NAMESPACE: 'apps', MESH_CONFIG: '/etc/mesh.json', KUBECONFIG: '/k' };
    expect(parseCommandLine(['controller'], env).config).toMatchObject({
      fieldManager: 'env-fm', leaseName: 'env-lease', leaseNamespace: 'ops', leaseDurationMs: 30_000, identity: 'pod-1', requeueBaseDelayMs: 1000,
      requeueMaxDelayMs: 120_000, resyncMs: 60_000, knativeServing: true, integrationNamespace: 'apps', meshConfig: '/etc/mesh.json', kubeconfig: '/k',
    });
    expect(parseCommandLine(['controller', '--field-manager', 'flag-fm', '--lease-duration', '20s'], env).config).toMatchObject({ fieldManager: 'flag-fm', leaseDurationMs: 20_000 });
    expect(helpText('controller')).toContain('--requeue-base-delay <value>');
    expect(helpText('controller')).not.toContain('--nats-url');
  });

  test.each([
    [['controller', '--requeue-base-delay', '5m', '--requeue-max-delay', '1m'], /--requeue-base-delay \(300000 ms\) must not exceed --requeue-max-delay \(60000 ms\)/],
    [['controller', '--lease-duration', '500ms'], /--lease-duration must be at least 1s/],
    [['controller', '--lease-duration', 'soon'], /--lease-duration must be a duration/],
    [['controller', '--knative-serving', 'maybe'], /--knative-serving must be true or false/],
  ])('%j is refused naming the option', (argv, message) => {
    expect(() => parseCommandLine(argv as string[], {})).toThrow(message);
  });

  test('the mesh settings file is read, with the CLI\'s namespaces and domain on top; a bad file is named', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mesh-config-'));
    try {
      const file = path.join(dir, 'mesh.json');
      writeFileSync(file, JSON.stringify({ defaultChannel: 'nats', channels: ['nats', 'inmemory'], adapters: { replicas: 2 } }));
      expect(meshSettingsFromCli({ meshConfig: file, systemNamespace: 's', integrationNamespace: 'i', clusterDomain: 'd' })).toEqual({
        defaultChannel: 'nats', channels: ['nats', 'inmemory'], adapters: { replicas: 2 },
        addressing: { systemNamespace: 's', integrationNamespace: 'i', clusterDomain: 'd' },
      });
      writeFileSync(file, '{not json');
      expect(() => meshSettingsFromCli({ meshConfig: file, systemNamespace: 's', integrationNamespace: 'i', clusterDomain: 'd' })).toThrow(/mesh\.json is not JSON/);
      expect(() => meshSettingsFromCli({ meshConfig: path.join(dir, 'missing.json'), systemNamespace: 's', integrationNamespace: 'i', clusterDomain: 'd' })).toThrow(/missing\.json: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('event-mesh controller (a real process against the stand-in API server)', () => {
  let api: KubeApiServerHandle;
  let kubectl: KubeClient;
  let dir: string;
  beforeAll(async () => {
    api = await startKubeApiServer();
    kubectl = createKubeClient({ server: api.url });
    dir = mkdtempSync(path.join(tmpdir(), 'controller-cli-'));
  });
  afterAll(async () => {
    await kubectl.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('leads, writes status, serves /healthz and /metrics, and releases the Lease on SIGTERM', async () => {
    const kubeconfig = path.join(dir, 'config');
    writeFileSync(kubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config',
      clusters: [{ name: 'stand-in', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'test', user: { token: 'not-checked-by-the-stand-in' } }],
      contexts: [{ name: 'test', context: { cluster: 'stand-in', user: 'test' } }],
      'current-context': 'test',
    }));
    await kubectl.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } } as ManifestObject, 'kubectl');
    await kubectl.apply({
      apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't', namespace: 'shop' },
      spec: { broker: 'default', subscriber: { uri: 'http://fn.example/' } },
    } as ManifestObject, 'kubectl');
    const proc = spawnCli(['controller', '--kubeconfig', kubeconfig, '--port', '0', '--host', '127.0.0.1', '--identity', 'replica-a', '--lease-duration', '3s'], { LOG_LEVEL: 'info' });
    try {
      const m = await proc.waitForOutput(/"port":(\d+)[^\n]*controller running/, 30_000);
      const base = `http://127.0.0.1:${m[1]}`;
      await proc.waitForOutput(/leading: writing/, 30_000);
      const end = Date.now() + 20_000;
      let reason: string | undefined;
      while (Date.now() < end) {
        const t = api.get('eventing.knative.dev/v1', 'Trigger', 'shop', 't') as { status?: { conditions?: { type: string; reason?: string }[] } } | undefined;
        reason = t?.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
        if (reason) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(reason).toBe('BrokerDoesNotExist');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/event_mesh_controller_writes_total\{op="status",kind="Trigger",result="ok"\} [1-9]/);
      expect(metrics).toMatch(/event_mesh_controller_leader 1/);
      const lease = api.get('coordination.k8s.io/v1', 'Lease', 'event-mesh-system', 'event-mesh-controller') as { spec: { holderIdentity?: string } };
      expect(lease.spec.holderIdentity).toBe('replica-a');
      proc.kill('SIGTERM');
      expect(await proc.exited()).toBe(0);
      const released = api.get('coordination.k8s.io/v1', 'Lease', 'event-mesh-system', 'event-mesh-controller') as { spec: { holderIdentity?: string } };
      expect(released.spec.holderIdentity ?? '').toBe('');
    } finally {
      proc.kill('SIGKILL');
    }
  }, 90_000);
});
