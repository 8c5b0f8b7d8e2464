/**
 * What the controller's pure reconcilers know about the mesh they serve (pure): the mesh
 * settings that shape an Application's objects (the same EventMesh props the construct
 * takes, so the controller renders exactly what the construct renders), and the clock.
 */
import type { EventMeshProps } from '../../constructs/event-mesh';
import { DEFAULT_INTEGRATION_NAMESPACE, DEFAULT_SYSTEM_NAMESPACE, type MeshAddressing } from '../../constructs/api';

/** The EventMesh props that decide how an Application renders (plain JSON). */
export type ControllerMeshSettings = Pick<EventMeshProps,
  'addressing' | 'image' | 'logLevel' | 'defaultChannel' | 'channels' | 'nats' | 'kafka' | 'pubsub' | 'adapters' | 'certificateIssuer'>;

export interface ControllerContext {
  /** The mesh the Applications join. @default - EventMesh defaults */
  readonly mesh?: ControllerMeshSettings;
  /** The clock conditions' lastTransitionTime comes from. */
  readonly now: () => Date;
}

export function addressingOf(ctx: ControllerContext): Required<MeshAddressing> {
  const a = ctx.mesh?.addressing ?? {};
  return {
    systemNamespace: a.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE,
    integrationNamespace: a.integrationNamespace ?? DEFAULT_INTEGRATION_NAMESPACE,
    clusterDomain: a.clusterDomain ?? 'cluster.local',
  };
}
