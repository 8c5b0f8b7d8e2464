/**
 * The mesh's wiring as a picture (pure): from plain Kubernetes objects (synthesized
 * manifests, or a chart's JSON) to a Mermaid flowchart or a Graphviz dot graph.
 *
 *   application → adapter → channel → Subscription → broker → Trigger (its filter) → subscriber
 *                                                                    ⇢ dead-letter sink (dashed)
 *
 * Used by `event-mesh graph [dir]` and `EventMesh.toMermaid()`: one implementation. Objects
 * appearing twice (a Trigger and its copy in the routing ConfigMap) are drawn once.
 */
import { APPLICATION_LABEL, DEFAULT_INTEGRATION_NAMESPACE, KNATIVE_EVENTING_GROUP, KNATIVE_MESSAGING_GROUP, KYMA_APPLICATION_GROUP, KYMA_SOURCES_GROUP } from './names';
import type { DeliverySpec, Destination, SubscriptionsApiFilter } from './trigger-spec';
import { adapterName, applicationChannelName } from './wiring';

/** The parts of a Kubernetes object the graph reads. */
export interface GraphObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: unknown;
}

export type GraphNodeKind = 'application' | 'adapter' | 'channel' | 'subscription' | 'broker' | 'trigger' | 'destination';

export interface GraphNode {
  readonly id: string;
  readonly kind: GraphNodeKind;
  /** First line of the label. */
  readonly title: string;
  /** Further label lines (a Trigger's filter). */
  readonly details: readonly string[];
  /** The namespace the node is drawn in; undefined outside any (applications, URLs). */
  readonly namespace?: string;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly deadLetter?: boolean;
  readonly label?: string;
}

export interface MeshGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

const groupOf = (o: GraphObject) => String(o.apiVersion ?? '').split('/')[0];

/** One line describing a Subscriptions API filter: `type=a*`, `(x and y)`, `not x`. */
export function describeFilter(filter: SubscriptionsApiFilter): string {
  // Any dialect keys the object has (a union member has one; hand-written objects may have more).
  const f = filter as {
    exact?: Readonly<Record<string, string>>;
    prefix?: Readonly<Record<string, string>>;
    suffix?: Readonly<Record<string, string>>;
    all?: readonly SubscriptionsApiFilter[];
    any?: readonly SubscriptionsApiFilter[];
    not?: SubscriptionsApiFilter;
    cesql?: string;
  };
  const pairs = (m: Readonly<Record<string, string>> | undefined, fmt: (k: string, v: string) => string) =>
    Object.entries(m ?? {}).map(([k, v]) => fmt(k, v)).join(' and ');
  const parts: string[] = [];
  if (f.exact) parts.push(pairs(f.exact, (k, v) => `${k}=${v}`));
  if (f.prefix) parts.push(pairs(f.prefix, (k, v) => `${k}=${v}*`));
  if (f.suffix) parts.push(pairs(f.suffix, (k, v) => `${k}=*${v}`));
  if (f.all) parts.push(`(${f.all.map(describeFilter).join(' and ') || 'any'})`);
  if (f.any) parts.push(`(${f.any.map(describeFilter).join(' or ') || 'any'})`);
  if (f.not) parts.push(`not ${describeFilter(f.not)}`);
  if (f.cesql !== undefined) parts.push(`cesql ${f.cesql}`);
  return parts.filter(Boolean).join(' and ') || 'any';
}

interface TriggerLike {
  readonly broker?: string;
  readonly filter?: { readonly attributes?: Readonly<Record<string, string>> };
  readonly filters?: readonly SubscriptionsApiFilter[];
  readonly subscriber?: Destination;
  readonly delivery?: DeliverySpec;
}

