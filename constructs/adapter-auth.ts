/**
 * How an application's adapter authenticates its clients, as construct props, and what that
 * renders: cert-manager Certificates (the adapter's serving certificate, the application's
 * client certificate) or references to existing Secrets, the Secrets mounted read-only, and
 * the runtime's auth env (AUTH, TLS_CERT_FILE, …). No key or token is ever written into the
 * output: cert-manager creates the keys in the cluster, tokens come from a Secret reference.
 * Pure rendering (cdk8s objects).
 */
import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import {
  ADAPTER_CLIENT_CA_MOUNT_PATH, ADAPTER_PROBE_PORT, ADAPTER_TLS_MOUNT_PATH, ADAPTER_TOKENS_MOUNT_PATH, MESH_CA_ISSUER, MESH_CA_SECRET,
  MESH_SELF_SIGNED_ISSUER, adapterName, adapterServingSecretName, applicationClientSecretName,
} from './api';
import { configError, shown } from './errors';
import { meshLabels } from './mesh-labels';

export const CERT_MANAGER_API_VERSION = 'cert-manager.io/v1';

/** A cert-manager issuer. */
export interface IssuerReference {
  readonly name: string;
  /** @default "Issuer" (in the integration namespace) */
  readonly kind?: 'Issuer' | 'ClusterIssuer';
}

/** Mutual TLS: HTTPS, and every client presents a certificate that names the application. */
export interface MtlsAuthOptions {
  readonly mode: 'mtls';
  /**
   * An existing `kubernetes.io/tls` Secret (tls.crt, tls.key) the adapter serves with.
   * @default - a cert-manager Certificate `<application>-adapter-tls` from the mesh CA Issuer
   */
  readonly servingSecret?: string;
  /**
   * An existing Secret with the CA bundle that signs client certificates.
   * @default - `ca.crt` of the serving Secret (the mesh CA, with cert-manager)
   */
  readonly clientCaSecret?: string;
  /** Key of the bundle in `clientCaSecret`. @default "ca.crt" */
  readonly clientCaKey?: string;
  /** Identity a client certificate must carry: `<name>`/`cn:<name>`, `uri:<uri>` or `dns:<name>`. @default - the application name, as CN */
  readonly clientIdentity?: string;
  /**
   * Issue the application's client certificate (`<application>-client-tls` Secret, for the
   * external system) with cert-manager.
   * @default true unless servingSecret is given
   */
  readonly clientCertificate?: boolean;
  /** IPs/CIDRs of TLS-terminating proxies whose X-Forwarded-Client-Cert is trusted. @default [] */
  readonly trustedProxies?: readonly string[];
}

/** Bearer tokens from an existing Secret (one token a line; several at once for rotation). */
export interface TokenAuthOptions {
  readonly mode: 'token';
  /** Name of the Secret with the accepted tokens. */
  readonly secret: string;
  /** Key of the tokens in the Secret. @default "tokens" */
  readonly secretKey?: string;
  /**
   * Serve HTTPS with this existing `kubernetes.io/tls` Secret, or `false` for plain HTTP
   * behind a TLS-terminating gateway.
   * @default - a cert-manager Certificate `<application>-adapter-tls`
   */
  readonly servingSecret?: string | false;
}

/** No authentication: anyone who reaches the adapter can send as the application. */
export interface NoAuthOptions {
  readonly mode: 'none';
}

export type AdapterAuthOptions = MtlsAuthOptions | TokenAuthOptions | NoAuthOptions;

/** The adapter's auth when no props pick one. */
export const DEFAULT_ADAPTER_AUTH: AdapterAuthOptions = { mode: 'mtls' };

/** Whether an adapter with this auth gets its certificates from cert-manager. */
export function usesCertManager(auth: AdapterAuthOptions | undefined): boolean {
  const a = auth ?? DEFAULT_ADAPTER_AUTH;
  if (a.mode === 'mtls') return a.servingSecret === undefined || a.clientCertificate === true;
  if (a.mode === 'token') return a.servingSecret === undefined;
  return false;
}

export interface RenderedAdapterAuth {
  readonly mode: AdapterAuthOptions['mode'];
  /** The adapter serves HTTPS. */
  readonly tls: boolean;
  /** Env of the adapter container. */
  readonly env: Record<string, kplus.EnvValue>;
  /** Secret volumes, mounted read-only. */
  readonly mounts: { readonly path: string; readonly volume: kplus.Volume; readonly readOnly: true }[];
  /** Whether a cert-manager issuer was used (for the mesh CA). */
  readonly usesCertManager: boolean;
}

