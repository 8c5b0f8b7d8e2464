/**
 * `event-mesh graph [dir]` (I/O: reads the manifests, returns the text): the wiring of the
 * synthesized manifests in `dir` as a Mermaid flowchart or a Graphviz dot graph. It reads
 * the directory exactly as `event-mesh dev` does (DEV_READ_OPTIONS, then the controller's
 * reconcile over it, so what the controller derives — Subscriptions of an application's
 * namespaces, default Brokers — is drawn too) and draws with constructs/api/graph.ts, as
 * `EventMesh.toMermaid()`.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { meshGraph, renderDot, renderMermaid } from '../constructs/api';
import type { CliConfig } from './cli';
import { DEV_READ_OPTIONS, devContext, missingDirMessage } from './dev/context';
import { devObjectSet } from './dev/object-set';
import { readManifests } from './dispatcher/routing/manifests';

export async function graphOfDirectory(dir: string, cfg: Pick<CliConfig, 'graphFormat' | 'systemNamespace' | 'clusterDomain'>): Promise<{ text: string; problems: readonly string[] }> {
  const resolved = path.resolve(dir);
  if (!existsSync(resolved)) throw new Error(missingDirMessage(resolved).replace('event-mesh dev dist', 'event-mesh graph dist'));
  const { objects, problems } = await readManifests(resolved, DEV_READ_OPTIONS);
  const graph = meshGraph(devObjectSet(objects, devContext(cfg)).objects);
  return { text: cfg.graphFormat === 'dot' ? renderDot(graph) : renderMermaid(graph), problems };
}
