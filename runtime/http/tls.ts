/**
 * TLS for the runtime's HTTPS servers, from mounted files: the serving certificate and key
 * and the CA bundle that signs client certificates. Watches them (file-watch.ts) and swaps
 * the server's secure context with `server.setSecureContext()` when they change, so a
 * rotated certificate or CA is used for new connections without a restart; connections
 * already open keep theirs. A half-written update (certificate and key that do not match)
 * is not applied: the old context stays until the files are consistent. Does I/O.
 */
import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import { readAll, watchFiles, type FileWatch } from './file-watch';

export interface TlsFiles {
  /** PEM certificate (chain) the server presents. */
  readonly certFile: string;
  /** PEM private key of that certificate. */
  readonly keyFile: string;
  /** PEM bundle of the CAs whose client certificates are accepted. @default - no client certificates asked */
  readonly caFile?: string;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The bundle as read (what the watcher compares). */
  readonly caFileContents?: Buffer;
  /** One PEM per CA (a bundle whose certificates are not separated by newlines still works). */
  readonly ca?: string[];
  /** The CA bundle's certificates, parsed (for verifying forwarded client certificates). */
  readonly caCertificates: readonly X509Certificate[];
}

/** Every PEM certificate in a bundle. */
export function parseCertificateBundle(pem: string | Buffer): X509Certificate[] {
  // indexOf, not a regular expression: linear in the bundle's size whatever it holds.
  const text = pem.toString();
  const BEGIN = '-----BEGIN CERTIFICATE-----';
  const END = '-----END CERTIFICATE-----';
  const certs: X509Certificate[] = [];
  for (let at = text.indexOf(BEGIN); at >= 0; at = text.indexOf(BEGIN, at)) {
    const end = text.indexOf(END, at + BEGIN.length);
    if (end < 0) break;
    certs.push(new X509Certificate(text.slice(at, end + END.length)));
    at = end + END.length;
  }
  return certs;
}

function filesOf(files: TlsFiles): string[] {
  return files.caFile ? [files.certFile, files.keyFile, files.caFile] : [files.certFile, files.keyFile];
}

/** Check the contents and build the material; throws naming the file at fault. */
function materialFrom(files: TlsFiles, [cert, key, caFileContents]: Buffer[]): TlsMaterial {
  let caCertificates: X509Certificate[] = [];
  if (files.caFile) {
    try {
      caCertificates = parseCertificateBundle(caFileContents!);
    } catch (e) {
      throw new Error(`${files.caFile} is not a PEM CA bundle: ${(e as Error).message}`);
    }
    if (caCertificates.length === 0) throw new Error(`${files.caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  const ca = files.caFile ? caCertificates.map((c) => c.toString()) : undefined;
  try {
    // Throws when the key does not match the certificate, or either is not PEM.
    tls.createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (e) {
    throw new Error(`${files.certFile} and ${files.keyFile} are not a matching PEM certificate and key: ${(e as Error).message}`);
  }
  return { cert, key, ...(ca ? { ca, caFileContents } : {}), caCertificates };
}

/** Load the files now; throws a message naming the file when one is missing or bad. */
export function loadTls(files: TlsFiles): TlsMaterial {
  return materialFrom(files, readAll(filesOf(files)));
}

export interface TlsReloadOptions {
  /** @default 1000 */
  readonly pollMs?: number;
  readonly onReload?: (material: TlsMaterial) => void;
  readonly onError?: (err: Error) => void;
}

/** Keeps `server`'s secure context in step with the files. `current()` is the material in use. */
export interface TlsReloader {
  current(): TlsMaterial;
  /** How many times new material was applied. */
  reloads(): number;
  close(): void;
}

export function reloadTls(server: tls.Server, files: TlsFiles, initial: TlsMaterial, options: TlsReloadOptions = {}): TlsReloader {
  let material = initial;
  let count = 0;
  const initialContents = [initial.cert, initial.key, ...(initial.caFileContents ? [initial.caFileContents] : [])];
  const watcher: FileWatch = watchFiles(filesOf(files), initialContents, (contents) => {
    let next: TlsMaterial;
    try {
      next = materialFrom(files, contents);
    } catch (e) {
      options.onError?.(e as Error);
      return false;
    }
    server.setSecureContext({ cert: next.cert, key: next.key, ...(next.ca ? { ca: next.ca } : {}) });
    material = next;
    count++;
    options.onReload?.(next);
    return true;
  }, { pollMs: options.pollMs, onError: options.onError });
  return { current: () => material, reloads: () => count, close: () => watcher.close() };
}
