import { existsSync, readFileSync } from 'fs';
import { dirname, join } from 'path';

export const DEFAULT_RUNTIME_IMAGE = 'ghcr.io/event-mesh/runtime';

/**
 * This package's version, read from its package.json. Found by walking up rather than
 * imported, because the file sits one level higher once compiled into lib/ (and importing
 * it would copy a stray package.json into lib/).
 */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'event-mesh' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) return 'latest';
  }
}

/** The runtime image tag matching this package: constructs and runtime ship together. */
export const RUNTIME_VERSION: string = packageVersion();

export interface RuntimeImageOptions {
  /**
   * Image repository of the runtime (adapter and dispatcher share it).
   * @default "ghcr.io/event-mesh/runtime"
   */
  readonly name?: string;
  /**
   * Image tag, or a digest (`sha256:...`) to pin it.
   * @default - this package's version
   */
  readonly tag?: string;
  /**
   * @default "IfNotPresent" ("Always" for the mutable tag "latest")
   */
  readonly pullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

export interface ResolvedRuntimeImage {
  readonly image: string;
  readonly pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
}

export function resolveRuntimeImage(options: RuntimeImageOptions = {}): ResolvedRuntimeImage {
  const name = options.name ?? DEFAULT_RUNTIME_IMAGE;
  const tag = options.tag ?? RUNTIME_VERSION;
  const image = tag.startsWith('sha256:') ? `${name}@${tag}` : `${name}:${tag}`;
  return { image, pullPolicy: options.pullPolicy ?? (tag === 'latest' ? 'Always' : 'IfNotPresent') };
}
