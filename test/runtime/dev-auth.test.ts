/**
 * `event-mesh dev` authentication as a real process: plain HTTP by default with a warning
 * that authentication is off; `--auth mtls` generates a throwaway CA and certificates and
 * prints, per application, a curl line that works as printed (run with curl when it is
 * installed, and always re-done with a real HTTPS client from the same files), while a
 * request without a client certificate or with another application's fails.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { spawnCli } from '../support/cli-process';
import { binaryEvent, send } from '../support/https-client';
import { startSubscriber } from '../support/http-subscriber';

const run = promisify(execFile);

function manifests(subscriberUrl: string): unknown[] {
  const docs: unknown[] = [
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop', annotations: { 'eventing.knative.dev/broker.class': 'EventMeshBroker' } } },
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'all', namespace: 'shop' }, spec: { broker: 'default', subscriber: { uri: subscriberUrl } } },
  ];
  for (const app of ['commerce', 'erp']) {
    docs.push(
      { apiVersion: 'sources.kyma-project.io/v1alpha1', kind: 'HTTPSource', metadata: { name: app, namespace: 'kyma-integration' }, spec: { source: app } },
      { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: app, namespace: 'kyma-integration' } },
      {
        apiVersion: 'messaging.knative.dev/v1',
        kind: 'Subscription',
        metadata: { name: `${app}-shop-default`, namespace: 'kyma-integration' },
        spec: {
          channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: app },
          subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: 'shop' } },
        },
      },
    );
  }
  return docs;
}

/** Split a printed shell line into words (single quotes as the dev line uses them). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]));
}

const curlInstalled = ['/usr/bin/curl', '/bin/curl', '/usr/local/bin/curl'].some((p) => existsSync(p));

describe('event-mesh dev authentication', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('plain HTTP by default, with a warning that authentication is off', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dev-auth-'));
    writeFileSync(path.join(dir, 'app.k8s.yaml'), manifests('http://127.0.0.1:9/').map((m) => stringify(m)).join('---\n'));
    const dev = spawnCli(['dev', dir, '--port', '0'], { LOG_LEVEL: 'warn' });
    try {
      await dev.waitForOutput(/^ready/m, 30_000);
      expect(dev.output()).toMatch(/^warning: authentication is off \(--auth none\)/m);
      expect(dev.output()).toMatch(/^application commerce: http:\/\/127\.0\.0\.1:\d+\/events$/m);
    } finally {
      dev.kill('SIGKILL');
    }
  }, 60_000);

  it('--auth mtls: throwaway certificates and a working curl line per application', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dev-auth-'));
    const fn = await startSubscriber();
    writeFileSync(path.join(dir, 'app.k8s.yaml'), manifests(fn.url).map((m) => stringify(m)).join('---\n'));
    const dev = spawnCli(['dev', dir, '--port', '0', '--auth', 'mtls'], { LOG_LEVEL: 'warn' });
    let certDir: string | undefined;
    try {
      await dev.waitForOutput(/^ready/m, 30_000);
      const out = dev.output();
      expect(out).not.toMatch(/authentication is off/);
      const lines = Object.fromEntries(['commerce', 'erp'].map((app) => {
        const m = new RegExp(`^application ${app}: (curl .*)$`, 'm').exec(out);
        expect(m).not.toBeNull();
        return [app, m![1]];
      }));
      const words = shellWords(lines.commerce);
      const arg = (flag: string) => words[words.indexOf(flag) + 1];
      const url = words.find((w) => w.startsWith('https://'))!;
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/events$/);
      certDir = path.dirname(arg('--cacert'));
      const ca = readFileSync(arg('--cacert'), 'utf8');
      const commerce = { ca, cert: readFileSync(arg('--cert'), 'utf8'), key: readFileSync(arg('--key'), 'utf8') };
      const erpWords = shellWords(lines.erp);
      const erp = { ca, cert: readFileSync(erpWords[erpWords.indexOf('--cert') + 1], 'utf8'), key: readFileSync(erpWords[erpWords.indexOf('--key') + 1], 'utf8') };

      if (curlInstalled) {
        // The line exactly as printed.
        const { stdout } = await run('sh', ['-c', `${lines.commerce} -s -o /dev/null -w '%{http_code}'`]);
        expect(stdout).toBe('202');
      }
      expect((await send(url, { ...binaryEvent('dev-mtls-1'), tls: commerce })).status).toBe(202);
      const wrong = await send(url, { ...binaryEvent('dev-mtls-erp'), tls: erp });
      expect(wrong.status).toBe(403);
      expect(wrong.json()).toMatchObject({ presented: 'CN=erp', expected: 'CN=commerce' });
      await expect(send(url, { ...binaryEvent('dev-mtls-none'), tls: { ca } })).rejects.toThrow();

      await fn.waitFor((s) => s.acceptedIds().has('dev-mtls-1') && (!curlInstalled || s.acceptedIds().has('dev-1')), 15_000);
      expect([...fn.acceptedIds()].filter((id) => id === 'dev-mtls-erp' || id === 'dev-mtls-none')).toEqual([]);
      dev.kill('SIGTERM');
      expect(await dev.exited()).toBe(0);
      // The throwaway certificates go with the process.
      expect(existsSync(certDir)).toBe(false);
    } finally {
      dev.kill('SIGKILL');
      await fn.close();
      if (certDir) rmSync(certDir, { recursive: true, force: true });
    }
  }, 90_000);
});
