/**
 * `event-mesh dispatcher --routing cluster` (I/O): the kube client and the cluster routing
 * source from the parsed options; undefined when --routing names a directory.
 */
import type { CliConfig } from '../../cli';
import { createKubeClient } from '../../kube';
import type { Logger } from '../../observability';
import { ClusterRoutingSource } from './cluster-source';
import type { RoutingSourceFactory } from './cluster-source';

/** The --routing value that selects the cluster instead of a directory. */
export const CLUSTER_ROUTING = 'cluster';

export function clusterRoutingFromCli(cfg: Pick<CliConfig, 'routing' | 'kubeconfig'>, logger: Logger): { source: RoutingSourceFactory; close(): Promise<void> } | undefined {
  if (cfg.routing !== CLUSTER_ROUTING) return undefined;
  const client = createKubeClient({
    kubeconfig: cfg.kubeconfig,
    onError: (err) => logger.warn({ err: err.message }, 'watching the API server failed; retrying'),
  });
  return { source: ClusterRoutingSource.factory(client), close: () => client.close() };
}
