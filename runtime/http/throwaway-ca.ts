/**
 * Throwaway certificates for `event-mesh dev --auth mtls` and for tests: a self-signed CA
 * (ECDSA P-256) that issues serving and client certificates. Pure computation (WebCrypto);
 * nothing is written to disk here. Never meant for production: cert-manager issues those.
 *
 *   const ca = await createThrowawayCa('dev mesh CA');
 *   const server = await ca.issue({ commonName: 'localhost', dnsNames: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
 *   const client = await ca.issue({ commonName: 'commerce', usage: 'client' });
 */
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

type KeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** A certificate and its private key, both PEM (ending in a newline, so bundles concatenate). */
export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface IssueOptions {
  /** Subject CN. */
  readonly commonName: string;
  /** SAN DNS names. @default [] */
  readonly dnsNames?: readonly string[];
  /** SAN IP addresses. @default [] */
  readonly ips?: readonly string[];
  /** SAN URIs (e.g. SPIFFE ids). @default [] */
  readonly uris?: readonly string[];
  /** Extended key usage. */
  readonly usage: 'server' | 'client';
  /** @default one minute ago */
  readonly notBefore?: Date;
  /** @default 30 days after notBefore */
  readonly notAfter?: Date;
}

export interface ThrowawayCa extends PemPair {
  issue(options: IssueOptions): Promise<PemPair>;
}

let serial = 0;
function nextSerial(): string {
  serial = (serial + 1) % 0xffff;
  // Positive, unique enough within a process and across CAs made in the same millisecond.
  return `${(Date.now() % 0xffffffff).toString(16).padStart(8, '0')}${serial.toString(16).padStart(4, '0')}${Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0')}`.replace(/^[89a-f]/, '1');
}

async function keyPem(keys: KeyPair): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`;
}

function newKeys(): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as Promise<KeyPair>;
}

/** A new self-signed CA. */
export async function createThrowawayCa(commonName: string, validity: { notBefore?: Date; notAfter?: Date } = {}): Promise<ThrowawayCa> {
  const keys = await newKeys();
  const notBefore = validity.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = validity.notAfter ?? new Date(notBefore.getTime() + 365 * 86_400_000);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${commonName}`,
    notBefore,
    notAfter,
    keys: keys as never,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  const issue = async (o: IssueOptions): Promise<PemPair> => {
    const leafKeys = await newKeys();
    const start = o.notBefore ?? new Date(Date.now() - 60_000);
    const names: x509.JsonGeneralName[] = [
      ...(o.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(o.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
      ...(o.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ];
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject: `CN=${o.commonName}`,
      issuer: caCert.subject,
      notBefore: start,
      notAfter: o.notAfter ?? new Date(start.getTime() + 30 * 86_400_000),
      signingAlgorithm: ALGORITHM,
      publicKey: leafKeys.publicKey as never,
      signingKey: keys.privateKey as never,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([o.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth], false),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
        ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
      ],
    });
    return { certPem: `${cert.toString('pem')}\n`, keyPem: await keyPem(leafKeys) };
  };
  return { certPem: `${caCert.toString('pem')}\n`, keyPem: await keyPem(keys), issue };
}
