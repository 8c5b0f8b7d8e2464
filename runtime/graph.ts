/**
 * `event-mesh graph [dir]` (I/O: reads the manifests, returns the text): the wiring of the
 * synthesized manifests in `dir` as a Mermaid flowchart or a Graphviz dot graph. It reads
 * the directory exactly as `event-mesh dev` does (files directly in it, the routing
 * ConfigMap expanded) and draws with constructs/api/graph.ts, as `EventMesh.toMermaid()`.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { meshGraph, renderDot, renderMermaid } from '../constructs/api';
import { DEV_READ_OPTIONS } from './dev/discovery';
import { readManifests } from './dispatcher/routing/manifests';

export type GraphFormat = 'mermaid' | 'dot';

export async function graphOfDirectory(dir: string, format: GraphFormat): Promise<{ text: string; problems: readonly string[] }> {
  const resolved = path.resolve(dir);
  if (!existsSync(resolved)) {
    throw new Error(`manifest directory ${resolved} does not exist: synthesize first (npm run synth) or pass the directory, e.g. event-mesh graph dist`);
  }
  const { objects, problems } = await readManifests(resolved, DEV_READ_OPTIONS);
  const graph = meshGraph(objects);
  return { text: format === 'dot' ? renderDot(graph) : renderMermaid(graph), problems };
}
