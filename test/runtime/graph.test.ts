/**
 * `event-mesh graph [dir]` and `EventMesh.toMermaid()`: one drawing of the wiring from the
 * same pure function (constructs/api/graph.ts); README's diagram of the commerce example
 * is regenerated here and must match.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { describeFilter, meshGraph, renderDot, renderMermaid } from '../../constructs/api';
import type { GraphObject } from '../../constructs/api';
import { EventMesh } from '../../constructs';
import { buildCommerceChart } from '../../examples/commerce/main';
import { builtCli } from '../support/cli-process';

const ROOT = path.resolve(__dirname, '..', '..');

describe('meshGraph (pure)', () => {
  const objects: GraphObject[] = [
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'shop' }, spec: { delivery: { deadLetterSink: { uri: 'http://dls.example/' } } } },
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'orders', namespace: 'shop' }, spec: { broker: 'default', filters: [{ prefix: { type: 'order.' } }, { not: { exact: { region: 'us' } } }], subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'orders-fn' }, uri: '/in' } } },
    // The same Trigger again, as in the routing ConfigMap: drawn once.
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'orders', namespace: 'shop' }, spec: { broker: 'default', filters: [{ prefix: { type: 'order.' } }, { not: { exact: { region: 'us' } } }], subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'orders-fn' }, uri: '/in' } } },
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'all', namespace: 'shop' }, spec: { broker: 'default', subscriber: { uri: 'https://hooks.example.com/e' }, delivery: { deadLetterSink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'own-dls' } } } } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: 'shop' } },
  ];

  test('brokers, Triggers with filters, subscribers, dead-letter sinks (the Broker\'s when the Trigger has none)', () => {
    const g = meshGraph(objects);
    expect(g.nodes.map((n) => [n.kind, n.title, n.details.join(' | ')])).toEqual([
      ['broker', 'broker shop/default', ''],
      ['trigger', 'Trigger all', 'every event'],
      ['trigger', 'Trigger orders', 'filters type=order.* | filters not region=us'],
      ['destination', 'Service orders-fn /in', ''],
      ['destination', 'Service own-dls', ''],
      ['destination', 'http://dls.example/', ''],
      ['destination', 'https://hooks.example.com/e', ''],
    ]);
    const title = new Map(g.nodes.map((n) => [n.id, n.title]));
    expect(g.edges.map((e) => `${title.get(e.from)} ${e.deadLetter ? '-.->' : '-->'} ${title.get(e.to)}`)).toEqual([
      'broker shop/default --> Trigger all',
      'broker shop/default --> Trigger orders',
      'Trigger all -.-> Service own-dls',
      'Trigger all --> https://hooks.example.com/e',
      'Trigger orders --> Service orders-fn /in',
      'Trigger orders -.-> http://dls.example/',
    ]);
    const mermaid = renderMermaid(g);
    expect(mermaid).toMatch(/^flowchart LR\n/);
    expect(mermaid).toMatch(/n\d+ -\. dead letter \.-> n\d+/);
    expect(renderDot(g)).toMatch(/n\d+ -> n\d+ \[style=dashed, label="dead letter"\];/);
  });

  test('describeFilter covers every dialect', () => {
    expect(describeFilter({ all: [{ exact: { source: 'shop' } }, { any: [{ suffix: { type: '.v1' } }, { cesql: "type = 'x'" }] }] })).toBe("(source=shop and (type=*.v1 or cesql type = 'x'))");
  });

  test('labels cannot break out of the Mermaid syntax', () => {
    const g = meshGraph([{ apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't', namespace: 'x' }, spec: { filter: { attributes: { type: 'a"]-->b<x>' } }, subscriber: { uri: 'http://h/"' } } }]);
    const text = renderMermaid(g);
    expect(text).not.toMatch(/a"\]/);
    expect(text).toContain('a#quot;]--#gt;b#lt;x#gt;');
  });
});

describe('the commerce example', () => {
  let dir: string;
  let mermaid: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'graph-'));
    const app = new App({ outdir: dir });
    const chart = buildCommerceChart(app);
    const mesh = chart.node.findAll().find((c): c is EventMesh => c instanceof EventMesh)!;
    mermaid = mesh.toMermaid();
    app.synth();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('event-mesh graph on the synthesized manifests prints what mesh.toMermaid() returns', () => {
    const printed = execFileSync(process.execPath, [builtCli(), 'graph', dir], { encoding: 'utf8' });
    expect(printed).toBe(mermaid);
    expect(mermaid).toContain('"application commerce"');
    expect(mermaid).toMatch(/Trigger test-trigger<br\/>filter eventtypeversion=v1, source=commerce, type=user.created/);
    expect(mermaid).toMatch(/-\. dead letter \.-> n\d+/);
    const dot = execFileSync(process.execPath, [builtCli(), 'graph', dir, '--format', 'dot'], { encoding: 'utf8' });
    expect(dot).toBe(renderDot(meshGraph(chartObjects(dir))));
  });

  test('README shows the current diagram', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const m = /<!-- graph: examples\/commerce \(test\/runtime\/graph\.test\.ts keeps it current\) -->\n```mermaid\n([\s\S]*?)```\n/.exec(readme);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(mermaid);
  });

  test('a missing directory is an error with the fix, exit code 1', () => {
    let status: number | null = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [builtCli(), 'graph', path.join(dir, 'nope')], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      status = (err as { status: number }).status;
      stderr = (err as { stderr: string }).stderr;
    }
    expect(status).toBe(1);
    expect(stderr).toMatch(/does not exist: synthesize first \(npm run synth\)/);
  });
});

function chartObjects(dir: string): GraphObject[] {
  const { parseAllDocuments } = require('yaml') as typeof import('yaml');
  return parseAllDocuments(readFileSync(path.join(dir, 'commerce.k8s.yaml'), 'utf8')).map((d) => d.toJS() as GraphObject);
}
