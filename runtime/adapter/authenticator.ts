/**
 * Builds the adapter's request authenticator from its `auth` option: loads the TLS files
 * (runtime/http/tls.ts) or the tokens file, keeps them reloaded, and turns each request —
 * its TLS peer certificate, or the X-Forwarded-Client-Cert of a trusted proxy, or its
 * Authorization header — into the pure decision of auth.ts. Does I/O (files, sockets).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type * as tls from 'node:tls';
import { readAll, watchFiles, type FileWatch } from '../http/file-watch';
import { loadTls, reloadTls, type TlsMaterial, type TlsReloader } from '../http/tls';
import type { Logger } from '../observability';
import {
  certificateMissing, commonNameOf, decideCertificate, decideToken, forwardedIdentity, parseExpectedIdentity, parseTokens, subjectAltNames,
  type AuthDecision, type ExpectedIdentity, type TokenSet,
} from './auth';

/** How clients authenticate to the adapter. There is no default: pick one explicitly. */
export type AdapterAuth =
  | {
    /** No authentication: anyone who reaches the adapter can send as the application. Development only. */
    readonly mode: 'none';
  }
  | {
    /** HTTPS; every client presents a certificate signed by `clientCaFile` that names the application. */
    readonly mode: 'mtls';
    readonly certFile: string;
    readonly keyFile: string;
    readonly clientCaFile: string;
    /** `name` (the CN), `cn:<name>`, `uri:<uri>` or `dns:<name>`. @default the application name (as CN) */
    readonly clientIdentity?: string;
    /**
     * Addresses (IPs or CIDRs) of TLS-terminating proxies whose X-Forwarded-Client-Cert is
     * trusted. With any set, a connection without a client certificate gets through the
     * handshake and is answered 401 unless it comes from one of them with a forwarded certificate.
     * @default [] (the handshake fails without a client certificate)
     */
    readonly trustedProxies?: readonly string[];
  }
  | {
    /** `Authorization: Bearer <token>` against the tokens in `tokensFile` (one a line). */
    readonly mode: 'token';
    readonly tokensFile: string;
    /** Serve HTTPS with this certificate (both or neither). @default - plain HTTP (behind a TLS-terminating gateway) */
    readonly certFile?: string;
    readonly keyFile?: string;
  };

export type AuthMode = AdapterAuth['mode'];
export const AUTH_MODES: readonly AuthMode[] = ['none', 'mtls', 'token'];

export interface Authenticator {
  readonly mode: AuthMode;
  /** Options for `https.createServer`, or undefined for plain HTTP. */
  readonly tlsOptions?: tls.TlsOptions;
  /** Start reloading the TLS files into `server` (once it exists). */
  attach(server: tls.Server): void;
  /** The decision for a request (undefined for mode none). */
  check(req: IncomingMessage): AuthDecision | undefined;
  /** TLS or token reloads applied so far. */
  reloads(): number;
  close(): void;
}

export interface AuthenticatorOptions {
  readonly application: string;
  readonly logger: Logger;
  /** How often mounted files are compared besides file events. @default 1000 */
  readonly reloadPollMs?: number;
}

/** The trusted proxy addresses as a BlockList; throws naming a bad entry. */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    const [addr, bits, extra] = entry.split('/');
    const type = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : undefined;
    const prefix = bits === undefined ? undefined : Number(bits);
    if (!type || extra !== undefined || (bits !== undefined && (!/^\d+$/.test(bits) || prefix! > (type === 'ipv4' ? 32 : 128)))) {
      throw new Error(`trusted proxy must be an IP address or CIDR such as 10.0.0.0/8 or fd00::/8, got ${JSON.stringify(raw)}`);
    }
    if (prefix === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, prefix, type);
  }
  return list;
}

function fromList(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : undefined;
  if (v4) return list.check(v4, 'ipv4');
  return isIPv4(address) ? list.check(address, 'ipv4') : list.check(address, 'ipv6');
}

