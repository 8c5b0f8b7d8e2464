/**
 * Reading Kubernetes manifests from a directory (I/O). Every `*.yaml` / `*.yml` file
 * under the directory, multi-document, `kind: List` expanded. Entries whose name starts
 * with `..` are skipped: a ConfigMap volume keeps its files in `..<timestamp>/` behind a
 * `..data` symlink and exposes each key as a top-level symlink, so reading the top-level
 * names (following symlinks) sees every key exactly once, and always the current version.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROUTING_CONFIGMAP, ROUTING_CONFIGMAP_KEY } from '../../../constructs/api';

export interface ManifestObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly spec?: unknown;
  readonly data?: Readonly<Record<string, string>>;
  readonly items?: unknown;
  /** Where it was read from (file, and document index), for messages. */
  readonly __origin?: string;
}

export interface ManifestSet {
  readonly objects: ManifestObject[];
  /** Files that could not be read or parsed; the rest still load. */
  readonly problems: string[];
  /** Hash of every file's path and content: equal hash, nothing changed. */
  readonly fingerprint: string;
  readonly files: string[];
}

export interface ReadManifestOptions {
  /**
   * Also read the Broker/Trigger/Subscription/Channel objects inside the routing
   * ConfigMap (`event-mesh-routing`, key `routing.yaml`) when it appears as a manifest
   * (as in a synthesized `dist/`). The in-cluster dispatcher reads the mounted key instead.
   */
  readonly expandRoutingConfigMap?: boolean;
  /** How deep to descend into subdirectories. @default 8 */
  readonly maxDepth?: number;
}

const YAML_FILE = /\.ya?ml$/i;

async function listYamlFiles(dir: string, depth: number, maxDepth: number, out: string[]): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (err) {
    if (depth === 0) throw err;
    return;
  }
  for (const name of entries.sort()) {
    if (name.startsWith('..')) continue;
    const full = path.join(dir, name);
    let stat;
    try {
      stat = await fs.stat(full); // follows symlinks
    } catch {
      continue; // dangling symlink mid-swap
    }
    if (stat.isDirectory()) {
      if (depth < maxDepth && !name.startsWith('.') && name !== 'node_modules') await listYamlFiles(full, depth + 1, maxDepth, out);
    } else if (stat.isFile() && YAML_FILE.test(name)) {
      out.push(full);
    }
  }
}

/** Parse multi-document YAML text into objects; parse errors go to `problems`. */
export function parseManifests(text: string, origin: string, problems: string[], options: ReadManifestOptions = {}): ManifestObject[] {
  const out: ManifestObject[] = [];
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      problems.push(`${origin}: document ${i + 1}: ${doc.errors[0].message.split('\n')[0]}`);
      return;
    }
    const value = doc.toJS() as unknown;
    collect(value, `${origin}#${i + 1}`, out, problems, options);
  });
  return out;
}

function collect(value: unknown, origin: string, out: ManifestObject[], problems: string[], options: ReadManifestOptions): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${origin}: not a Kubernetes object`);
    return;
  }
  const obj = value as ManifestObject;
  if (obj.kind === 'List' && Array.isArray(obj.items)) {
    obj.items.forEach((item, j) => collect(item, `${origin}.items[${j}]`, out, problems, options));
    return;
  }
  out.push({ ...obj, __origin: origin });
  if (options.expandRoutingConfigMap && obj.kind === 'ConfigMap' && obj.metadata?.name === ROUTING_CONFIGMAP) {
    const text = obj.data?.[ROUTING_CONFIGMAP_KEY];
    if (typeof text === 'string') out.push(...parseManifests(text, `${origin}:${ROUTING_CONFIGMAP_KEY}`, problems, { ...options, expandRoutingConfigMap: false }));
  }
}

/** Read every manifest under `dir` (or the single file `dir`). Throws only when `dir` itself is missing. */
export async function readManifests(dir: string, options: ReadManifestOptions = {}): Promise<ManifestSet> {
  return (await readManifestsIfChanged(dir, undefined, options))!;
}

/**
 * readManifests, but undefined (nothing parsed) when the files hash to `lastFingerprint`:
 * the periodic re-read of a large routing directory then costs a hash, not a YAML parse
 * that would hold the event loop for as long as parsing thousands of Triggers takes.
 */
export async function readManifestsIfChanged(dir: string, lastFingerprint: string | undefined, options: ReadManifestOptions = {}): Promise<ManifestSet | undefined> {
  const files: string[] = [];
  const stat = await fs.stat(dir);
  if (stat.isFile()) files.push(dir);
  else await listYamlFiles(dir, 0, options.maxDepth ?? 8, files);
  const hash = createHash('sha256');
  const problems: string[] = [];
  const texts: [string, string][] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
      continue;
    }
    hash.update(file).update('\0').update(text).update('\0');
    texts.push([file, text]);
  }
  const fingerprint = hash.digest('hex');
  if (lastFingerprint !== undefined && fingerprint === lastFingerprint) return undefined;
  const objects: ManifestObject[] = [];
  for (const [file, text] of texts) objects.push(...parseManifests(text, path.relative(dir, file) || path.basename(file), problems, options));
  return { objects, problems, fingerprint, files };
}
