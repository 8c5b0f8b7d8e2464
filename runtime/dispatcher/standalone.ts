/**
 * `event-mesh dispatcher` outside a cluster (pure): the routing directory is read as
 * `event-mesh dev` reads it (a synthesized `dist/` with its routing ConfigMap expanded),
 * and `--map service[.namespace]=url` says where cluster Service subscribers run. The map
 * is parsed by dev's parseServiceMap (one parser for both commands).
 *
 *   event-mesh dispatcher --routing dist --map orders-fn.shop=http://127.0.0.1:3000
 */
import { findUnmappedServices, parseServiceMap } from '../dev/discovery';
import type { ServiceMap, UnmappedService } from '../dev/discovery';
import type { ReadManifestOptions } from './routing/manifests';
import type { RoutingTable } from './routing/table';

export interface StandaloneRouting {
  /** Expand the routing ConfigMap found in synthesized output (no-op on a mounted ConfigMap). */
  readonly readOptions: ReadManifestOptions;
  /** Present only when --map was given. */
  readonly serviceOverrides?: ServiceMap;
}

/** The dispatcher options that `--map` and a manifest directory imply. */
export function standaloneRouting(map: readonly string[]): StandaloneRouting {
  return {
    readOptions: { expandRoutingConfigMap: true },
    ...(map.length > 0 ? { serviceOverrides: parseServiceMap(map) } : {}),
  };
}

/**
 * Cluster Services the routing delivers to that `--map` does not cover, as log lines; empty
 * without a map (inside the cluster, cluster DNS resolves them).
 */
export function unmappedWarnings(table: RoutingTable, routing: StandaloneRouting, clusterDomain?: string): string[] {
  if (!routing.serviceOverrides) return [];
  return findUnmappedServices(table, routing.serviceOverrides, clusterDomain).map(
    (u: UnmappedService) => `${u.service} (${u.usedBy.join(', ')}) has no --map: its events go to cluster DNS and fail until mapped (add --map ${u.service}=http://127.0.0.1:<port>)`,
  );
}
