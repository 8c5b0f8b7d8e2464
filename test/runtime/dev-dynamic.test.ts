/**
 * Dynamic `event-mesh dev` and `event-mesh status`: the controller's reconcile run against a
 * manifest directory (pure, to a fixpoint), the READY/REASON table, and as real processes
 * with real HTTP subscribers: a Trigger file added while dev runs receives matching events
 * within 5 s and stops when the file is deleted; Application + ApplicationMapping files
 * start and stop adapters; the seed's v1alpha1 Trigger, unchanged, routes events; and
 * `event-mesh status dist` prints READY/REASON rows for the seed scenario.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents';
import { parse, stringify } from 'yaml';
import { buildCommerceChart } from '../../examples/commerce/main';
import { devObjectSet, foldDesired, statusRows, statusSummary, statusTable } from '../../runtime/dev';
import { discoverApplications } from '../../runtime/dev/discovery';
import type { ManifestObject } from '../../runtime/dispatcher/routing';
import { spawnCli } from '../support/cli-process';
import { startSubscriber } from '../support/http-subscriber';
import type { Subscriber } from '../support/http-subscriber';

const SEED_TRIGGER = path.join(__dirname, '..', 'fixtures', 'seed-v1alpha1-trigger.yaml');
const seedTrigger = parse(readFileSync(SEED_TRIGGER, 'utf8')) as ManifestObject;
const application = (name: string): ManifestObject => ({ apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'Application', metadata: { name }, spec: { description: `${name} backend` } });
const mapping = (app: string, namespace: string): ManifestObject => ({ apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'ApplicationMapping', metadata: { name: app, namespace } });
const kyma1x = [application('mock'), mapping('mock', 'serverless'), seedTrigger];
const ctx = { now: () => new Date('2026-12-01T12:00:00Z') };

describe('the directory as the API server (pure)', () => {
  it('reconciles Kyma 1.x YAML (Application, ApplicationMapping, v1alpha1 Trigger) into the objects the controller would apply, to a fixpoint', () => {
    const set = devObjectSet(kyma1x, ctx, { runningAdapters: new Set(['mock']) });
    expect(set.converged).toBe(true);
    const kinds = set.objects.map((o) => `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`);
    expect(kinds).toEqual(expect.arrayContaining(['HTTPSource kyma-integration/mock', 'Channel kyma-integration/mock', 'Broker serverless/default', 'Trigger serverless/test-trigger']));
    expect(set.objects.some((o) => o.kind === 'Subscription' && o.metadata?.namespace === 'kyma-integration')).toBe(true);
    expect(discoverApplications(set.objects)).toEqual([{ name: 'mock', channelNamespace: 'kyma-integration', channelName: 'mock' }]);
    const rows = statusRows(set.desired);
    expect(rows.map((r) => [r.kind, `${r.namespace}/${r.name}`, r.ready])).toEqual(expect.arrayContaining([
      ['HTTPSource', 'kyma-integration/mock', 'True'],
      ['Broker', 'serverless/default', 'True'],
      ['Trigger', 'serverless/test-trigger', 'True'],
    ]));
    // A second run over its own output changes nothing (idempotent).
    expect(foldDesired(set.objects, set.desired)).toEqual(set.objects);
  });

  it('without its adapter running an HTTPSource is not ready, and a Trigger on a missing Broker says BrokerDoesNotExist', () => {
    const set = devObjectSet([application('mock'), mapping('mock', 'serverless'), { ...seedTrigger, metadata: { name: 'orphan', namespace: 'elsewhere' } } as ManifestObject], ctx);
    const rows = statusRows(set.desired);
    expect(rows.find((r) => r.kind === 'HTTPSource')).toMatchObject({ ready: 'False', reason: 'DeploymentUnavailable' });
    expect(rows.find((r) => r.name === 'orphan')).toMatchObject({ kind: 'Trigger', namespace: 'elsewhere', ready: 'False', reason: 'BrokerDoesNotExist' });
    const summary = statusSummary(rows);
    expect(summary[0]).toMatch(/^status: 1 HTTPSource, 1 Broker, 1 Trigger, 1 Subscription; 2 not ready$/);
    expect(summary).toContain('  Trigger elsewhere/orphan: BrokerDoesNotExist (Broker "default" does not exist in namespace "elsewhere")');
  });

  it('removing the mapping removes its Subscription (the adapter stays with the Application); no Application, no adapter', () => {
    const bound = devObjectSet(kyma1x, ctx);
    const unbound = devObjectSet([application('mock'), { ...seedTrigger }], ctx);
    expect(bound.objects.filter((o) => o.kind === 'Subscription')).toHaveLength(1);
    expect(unbound.objects.filter((o) => o.kind === 'Subscription')).toHaveLength(0);
    expect(discoverApplications(unbound.objects).map((a) => a.name)).toEqual(['mock']);
    expect(discoverApplications(devObjectSet([seedTrigger], ctx).objects)).toEqual([]);
  });

  it('prints a kubectl-like table', () => {
    const lines = statusTable([
      { kind: 'HTTPSource', namespace: 'kyma-integration', name: 'commerce', ready: 'True', reason: '', message: '' },
      { kind: 'Trigger', namespace: 'serverless', name: 'test-trigger', ready: 'False', reason: 'BrokerDoesNotExist', message: 'x' },
    ]);
    expect(lines).toEqual([
      'KIND         NAMESPACE          NAME           READY   REASON',
      'HTTPSource   kyma-integration   commerce       True',
      'Trigger      serverless         test-trigger   False   BrokerDoesNotExist',
    ]);
  });
});

function synthCommerce(): string {
  const outdir = mkdtempSync(path.join(tmpdir(), 'dist-'));
  const app = new App({ outdir });
  buildCommerceChart(app);
  app.synth();
  return outdir;
}

async function emit(url: string, type: string, extensions: Record<string, string> = {}) {
  await emitterFor(httpTransport(url), { mode: Mode.BINARY })(new CloudEvent({ type, source: 'ignored-by-adapter', data: { n: 1 }, ...extensions }));
}

describe('event-mesh dev, dynamic (a real process)', () => {
  const subs: Subscriber[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(subs.map((s) => s.close()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const sub = async () => {
    const s = await startSubscriber();
    subs.push(s);
    return s;
  };

  it('dev dist: a Trigger file added while it runs receives matching events within 5 s; editing it changes its filter; deleting it stops delivery; Application files start and stop adapters', async () => {
    const dist = synthCommerce();
    dirs.push(dist);
    const fn = await sub();
    const added = await sub();
    const dev = spawnCli(['dev', dist, '--port', '0', '--map', `test-function.serverless=${fn.url}`, '--map', `dead-letters.serverless=${fn.url}`], { LOG_LEVEL: 'warn' });
    try {
      await dev.waitForOutput(/^ready/m, 120_000);
      const commerce = dev.output().match(/^application commerce: (http:\/\/127\.0\.0\.1:\d+\/events)$/m)![1];
      expect(dev.output()).toMatch(/^status: 1 HTTPSource, 1 Broker, 1 Trigger, 1 Subscription; all ready$/m);

      const file = path.join(dist, 'added-trigger.yaml');
      const written = Date.now();
      writeFileSync(file, stringify({
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Trigger',
        metadata: { name: 'added', namespace: 'serverless' },
        spec: { broker: 'default', filter: { attributes: { type: 'order.created' } }, subscriber: { uri: added.url } },
      }));
      // Post matching events until the first arrives: the acceptance bound is 5 s from the file write.
      let n = 0;
      const poster = setInterval(() => void emit(commerce, 'order.created', { id: `o-${++n}` } as Record<string, string>).catch(() => undefined), 200);
      try {
        await added.waitFor((s) => s.accepted.length > 0, 5_000);
      } finally {
        clearInterval(poster);
      }
      const firstAfterMs = Date.now() - written;
      expect(firstAfterMs).toBeLessThan(5_000);
      await dev.waitForOutput(/^trigger serverless\/added routed$/m, 5_000);
      expect(added.accepted.every((r) => r.event?.type === 'order.created' && r.event?.source === 'commerce')).toBe(true);
      await emit(commerce, 'user.created', { eventtypeversion: 'v1' });
      await fn.waitFor((s) => s.accepted.some((r) => r.event?.type === 'user.created'), 10_000);
      expect(added.accepted.some((r) => r.event?.type === 'user.created')).toBe(false);

      // Edited: the new filter applies to the next events, without a restart.
      writeFileSync(file, stringify({
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Trigger',
        metadata: { name: 'added', namespace: 'serverless' },
        spec: { broker: 'default', filter: { attributes: { type: 'order.updated' } }, subscriber: { uri: added.url } },
      }));
      await dev.waitForOutput(/^trigger serverless\/added changed$/m, 10_000);
      await emit(commerce, 'order.updated');
      await added.waitFor((s) => s.accepted.some((r) => r.event?.type === 'order.updated'), 10_000);

      unlinkSync(file);
      await dev.waitForOutput(/^trigger serverless\/added removed$/m, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      const before = added.accepted.length;
      await emit(commerce, 'order.created');
      await emit(commerce, 'user.created', { eventtypeversion: 'v1' });
      await fn.waitFor((s) => s.accepted.filter((r) => r.event?.type === 'user.created').length >= 2, 10_000);
      expect(added.accepted.length).toBe(before);
      expect(added.accepted.filter((r) => r.event?.type === 'order.created').length).toBe(added.accepted.length - 1);

      // An Application and its mapping, added as a file: a new adapter; removed: it stops.
      const appFile = path.join(dist, 'erp.yaml');
      writeFileSync(appFile, [application('erp'), mapping('erp', 'serverless')].map((o) => stringify(o)).join('---\n'));
      const erp = (await dev.waitForOutput(/^application erp: (http:\/\/127\.0\.0\.1:\d+\/events)$/m, 10_000))[1];
      await dev.waitForOutput(/^subscription kyma-integration\/\S+ routed$/m, 10_000);
      const catchAll = path.join(dist, 'erp-trigger.yaml');
      writeFileSync(catchAll, stringify({ apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'erp-events', namespace: 'serverless' }, spec: { broker: 'default', filter: { attributes: { source: 'erp' } }, subscriber: { uri: added.url } } }));
      await dev.waitForOutput(/^trigger serverless\/erp-events routed$/m, 10_000);
      await emit(erp, 'invoice.paid');
      await added.waitFor((s) => s.accepted.some((r) => r.event?.source === 'erp' && r.event?.type === 'invoice.paid'), 10_000);
      unlinkSync(appFile);
      await dev.waitForOutput(/^application erp stopped$/m, 10_000);
      await expect(fetch(erp, { method: 'POST' })).rejects.toThrow();

      dev.kill('SIGTERM');
      expect(await dev.exited()).toBe(0);
      process.stdout.write(`dev dist: first event for an added Trigger file ${firstAfterMs} ms after the write\n`);
    } finally {
      dev.kill('SIGKILL');
    }
  }, 240_000);

  it("routes the seed's v1alpha1 Trigger YAML, unchanged, with Kyma 1.x Application and ApplicationMapping files", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kyma1x-'));
    dirs.push(dir);
    copyFileSync(SEED_TRIGGER, path.join(dir, 'trigger.yaml'));
    writeFileSync(path.join(dir, 'mock.yaml'), [application('mock'), mapping('mock', 'serverless')].map((o) => stringify(o)).join('---\n'));
    const fn = await sub();
    const dev = spawnCli(['dev', dir, '--port', '0', '--map', `test-function.serverless=${fn.url}`], { LOG_LEVEL: 'warn' });
    try {
      await dev.waitForOutput(/^ready/m, 120_000);
      const mock = dev.output().match(/^application mock: (http:\/\/127\.0\.0\.1:\d+\/events)$/m)![1];
      expect(dev.output()).toMatch(/^broker serverless\/default: http:\/\/127\.0\.0\.1:\d+\/serverless\/default$/m);
      expect(dev.output()).not.toMatch(/warning: skipped Trigger/);
      await emit(mock, 'user.created', { eventtypeversion: 'v1' });
      await emit(mock, 'user.created', { eventtypeversion: 'v2' });
      await fn.waitFor((s) => s.accepted.length === 1, 10_000);
      expect(fn.accepted[0].event).toMatchObject({ type: 'user.created', source: 'mock', eventtypeversion: 'v1' });
      await new Promise((r) => setTimeout(r, 300));
      expect(fn.accepted).toHaveLength(1);
      dev.kill('SIGTERM');
      expect(await dev.exited()).toBe(0);
    } finally {
      dev.kill('SIGKILL');
    }
  }, 180_000);
});

describe('event-mesh status (a real process)', () => {
  it('event-mesh status dist prints READY/REASON rows for the seed scenario', async () => {
    const dist = synthCommerce();
    try {
      writeFileSync(path.join(dist, 'orphan.yaml'), stringify({ apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'Trigger', metadata: { name: 'orphan', namespace: 'nowhere' }, spec: { broker: 'default', subscriber: { uri: 'http://x.example' } } }));
      const proc = spawnCli(['status', dist]);
      expect(await proc.exited()).toBe(0);
      const lines = proc.output().trim().split('\n');
      expect(lines[0]).toMatch(/^KIND\s+NAMESPACE\s+NAME\s+READY\s+REASON$/);
      expect(lines).toEqual(expect.arrayContaining([
        expect.stringMatching(/^HTTPSource\s+kyma-integration\s+commerce\s+True$/),
        expect.stringMatching(/^Broker\s+serverless\s+default\s+True$/),
        expect.stringMatching(/^Trigger\s+nowhere\s+orphan\s+False\s+BrokerDoesNotExist$/),
        expect.stringMatching(/^Trigger\s+serverless\s+test-trigger\s+True$/),
        expect.stringMatching(/^Subscription\s+kyma-integration\s+\S+\s+True$/),
        'Trigger nowhere/orphan: Broker "default" does not exist in namespace "nowhere"',
      ]));
      const missing = spawnCli(['status', path.join(dist, 'missing')]);
      expect(await missing.exited()).toBe(1);
      expect(missing.output()).toMatch(/does not exist: synthesize first/);
    } finally {
      rmSync(dist, { recursive: true, force: true });
    }
  }, 180_000);
});
