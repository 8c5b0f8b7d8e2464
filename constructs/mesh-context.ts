import type { IssuerReference } from './adapter-auth';
import type { ChannelKind, MeshAddressing } from './api';
import type { ChannelBackend } from './channel-backend';
import type { HttpAdapterOptions } from './http-adapter';
import type { NamespaceBinding } from './namespace-binding';
import type { ResolvedRuntimeImage } from './runtime-image';
import type { RuntimeSettings } from './runtime-settings';

/**
 * What an Application needs from the mesh it joins. EventMesh implements it; it is an
 * interface so applications can be tested, or composed, without a whole mesh.
 */
export interface MeshContext {
  readonly addressing: Required<MeshAddressing>;
  readonly image: ResolvedRuntimeImage;
  readonly runtime: RuntimeSettings;
  readonly defaultChannel: ChannelKind;
  /** Defaults for every application's adapter. */
  readonly adapterDefaults: HttpAdapterOptions;
  /** The backend of an enabled channel kind; throws (naming the fix) for a disabled one. */
  channelBackend(kind: ChannelKind, requestedBy: string): ChannelBackend;
  /** The namespace's binding (Namespace + `default` Broker), rendered once however many applications share it. */
  bindNamespace(namespace: string): NamespaceBinding;
  /**
   * The cert-manager issuer of adapter and client certificates (EventMesh renders its CA on
   * first use). @default - the Issuer `event-mesh-ca` in the integration namespace, assumed to exist
   */
  certificateIssuer?(): IssuerReference;
}
