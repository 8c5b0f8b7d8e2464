/**
 * What `event-mesh dev` reads from synthesized manifests (pure): the applications to run
 * an adapter for, and the subscribers that point into the cluster and need a `--map`.
 *
 * Applications come from HTTPSource CRs (Kyma's model: one per application, in the
 * integration namespace, `spec.source` naming the application) and, for an Application CR
 * without an HTTPSource, from the Application itself (its channel found by the
 * `event-mesh.dev/application` label, else in the default integration namespace).
 */
import {
  APPLICATION_LABEL,
  DEFAULT_INTEGRATION_NAMESPACE,
  KYMA_APPLICATION_GROUP,
  KYMA_SOURCES_GROUP,
  KNATIVE_MESSAGING_GROUP,
  applicationChannelName,
} from '../../constructs/api';
import type { Destination } from '../../constructs/api';
import type { ManifestObject } from '../dispatcher/routing/manifests';
import type { RoutingTable } from '../dispatcher/routing/table';

export interface DevApplication {
  readonly name: string;
  readonly channelNamespace: string;
  readonly channelName: string;
}

const group = (o: ManifestObject) => String(o.apiVersion ?? '').split('/')[0];

export function discoverApplications(objects: readonly ManifestObject[]): DevApplication[] {
  const apps = new Map<string, DevApplication>();
  for (const o of objects) {
    if (o.kind !== 'HTTPSource' || group(o) !== KYMA_SOURCES_GROUP) continue;
    const spec = (o.spec ?? {}) as { source?: string };
    const name = spec.source || o.metadata?.name;
    if (!name || apps.has(name)) continue;
    apps.set(name, { name, channelNamespace: o.metadata?.namespace || DEFAULT_INTEGRATION_NAMESPACE, channelName: applicationChannelName(name) });
  }
  for (const o of objects) {
    if (o.kind !== 'Application' || group(o) !== KYMA_APPLICATION_GROUP) continue;
    const name = o.metadata?.name;
    if (!name || apps.has(name)) continue;
    const channel = objects.find(
      (c) => group(c) === KNATIVE_MESSAGING_GROUP && String(c.kind).endsWith('Channel') && c.metadata?.labels?.[APPLICATION_LABEL] === name,
    );
    apps.set(name, {
      name,
      channelNamespace: channel?.metadata?.namespace || DEFAULT_INTEGRATION_NAMESPACE,
      channelName: channel?.metadata?.name || applicationChannelName(name),
    });
  }
  return [...apps.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * `--map` values to the overrides api/wiring's destinationUrl takes: `name.namespace` keys;
 * a value without a namespace (`orders=http://…`) applies in every namespace.
 */
export class ServiceMap extends Map<string, string> {
  override get(key: string): string | undefined {
    return super.get(key) ?? super.get(key.split('.')[0]);
  }
  override has(key: string): boolean {
    return this.get(key) !== undefined;
  }
}

export function parseServiceMap(entries: readonly string[]): ServiceMap {
  const map = new ServiceMap();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    map.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return map;
}

export interface UnmappedService {
  /** `name.namespace` as --map wants it. */
  readonly service: string;
  /** Which objects use it (`Trigger shop/orders subscriber`). */
  readonly usedBy: string[];
}

/** Cluster Services the routing delivers to that --map does not point anywhere. */
export function findUnmappedServices(table: RoutingTable, map: ReadonlyMap<string, string>, clusterDomain = 'cluster.local'): UnmappedService[] {
  const found = new Map<string, string[]>();
  const check = (dest: Destination | undefined, ns: string, usedBy: string) => {
    if (!dest) return;
    let service: string | undefined;
    if (dest.ref && ['Service', 'Function'].includes(dest.ref.kind)) {
      service = `${dest.ref.name}.${dest.ref.namespace ?? ns}`;
    } else if (!dest.ref && dest.uri) {
      try {
        const host = new URL(dest.uri).hostname;
        const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.(.+))?$/.exec(host);
        if (m && (m[3] === undefined || m[3] === clusterDomain) && !host.startsWith('event-mesh-broker-ingress.')) service = `${m[1]}.${m[2]}`;
      } catch {
        /* not a URL: validation reported it */
      }
    }
    if (!service || map.has(service)) return;
    found.set(service, [...(found.get(service) ?? []), usedBy]);
  };
  for (const t of table.triggers.values()) {
    check(t.subscriber, t.namespace, `Trigger ${t.namespace}/${t.name} subscriber`);
    check(t.delivery.deadLetterSink, t.namespace, `Trigger ${t.namespace}/${t.name} deadLetterSink`);
  }
  for (const s of table.subscriptions.values()) {
    check(s.subscriber, s.namespace, `Subscription ${s.namespace}/${s.name} subscriber`);
    check(s.reply, s.namespace, `Subscription ${s.namespace}/${s.name} reply`);
    check(s.delivery.deadLetterSink, s.namespace, `Subscription ${s.namespace}/${s.name} deadLetterSink`);
  }
  return [...found].map(([service, usedBy]) => ({ service, usedBy })).sort((a, b) => a.service.localeCompare(b.service));
}