export interface AdapterAuthRenderProps {
  readonly application: string;
  readonly namespace: string;
  readonly clusterDomain: string;
  readonly auth: AdapterAuthOptions;
  /** Resolves the issuer on first use (so the mesh renders its CA only when needed). */
  readonly issuer: () => IssuerReference;
  /** Extra DNS names of the serving certificate (an Ingress host). */
  readonly extraDnsNames?: readonly string[];
  readonly labels: Record<string, string>;
}

const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function requireSecretName(scope: Construct, field: string, value: unknown): string {
  if (typeof value !== 'string' || !SECRET_NAME.test(value) || value.length > 253) {
    throw configError(scope, `${field} must name a Secret (lower-case DNS name), got ${shown(value)}`, 'pass the name of an existing Secret in the integration namespace');
  }
  return value;
}

/** A cert-manager Certificate, rendered as an ApiObject. */
function certificate(scope: Construct, id: string, props: {
  name: string; namespace: string; labels: Record<string, string>; issuer: IssuerReference; commonName: string;
  dnsNames?: string[]; usages: string[]; isCA?: boolean; duration?: string; renewBefore?: string;
}): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: CERT_MANAGER_API_VERSION,
    kind: 'Certificate',
    metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
    spec: {
      secretName: props.name,
      secretTemplate: { labels: props.labels },
      commonName: props.commonName,
      ...(props.dnsNames?.length ? { dnsNames: props.dnsNames } : {}),
      ...(props.isCA ? { isCA: true } : {}),
      duration: props.duration ?? '2160h',
      renewBefore: props.renewBefore ?? '360h',
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      usages: props.usages,
      issuerRef: { name: props.issuer.name, kind: props.issuer.kind ?? 'Issuer', group: 'cert-manager.io' },
    },
  });
}

/**
 * The mesh CA in `namespace`: a self-signed Issuer, the CA Certificate it signs (Secret
 * `event-mesh-ca`, key generated in the cluster) and the CA Issuer every adapter and client
 * certificate comes from. Returns the CA Issuer.
 */
export function renderMeshCa(scope: Construct, namespace: string): IssuerReference {
  const labels = meshLabels(MESH_CA_ISSUER, 'certificate-authority');
  new ApiObject(scope, 'SelfSignedIssuer', {
    apiVersion: CERT_MANAGER_API_VERSION,
    kind: 'Issuer',
    metadata: { name: MESH_SELF_SIGNED_ISSUER, namespace, labels },
    spec: { selfSigned: {} },
  });
  certificate(scope, 'CaCertificate', {
    name: MESH_CA_SECRET, namespace, labels, issuer: { name: MESH_SELF_SIGNED_ISSUER }, commonName: 'event-mesh CA', isCA: true,
    usages: ['cert sign', 'crl sign'], duration: '87600h', renewBefore: '720h',
  });
  new ApiObject(scope, 'CaIssuer', {
    apiVersion: CERT_MANAGER_API_VERSION,
    kind: 'Issuer',
    metadata: { name: MESH_CA_ISSUER, namespace, labels },
    spec: { ca: { secretName: MESH_CA_SECRET } },
  });
  return { name: MESH_CA_ISSUER, kind: 'Issuer' };
}

const env = (value: string) => kplus.EnvValue.fromValue(value);

