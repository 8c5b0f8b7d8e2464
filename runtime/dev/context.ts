/**
 * What `event-mesh dev` and `event-mesh status` share (pure): how the directory is read,
 * the controller context they reconcile with, and the missing-directory message.
 */
import type { CliConfig } from '../cli';
import type { ControllerContext } from '../controller/reconcile-all';

/** Files directly in the directory (a cdk8s dist/ may hold other apps' output in subdirectories), the routing ConfigMap expanded. */
export const DEV_READ_OPTIONS = { expandRoutingConfigMap: true, maxDepth: 0 } as const;

/** The controller context dev and `status` reconcile with, from the CLI options. */
export function devContext(cfg: Pick<CliConfig, 'systemNamespace' | 'clusterDomain'>): ControllerContext {
  return { mesh: { addressing: { systemNamespace: cfg.systemNamespace, clusterDomain: cfg.clusterDomain } }, now: () => new Date() };
}

export function missingDirMessage(dir: string): string {
  return `manifest directory ${dir} does not exist: synthesize first (npm run synth) or pass the directory, e.g. event-mesh dev dist`;
}