/** The wiring of `objects` as nodes and edges (sorted, so equal inputs give equal graphs). */
export function meshGraph(objects: readonly GraphObject[]): MeshGraph {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const node = (key: string, n: Omit<GraphNode, 'id'>) => {
    if (!nodes.has(key)) nodes.set(key, { id: key, ...n });
    return key;
  };
  const edge = (e: GraphEdge) => edges.set(`${e.from}>${e.to}>${e.deadLetter ? 'dl' : ''}`, e);
  const seen = new Set<string>();
  const unique = objects.filter((o) => {
    const k = `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });

  const brokerKey = (ns: string, name: string) => node(`broker:${ns}/${name}`, { kind: 'broker', title: `broker ${ns}/${name}`, details: [], namespace: ns });
  const channelKey = (ns: string, name: string) => node(`channel:${ns}/${name}`, { kind: 'channel', title: `channel ${name}`, details: [], namespace: ns });
  const destinationKey = (d: Destination, ns: string): string => {
    if (d.ref) {
      const dns = d.ref.namespace ?? ns;
      if (d.ref.kind === 'Broker' && groupOf({ apiVersion: d.ref.apiVersion }) === KNATIVE_EVENTING_GROUP) return brokerKey(dns, d.ref.name);
      const path = d.uri ? ` ${d.uri}` : '';
      return node(`dest:${d.ref.kind}:${dns}/${d.ref.name}${path}`, { kind: 'destination', title: `${d.ref.kind} ${d.ref.name}${path}`, details: [], namespace: dns });
    }
    return node(`dest:uri:${d.uri}`, { kind: 'destination', title: String(d.uri), details: [] });
  };
  const applicationFlow = (app: string, ns: string, channel: string) => {
    const a = node(`app:${app}`, { kind: 'application', title: `application ${app}`, details: [] });
    const ad = node(`adapter:${ns}/${app}`, { kind: 'adapter', title: `adapter ${adapterName(app)}`, details: [], namespace: ns });
    edge({ from: a, to: ad });
    edge({ from: ad, to: channelKey(ns, channel) });
  };

  const brokerDelivery = new Map<string, DeliverySpec | undefined>();
  for (const o of unique) {
    if (o.kind === 'Broker' && groupOf(o) === KNATIVE_EVENTING_GROUP && o.metadata?.name) {
      const ns = o.metadata.namespace ?? 'default';
      brokerKey(ns, o.metadata.name);
      brokerDelivery.set(`${ns}/${o.metadata.name}`, (o.spec as { delivery?: DeliverySpec } | undefined)?.delivery);
    }
  }
  const appsWithSource = new Set<string>();
  for (const o of unique) {
    if (o.kind !== 'HTTPSource' || groupOf(o) !== KYMA_SOURCES_GROUP) continue;
    const app = (o.spec as { source?: string } | undefined)?.source || o.metadata?.name;
    if (!app || appsWithSource.has(app)) continue;
    appsWithSource.add(app);
    applicationFlow(app, o.metadata?.namespace ?? DEFAULT_INTEGRATION_NAMESPACE, applicationChannelName(app));
  }
  for (const o of unique) {
    if (o.kind !== 'Application' || groupOf(o) !== KYMA_APPLICATION_GROUP || !o.metadata?.name || appsWithSource.has(o.metadata.name)) continue;
    const app = o.metadata.name;
    const channel = unique.find((c) => groupOf(c) === KNATIVE_MESSAGING_GROUP && String(c.kind).endsWith('Channel') && c.metadata?.labels?.[APPLICATION_LABEL] === app);
    applicationFlow(app, channel?.metadata?.namespace ?? DEFAULT_INTEGRATION_NAMESPACE, channel?.metadata?.name ?? applicationChannelName(app));
  }
  for (const o of unique) {
    if (groupOf(o) === KNATIVE_MESSAGING_GROUP && String(o.kind).endsWith('Channel') && o.kind !== 'Subscription' && o.metadata?.name) channelKey(o.metadata.namespace ?? 'default', o.metadata.name);
  }
  for (const o of unique) {
    if (o.kind !== 'Subscription' || groupOf(o) !== KNATIVE_MESSAGING_GROUP || !o.metadata?.name) continue;
    const ns = o.metadata.namespace ?? 'default';
    const spec = (o.spec ?? {}) as { channel?: { name?: string }; subscriber?: Destination; reply?: Destination; delivery?: DeliverySpec };
    const s = node(`subscription:${ns}/${o.metadata.name}`, { kind: 'subscription', title: `Subscription ${o.metadata.name}`, details: [], namespace: ns });
    if (spec.channel?.name) edge({ from: channelKey(ns, spec.channel.name), to: s });
    if (spec.subscriber) edge({ from: s, to: destinationKey(spec.subscriber, ns) });
    if (spec.reply) edge({ from: s, to: destinationKey(spec.reply, ns), label: 'reply' });
    if (spec.delivery?.deadLetterSink) edge({ from: s, to: destinationKey(spec.delivery.deadLetterSink, ns), deadLetter: true });
  }
  for (const o of unique) {
    if (o.kind !== 'Trigger' || groupOf(o) !== KNATIVE_EVENTING_GROUP || !o.metadata?.name) continue;
    const ns = o.metadata.namespace ?? 'default';
    const spec = (o.spec ?? {}) as TriggerLike;
    const broker = spec.broker ?? 'default';
    const attrs = Object.entries(spec.filter?.attributes ?? {}).map(([k, v]) => `${k}=${v}`);
    const filters = (spec.filters ?? []).map(describeFilter);
    const details = attrs.length === 0 && filters.length === 0 ? ['every event'] : [...(attrs.length ? [`filter ${attrs.join(', ')}`] : []), ...filters.map((f) => `filters ${f}`)];
    const t = node(`trigger:${ns}/${o.metadata.name}`, { kind: 'trigger', title: `Trigger ${o.metadata.name}`, details, namespace: ns });
    edge({ from: brokerKey(ns, broker), to: t });
    if (spec.subscriber) edge({ from: t, to: destinationKey(spec.subscriber, ns) });
    const dls = spec.delivery?.deadLetterSink ?? brokerDelivery.get(`${ns}/${broker}`)?.deadLetterSink;
    if (dls) edge({ from: t, to: destinationKey(dls, ns), deadLetter: true });
  }
  const order: GraphNodeKind[] = ['application', 'adapter', 'channel', 'subscription', 'broker', 'trigger', 'destination'];
  const sortedNodes = [...nodes.values()].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.id.localeCompare(b.id));
  const rank = new Map(sortedNodes.map((n, i) => [n.id, i]));
  const sortedEdges = [...edges.values()].sort((a, b) => rank.get(a.from)! - rank.get(b.from)! || rank.get(a.to)! - rank.get(b.to)! || Number(!!a.deadLetter) - Number(!!b.deadLetter));
  return { nodes: sortedNodes, edges: sortedEdges };
}

const mermaidText = (s: string) => s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
const SHAPES: Record<GraphNodeKind, [string, string]> = {
  application: ['([', '])'],
  adapter: ['[', ']'],
  channel: ['[(', ')]'],
  subscription: ['[', ']'],
  broker: ['{{', '}}'],
  trigger: ['[/', '/]'],
  destination: ['(', ')'],
};

/** A Mermaid `flowchart LR`, one subgraph per namespace; dead-letter edges dashed. */
export function renderMermaid(graph: MeshGraph): string {
  const ids = new Map(graph.nodes.map((n, i) => [n.id, `n${i + 1}`]));
  const declare = (n: GraphNode) => {
    const [open, close] = SHAPES[n.kind];
    const label = [n.title, ...n.details].map(mermaidText).join('<br/>');
    return `${ids.get(n.id)}${open}"${label}"${close}`;
  };
  const lines = ['flowchart LR'];
  const namespaces = [...new Set(graph.nodes.map((n) => n.namespace).filter((ns): ns is string => ns !== undefined))].sort();
  for (const n of graph.nodes.filter((x) => x.namespace === undefined)) lines.push(`  ${declare(n)}`);
  namespaces.forEach((ns, i) => {
    lines.push(`  subgraph ns${i + 1}["namespace ${mermaidText(ns)}"]`);
    for (const n of graph.nodes.filter((x) => x.namespace === ns)) lines.push(`    ${declare(n)}`);
    lines.push('  end');
  });
  for (const e of graph.edges) {
    const from = ids.get(e.from);
    const to = ids.get(e.to);
    if (e.deadLetter) lines.push(`  ${from} -. dead letter .-> ${to}`);
    else if (e.label) lines.push(`  ${from} -- ${mermaidText(e.label)} --> ${to}`);
    else lines.push(`  ${from} --> ${to}`);
  }
  return `${lines.join('\n')}\n`;
}

const dotText = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
const DOT_SHAPES: Record<GraphNodeKind, string> = {
  application: 'oval',
  adapter: 'box',
  channel: 'cylinder',
  subscription: 'box',
  broker: 'hexagon',
  trigger: 'parallelogram',
  destination: 'box, style=rounded',
};

/** A Graphviz `digraph`, one cluster per namespace; dead-letter edges dashed. */
export function renderDot(graph: MeshGraph): string {
  const ids = new Map(graph.nodes.map((n, i) => [n.id, `n${i + 1}`]));
  const declare = (n: GraphNode) => `${ids.get(n.id)} [label="${[n.title, ...n.details].map(dotText).join('\\n')}", shape=${DOT_SHAPES[n.kind]}];`;
  const lines = ['digraph mesh {', '  rankdir=LR;'];
  const namespaces = [...new Set(graph.nodes.map((n) => n.namespace).filter((ns): ns is string => ns !== undefined))].sort();
  for (const n of graph.nodes.filter((x) => x.namespace === undefined)) lines.push(`  ${declare(n)}`);
  namespaces.forEach((ns, i) => {
    lines.push(`  subgraph cluster_${i + 1} {`, `    label="namespace ${dotText(ns)}";`);
    for (const n of graph.nodes.filter((x) => x.namespace === ns)) lines.push(`    ${declare(n)}`);
    lines.push('  }');
  });
  for (const e of graph.edges) {
    const attrs = e.deadLetter ? ' [style=dashed, label="dead letter"]' : e.label ? ` [label="${dotText(e.label)}"]` : '';
    lines.push(`  ${ids.get(e.from)} -> ${ids.get(e.to)}${attrs};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** `meshGraph` + `renderMermaid`. */
export function meshMermaid(objects: readonly GraphObject[]): string {
  return renderMermaid(meshGraph(objects));
}