/** Render an adapter's auth: certificates or Secret references, read-only mounts, env. */
export function renderAdapterAuth(scope: Construct, props: AdapterAuthRenderProps): RenderedAdapterAuth {
  const auth = props.auth;
  const mode = (auth as { mode?: unknown } | undefined)?.mode;
  if (mode !== 'mtls' && mode !== 'token' && mode !== 'none') {
    throw configError(scope, `adapter auth.mode must be "mtls", "token" or "none", got ${shown(mode)}`, 'pick one; mtls is the default when auth is left out');
  }
  const probe = { PROBE_PORT: env(String(ADAPTER_PROBE_PORT)) };
  if (auth.mode === 'none') {
    return { mode: 'none', tls: false, env: { AUTH: env('none'), ...probe }, mounts: [], usesCertManager: false };
  }
  const { application, namespace } = props;
  const labels = props.labels;
  const mounts: { path: string; volume: kplus.Volume; readOnly: true }[] = [];
  const mountSecret = (id: string, secretName: string, path: string, items?: Record<string, kplus.PathMapping>) => {
    const secret = kplus.Secret.fromSecretName(scope, `${id}Secret`, secretName);
    mounts.push({ path, volume: kplus.Volume.fromSecret(scope, `${id}Volume`, secret, { name: id.toLowerCase(), ...(items ? { items } : {}) }), readOnly: true });
  };
  const service = adapterName(application);
  const serviceDnsNames = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${props.clusterDomain}`, ...(props.extraDnsNames ?? [])];
  let usesCertManager = false;
  const servingFromCertManager = () => {
    usesCertManager = true;
    certificate(scope, 'ServingCertificate', {
      name: adapterServingSecretName(application), namespace, labels, issuer: props.issuer(), commonName: service,
      dnsNames: serviceDnsNames, usages: ['server auth', 'digital signature', 'key encipherment'],
    });
    return adapterServingSecretName(application);
  };

  if (auth.mode === 'token') {
    const tokensSecret = requireSecretName(scope, 'adapter auth.secret (tokens)', auth.secret);
    const key = auth.secretKey ?? 'tokens';
    mountSecret('Tokens', tokensSecret, ADAPTER_TOKENS_MOUNT_PATH, { [key]: { path: 'tokens' } });
    const e: Record<string, kplus.EnvValue> = { AUTH: env('token'), TOKENS_FILE: env(`${ADAPTER_TOKENS_MOUNT_PATH}/tokens`), ...probe };
    let tls = false;
    if (auth.servingSecret !== false) {
      const serving = auth.servingSecret === undefined ? servingFromCertManager() : requireSecretName(scope, 'adapter auth.servingSecret', auth.servingSecret);
      mountSecret('Tls', serving, ADAPTER_TLS_MOUNT_PATH);
      e.TLS_CERT_FILE = env(`${ADAPTER_TLS_MOUNT_PATH}/tls.crt`);
      e.TLS_KEY_FILE = env(`${ADAPTER_TLS_MOUNT_PATH}/tls.key`);
      tls = true;
    }
    return { mode: 'token', tls, env: e, mounts, usesCertManager };
  }

  const serving = auth.servingSecret === undefined ? servingFromCertManager() : requireSecretName(scope, 'adapter auth.servingSecret', auth.servingSecret);
  mountSecret('Tls', serving, ADAPTER_TLS_MOUNT_PATH);
  let caFile = `${ADAPTER_TLS_MOUNT_PATH}/ca.crt`;
  if (auth.clientCaSecret !== undefined) {
    const key = auth.clientCaKey ?? 'ca.crt';
    mountSecret('ClientCa', requireSecretName(scope, 'adapter auth.clientCaSecret', auth.clientCaSecret), ADAPTER_CLIENT_CA_MOUNT_PATH, { [key]: { path: 'ca.crt' } });
    caFile = `${ADAPTER_CLIENT_CA_MOUNT_PATH}/ca.crt`;
  } else if (auth.servingSecret !== undefined && auth.clientCaKey !== undefined) {
    caFile = `${ADAPTER_TLS_MOUNT_PATH}/${auth.clientCaKey}`;
  }
  if (auth.clientCertificate ?? auth.servingSecret === undefined) {
    usesCertManager = true;
    certificate(scope, 'ClientCertificate', {
      name: applicationClientSecretName(application), namespace, labels, issuer: props.issuer(), commonName: application,
      usages: ['client auth', 'digital signature', 'key encipherment'],
    });
  }
  const e: Record<string, kplus.EnvValue> = {
    AUTH: env('mtls'),
    TLS_CERT_FILE: env(`${ADAPTER_TLS_MOUNT_PATH}/tls.crt`),
    TLS_KEY_FILE: env(`${ADAPTER_TLS_MOUNT_PATH}/tls.key`),
    CLIENT_CA_FILE: env(caFile),
    ...probe,
  };
  if (auth.clientIdentity !== undefined) {
    if (typeof auth.clientIdentity !== 'string' || !/^((cn|uri|dns):)?\S+$/i.test(auth.clientIdentity)) {
      throw configError(scope, `adapter auth.clientIdentity must be <name>, cn:<name>, uri:<uri> or dns:<name>, got ${shown(auth.clientIdentity)}`, 'fix the identity');
    }
    e.CLIENT_IDENTITY = env(auth.clientIdentity);
  }
  if (auth.trustedProxies?.length) e.TRUSTED_PROXIES = env(auth.trustedProxies.join(','));
  return { mode: 'mtls', tls: true, env: e, mounts, usesCertManager };
}
