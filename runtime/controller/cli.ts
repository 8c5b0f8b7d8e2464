/**
 * `event-mesh controller` from the parsed command line (I/O): reads the mesh settings file,
 * creates the kube client, runs Lease leader election and starts the controller.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { CliConfig } from '../cli';
import { createKubeClient, runLeaderElection } from '../kube';
import type { Logger } from '../observability';
import type { ControllerMeshSettings } from './context';
import { startController, type RunningController } from './index';

/** The mesh settings file (JSON of ControllerMeshSettings), with the CLI's namespaces and domain on top. */
export function meshSettingsFromCli(cfg: Pick<CliConfig, 'meshConfig' | 'systemNamespace' | 'integrationNamespace' | 'clusterDomain'>): ControllerMeshSettings {
  let fromFile: ControllerMeshSettings = {};
  if (cfg.meshConfig) {
    let text: string;
    try {
      text = readFileSync(cfg.meshConfig, 'utf8');
    } catch (err) {
      throw new Error(`--mesh-config ${cfg.meshConfig}: ${(err as Error).message}`);
    }
    try {
      fromFile = JSON.parse(text) as ControllerMeshSettings;
    } catch (err) {
      throw new Error(`--mesh-config ${cfg.meshConfig} is not JSON: ${(err as Error).message}`);
    }
    if (!fromFile || typeof fromFile !== 'object' || Array.isArray(fromFile)) throw new Error(`--mesh-config ${cfg.meshConfig} must hold a JSON object of EventMesh settings`);
  }
  return {
    ...fromFile,
    addressing: { systemNamespace: cfg.systemNamespace, integrationNamespace: cfg.integrationNamespace, clusterDomain: cfg.clusterDomain },
  };
}

export async function runControllerFromCli(cfg: CliConfig, logger: Logger): Promise<RunningController> {
  const mesh = meshSettingsFromCli(cfg);
  const client = createKubeClient({
    kubeconfig: cfg.kubeconfig,
    onError: (err) => logger.warn({ err: err.message }, 'watching the API server failed; retrying'),
  });
  const identity = cfg.identity ?? hostname();
  try {
    const controller = await startController({
      client,
      context: { mesh, now: () => new Date() },
      fieldManager: cfg.fieldManager,
      port: cfg.port,
      host: cfg.host,
      resyncMs: cfg.resyncMs,
      backoff: { baseDelayMs: cfg.requeueBaseDelayMs, maxDelayMs: cfg.requeueMaxDelayMs },
      knativeServing: cfg.knativeServing,
      logger,
      leaderElection: (callbacks) => runLeaderElection(client, {
        namespace: cfg.leaseNamespace ?? cfg.systemNamespace,
        name: cfg.leaseName,
        identity,
        leaseDurationMs: cfg.leaseDurationMs,
        onError: (err) => logger.warn({ err: err.message }, 'leader election: Lease read or write failed; retrying'),
        ...callbacks,
      }),
    });
    logger.info({ port: controller.port, identity, lease: `${cfg.leaseNamespace ?? cfg.systemNamespace}/${cfg.leaseName}` }, 'controller running');
    return {
      ...controller,
      async stop() {
        await controller.stop();
        await client.close();
      },
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}
