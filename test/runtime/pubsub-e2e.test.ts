/**
 * `event-mesh dev --channel pubsub` as a real process against Google's real Pub/Sub
 * emulator: the README's curl event (binary mode, with the eventtypeversion extension)
 * posted to the printed adapter URL reaches the --map'ed local subscriber, attributes and
 * data intact, having travelled through Pub/Sub topics and subscriptions.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { ManifestObject } from '../../runtime/dispatcher/routing';
import { spawnCli } from '../support/cli-process';
import { startSubscriber } from '../support/http-subscriber';
import { PubSubEmulatorHandle, startPubSubEmulator } from '../support/pubsub-emulator';

const manifests: ManifestObject[] = [
  { apiVersion: 'applicationconnector.kyma-project.io/v1alpha1', kind: 'Application', metadata: { name: 'commerce' } },
  { apiVersion: 'sources.kyma-project.io/v1alpha1', kind: 'HTTPSource', metadata: { name: 'commerce', namespace: 'kyma-integration' }, spec: { source: 'commerce' } },
  { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: 'commerce', namespace: 'kyma-integration', labels: { 'event-mesh.dev/application': 'commerce' } } },
  {
    apiVersion: 'messaging.knative.dev/v1',
    kind: 'Subscription',
    metadata: { name: 'commerce-shop-default', namespace: 'kyma-integration' },
    spec: {
      channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'commerce' },
      subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: 'shop' } },
    },
  },
  { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop', annotations: { 'eventing.knative.dev/broker.class': 'EventMeshBroker' } } },
  {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: 'users', namespace: 'shop' },
    spec: { broker: 'default', filter: { attributes: { type: 'user.created', eventtypeversion: 'v1' } }, subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'users-fn' } } },
  },
];

describe('event-mesh dev --channel pubsub', () => {
  let dir: string;
  let emulator: PubSubEmulatorHandle;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dev-pubsub-'));
    writeFileSync(path.join(dir, 'app.k8s.yaml'), manifests.map((m) => stringify(m)).join('---\n'));
    emulator = await startPubSubEmulator();
  }, 90_000);
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await emulator?.stop();
  });

  it("delivers the README's curl event to the subscriber through Pub/Sub", async () => {
    const fn = await startSubscriber();
    const dev = spawnCli(['dev', dir, '--port', '0', '--channel', 'pubsub', '--map', `users-fn.shop=${fn.url}`], {
      LOG_LEVEL: 'warn',
      PUBSUB_EMULATOR_HOST: emulator.host,
      PUBSUB_PROJECT: emulator.projectId,
    });
    try {
      await dev.waitForOutput(/^ready/m, 60_000);
      const url = dev.output().match(/^application commerce: (http:\/\/127\.0\.0\.1:\d+\/events)$/m)![1];
      // curl -i $url -H 'ce-specversion: 1.0' -H 'ce-id: 1' -H 'ce-source: commerce' -H 'ce-type: user.created'
      //   -H 'ce-eventtypeversion: v1' -H 'content-type: application/json' -d '{"userId": 42}'
      let status = 0;
      for (let i = 0; i < 100 && status !== 202; i++) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 'commerce', 'ce-type': 'user.created', 'ce-eventtypeversion': 'v1', 'content-type': 'application/json' },
          body: '{"userId": 42}',
        });
        status = res.status;
        if (status !== 202) await new Promise((r) => setTimeout(r, 200)); // 503 until Pub/Sub is wired
      }
      expect(status).toBe(202);
      await fn.waitFor((s) => s.accepted.length >= 1, 30_000);
      expect(fn.accepted[0].event).toMatchObject({ id: '1', type: 'user.created', source: 'commerce', eventtypeversion: 'v1', datacontenttype: 'application/json', data: { userId: 42 } });
      dev.kill('SIGTERM');
      expect(await dev.exited()).toBe(0);
    } finally {
      dev.kill('SIGKILL');
      await fn.close();
    }
  }, 120_000);
});
