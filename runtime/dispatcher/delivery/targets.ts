/**
 * Where a Destination leads (pure given the routing table): a Broker this dispatcher
 * serves is reached in process (stored straight onto its topic, as ingress would); anything
 * else by HTTP at the URL `destinationUrl` gives (with `--map` overrides in dev mode).
 */
import { BROKER_INGRESS_SERVICE, destinationUrl } from '../../../constructs/api';
import type { Destination, MeshAddressing } from '../../../constructs/api';
import type { RoutingTable } from '../routing/table';

export type Target =
  | { readonly kind: 'broker'; readonly namespace: string; readonly broker: string; readonly label: string }
  | { readonly kind: 'http'; readonly url: string; readonly label: string }
  | { readonly kind: 'unresolvable'; readonly message: string; readonly label: string };

export interface TargetResolverOptions {
  readonly addressing: Required<MeshAddressing>;
  readonly serviceOverrides?: ReadonlyMap<string, string>;
}

export function resolveTarget(dest: Destination, defaultNamespace: string, table: RoutingTable, options: TargetResolverOptions): Target {
  let url: string;
  try {
    url = destinationUrl(dest, defaultNamespace, options.addressing, options.serviceOverrides);
  } catch (err) {
    return { kind: 'unresolvable', message: (err as Error).message, label: dest.ref ? `${dest.ref.kind}/${dest.ref.name}` : String(dest.uri) };
  }
  const local = localBroker(url, table, options.addressing);
  if (local) return { kind: 'broker', ...local, label: url };
  const mapped = options.serviceOverrides ? mapServiceUri(url, options.serviceOverrides, options.addressing) : undefined;
  return { kind: 'http', url: mapped ?? url, label: mapped ?? url };
}

/**
 * A `uri` naming a cluster Service (`http://name.ns.svc[.<cluster domain>][:<port>]/path`) with an
 * override for `name.ns`: the override's origin/path plus the URI's path and query.
 */
export function mapServiceUri(url: string, overrides: ReadonlyMap<string, string>, addressing: Required<MeshAddressing>): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.(.+))?$/.exec(u.hostname);
  // Any port: the override stands for the whole Service (Sink.fromService addresses ports other than 80 by URL).
  if (!m || (m[3] !== undefined && m[3] !== addressing.clusterDomain)) return undefined;
  const base = overrides.get(`${m[1]}.${m[2]}`);
  if (!base) return undefined;
  const rel = `${u.pathname.replace(/^\//, '')}${u.search}`;
  return rel ? new URL(rel, base.endsWith('/') ? base : `${base}/`).toString() : base;
}

/** The served broker a broker-ingress URL points at, if any. */
export function localBroker(url: string, table: RoutingTable, addressing: Required<MeshAddressing>): { namespace: string; broker: string } | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const svc = `${BROKER_INGRESS_SERVICE}.${addressing.systemNamespace}`;
  const hosts = [svc, `${svc}.svc`, `${svc}.svc.${addressing.clusterDomain}`];
  if (!hosts.includes(u.hostname) || (u.port !== '' && u.port !== '80')) return undefined;
  const m = /^\/([^/]+)\/([^/]+)\/?$/.exec(u.pathname);
  if (!m || !table.brokers.has(`${m[1]}/${m[2]}`)) return undefined;
  return { namespace: m[1], broker: m[2] };
}