/** Build the authenticator; throws a message naming the file when a file is missing or bad. */
export function createAuthenticator(auth: AdapterAuth, options: AuthenticatorOptions): Authenticator {
  const { application, logger } = options;
  const pollMs = options.reloadPollMs;
  if (!auth || !AUTH_MODES.includes(auth.mode)) {
    throw new Error(`auth.mode must be one of ${AUTH_MODES.join(', ')}, got ${JSON.stringify((auth as { mode?: unknown } | undefined)?.mode)}`);
  }
  if (auth.mode === 'none') {
    return { mode: 'none', attach: () => undefined, check: () => undefined, reloads: () => 0, close: () => undefined };
  }
  let reloader: TlsReloader | undefined;
  let material: TlsMaterial | undefined;
  const certFile = auth.certFile;
  const keyFile = auth.keyFile;
  if (auth.mode === 'token' && (certFile === undefined) !== (keyFile === undefined)) {
    throw new Error('auth token: give both the TLS certificate and key files (--tls-cert-file and --tls-key-file) or neither');
  }
  const tlsFiles = certFile && keyFile ? { certFile, keyFile, ...(auth.mode === 'mtls' ? { caFile: auth.clientCaFile } : {}) } : undefined;
  if (tlsFiles) material = loadTls(tlsFiles);
  const tlsReloadCount = () => reloader?.reloads() ?? 0;
  const attach = (server: tls.Server) => {
    if (!tlsFiles || !material) return;
    reloader = reloadTls(server, tlsFiles, material, {
      pollMs,
      onReload: (m) => logger.info({ certFile: tlsFiles.certFile, caCertificates: m.caCertificates.length }, 'TLS certificate, key and CA bundle reloaded'),
      onError: (e) => logger.warn({ err: e.message }, 'TLS files changed but are not usable yet; keeping the current ones'),
    });
  };

  if (auth.mode === 'token') {
    const file = auth.tokensFile;
    let tokens: TokenSet = parseTokens(readAll([file])[0].toString('utf8'));
    if (tokens.digests.length === 0) logger.warn({ file }, 'the tokens file holds no token: every request is refused until one is added');
    let tokenReloads = 0;
    const watch: FileWatch = watchFiles([file], readAll([file]), ([text]) => {
      tokens = parseTokens(text.toString('utf8'));
      tokenReloads++;
      logger.info({ file, tokens: tokens.digests.length }, 'tokens reloaded');
      return true;
    }, { pollMs, onError: (e) => logger.warn({ err: e.message }, 'tokens file unreadable; keeping the current tokens') });
    if (!tlsFiles) logger.warn('auth token without --tls-cert-file: serving plain HTTP, so tokens travel unencrypted unless a TLS-terminating gateway is in front');
    return {
      mode: 'token',
      tlsOptions: material ? { cert: material.cert, key: material.key, minVersion: 'TLSv1.2' } : undefined,
      attach,
      check: (req) => decideToken(req.headers.authorization, tokens, application),
      reloads: () => tokenReloads + tlsReloadCount(),
      close: () => {
        watch.close();
        reloader?.close();
      },
    };
  }

  const expected: ExpectedIdentity = parseExpectedIdentity(auth.clientIdentity ?? application);
  const proxies = auth.trustedProxies ?? [];
  const trusted = proxies.length > 0 ? trustedProxyList(proxies) : undefined;
  // The peer certificate is fixed for a connection: decide once per socket.
  const perSocket = new WeakMap<TLSSocket, AuthDecision>();
  const fromPeer = (socket: TLSSocket, behindProxy: boolean): AuthDecision => {
    const known = perSocket.get(socket);
    if (known) return known;
    const cert = socket.getPeerCertificate();
    let decision: AuthDecision;
    if (!cert || Object.keys(cert).length === 0) {
      decision = certificateMissing(expected, application, behindProxy
        ? 'the proxy forwarded no client certificate (X-Forwarded-Client-Cert)'
        : 'no client certificate was presented');
    } else if (!socket.authorized) {
      decision = certificateMissing(expected, application, `the client certificate is not trusted (${String(socket.authorizationError)})`);
    } else {
      decision = decideCertificate({ cn: commonNameOf(cert.subject as unknown as Record<string, string>), ...subjectAltNames(cert.subjectaltname) }, expected, application, 'tls');
    }
    perSocket.set(socket, decision);
    return decision;
  };
  return {
    mode: 'mtls',
    tlsOptions: {
      cert: material!.cert,
      key: material!.key,
      ca: material!.ca,
      requestCert: true,
      // Behind a trusted proxy the proxy's own connection may carry no client certificate:
      // the handshake succeeds and check() answers 401 unless XFCC says who the client is.
      rejectUnauthorized: !trusted,
      minVersion: 'TLSv1.2',
    },
    attach,
    check: (req) => {
      const socket = req.socket as TLSSocket;
      const isProxy = trusted !== undefined && fromList(trusted, socket.remoteAddress);
      const xfcc = req.headers['x-forwarded-client-cert'];
      if (isProxy && typeof xfcc === 'string' && xfcc !== '') {
        const forwarded = forwardedIdentity(xfcc, (reloader?.current() ?? material!).caCertificates, new Date());
        if (!forwarded.ok) return certificateMissing(expected, application, forwarded.problem);
        return decideCertificate(forwarded.identity, expected, application, 'xfcc');
      }
      return fromPeer(socket, isProxy);
    },
    reloads: tlsReloadCount,
    close: () => reloader?.close(),
  };
}
