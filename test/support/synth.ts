/** Helpers to synthesize charts in tests and look objects up in the result. */
import { readFileSync } from 'fs';
import { join } from 'path';
import { App, Chart, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import type { Manifest } from './validate-manifests';

/** Synthesize `chart` (this runs the App's validations, as app.synth() does). */
export function synth(chart: Chart): Manifest[] {
  return Testing.synth(chart) as Manifest[];
}

/** Write the App to its outdir, as `npm run synth` does, and read every YAML file back. */
export function synthToDisk(app: App, files: readonly string[]): Manifest[] {
  app.synth();
  return files.flatMap((file) => parseYamlDocuments(readFileSync(join(app.outdir, file), 'utf8')));
}

export function parseYamlDocuments(text: string): Manifest[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Manifest).filter((d) => d !== null && d !== undefined);
}

export function find(manifests: readonly Manifest[], kind: string, name: string, namespace?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata?.name === name && (namespace === undefined || m.metadata?.namespace === namespace));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind} ${namespace ? `${namespace}/` : ''}${name}, found ${found.length}`);
  }
  return found[0];
}

export function all(manifests: readonly Manifest[], kind: string): Manifest[] {
  return manifests.filter((m) => m.kind === kind);
}

/** Env of the first container of a workload, as name → value (or the valueFrom object). */
export function containerEnv(workload: Manifest): Record<string, unknown> {
  const spec = workload.spec as { template: { spec: { containers: { env?: { name: string; value?: string; valueFrom?: unknown }[] }[] } } };
  return Object.fromEntries((spec.template.spec.containers[0].env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
}

/** The routing documents inside the `event-mesh-routing` ConfigMap. */
export function routingDocuments(manifests: readonly Manifest[]): Manifest[] {
  const cm = find(manifests, 'ConfigMap', 'event-mesh-routing');
  return parseYamlDocuments((cm.data as Record<string, string>)['routing.yaml']);
}
