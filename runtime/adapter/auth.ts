/**
 * The adapter's authentication decisions, pure (no sockets, no files, no clock but the one
 * passed in): which identity a client presented — from its TLS client certificate or from a
 * certificate a trusted proxy forwarded in X-Forwarded-Client-Cert (XFCC) — against the one
 * this adapter expects, and bearer tokens against the accepted set. Every refusal is a
 * 401 (who are you?) or 403 (not this application) with a JSON body naming what was
 * presented and what is expected. authenticator.ts feeds it from the request.
 */
import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto';

/** Which part of the certificate names the application. */
export type IdentityKind = 'cn' | 'uri' | 'dns';

export interface ExpectedIdentity {
  readonly kind: IdentityKind;
  readonly value: string;
}

/** What a client certificate says about its holder. */
export interface PresentedIdentity {
  readonly cn?: string;
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
}

export type AuthReason = 'unauthenticated' | 'forbidden';

export interface AuthErrorBody {
  readonly error: AuthReason;
  readonly message: string;
  /** The identity the client presented (absent when it presented none). */
  readonly presented?: string;
  readonly expected: string;
}

export type AuthDecision =
  | { readonly allow: true; readonly identity: string }
  | { readonly allow: false; readonly status: 401 | 403; readonly reason: AuthReason; readonly body: AuthErrorBody; readonly headers: Record<string, string> };

const PREFIXES: Record<string, IdentityKind> = { 'cn:': 'cn', 'uri:': 'uri', 'dns:': 'dns' };

/**
 * `--client-identity`: `cn:<name>`, `uri:<uri>` (e.g. a SPIFFE id), `dns:<name>`, or a bare
 * name meaning the CN. Throws (naming the value) when empty.
 */
export function parseExpectedIdentity(text: string): ExpectedIdentity {
  const t = text.trim();
  const prefix = Object.keys(PREFIXES).find((p) => t.toLowerCase().startsWith(p));
  const value = prefix ? t.slice(prefix.length).trim() : t;
  if (!value) throw new Error(`client identity must be a name, cn:<name>, uri:<uri> or dns:<name>, got ${JSON.stringify(text)}`);
  return { kind: prefix ? PREFIXES[prefix] : 'cn', value };
}

export function describeExpected(e: ExpectedIdentity): string {
  return `${e.kind === 'cn' ? 'CN' : e.kind === 'uri' ? 'URI' : 'DNS'}=${e.value}`;
}

export function describePresented(p: PresentedIdentity): string {
  const parts = [
    ...(p.cn !== undefined ? [`CN=${p.cn}`] : []),
    ...p.uris.map((u) => `URI=${u}`),
    ...p.dnsNames.map((d) => `DNS=${d}`),
  ];
  return parts.length > 0 ? parts.join(', ') : '(a certificate naming no CN, URI or DNS)';
}

/** The CN of a subject, given as Node's `{ CN }` object, `CN=a\nO=b` (X509Certificate) or `CN=a,O=b` (RFC 4514, as XFCC sends it). */
export function commonNameOf(subject: string | Readonly<Record<string, string | string[] | undefined>> | undefined): string | undefined {
  if (subject === undefined) return undefined;
  if (typeof subject !== 'string') {
    const cn = subject.CN;
    return Array.isArray(cn) ? cn[cn.length - 1] : cn;
  }
  // Split on newlines or on commas not escaped with a backslash.
  const rdns = subject.split(/\n|(?<!\\),/);
  let cn: string | undefined;
  for (const rdn of rdns) {
    const m = /^\s*CN\s*=(.*)$/i.exec(rdn);
    if (m) cn = m[1].trim().replace(/\\(.)/g, '$1').replace(/^"(.*)"$/, '$1');
  }
  return cn;
}

/** SAN URIs and DNS names from Node's `subjectaltname` text: `DNS:a, URI:spiffe://x, IP Address:1.2.3.4`. */
export function subjectAltNames(text: string | undefined): { uris: string[]; dnsNames: string[] } {
  const uris: string[] = [];
  const dnsNames: string[] = [];
  // Entries are separated by ", "; a value with special characters is a JSON string (URI:"a,b").
  const entries = (text ?? '').match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? [];
  for (const entry of entries) {
    const m = /^(DNS|URI):(.*)$/.exec(entry.trim());
    if (!m) continue;
    let v = m[2];
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v) as string;
      } catch {
        continue;
      }
    }
    (m[1] === 'DNS' ? dnsNames : uris).push(v);
  }
  return { uris, dnsNames };
}

/** The identity in a certificate (as Node's X509Certificate parses it). */
export function certificateIdentity(cert: X509Certificate): PresentedIdentity {
  return { cn: commonNameOf(cert.subject), ...subjectAltNames(cert.subjectAltName) };
}

export function matchesIdentity(presented: PresentedIdentity, expected: ExpectedIdentity): boolean {
  switch (expected.kind) {
    case 'cn':
      return presented.cn === expected.value;
    case 'uri':
      return presented.uris.includes(expected.value);
    case 'dns':
      return presented.dnsNames.some((d) => d.toLowerCase() === expected.value.toLowerCase());
  }
}

function deny(status: 401 | 403, message: string, expected: ExpectedIdentity | string, presented?: string, headers: Record<string, string> = {}): AuthDecision {
  const reason: AuthReason = status === 401 ? 'unauthenticated' : 'forbidden';
  const exp = typeof expected === 'string' ? expected : describeExpected(expected);
  return { allow: false, status, reason, body: { error: reason, message, ...(presented !== undefined ? { presented } : {}), expected: exp }, headers };
}

/** A missing or untrusted certificate (only reachable behind a trusted proxy; otherwise the handshake already failed). */
export function certificateMissing(expected: ExpectedIdentity, application: string, detail: string): AuthDecision {
  return deny(401, `${detail}: present a client certificate for application "${application}" signed by the mesh CA (${describeExpected(expected)})`, expected);
}

/** Decide on a certificate's identity: allow, or 403 naming both identities. */
export function decideCertificate(presented: PresentedIdentity, expected: ExpectedIdentity, application: string, via: 'tls' | 'xfcc'): AuthDecision {
  const shown = describePresented(presented);
  if (matchesIdentity(presented, expected)) return { allow: true, identity: shown };
  const from = via === 'xfcc' ? 'the client certificate forwarded by the proxy' : 'the client certificate';
  return deny(403, `${from} names ${shown}, but this adapter accepts events only from application "${application}" (${describeExpected(expected)}): use that application's certificate`, expected, shown);
}

// ---------------------------------------------------------------------------------------
// X-Forwarded-Client-Cert (Envoy/Istio format)

export interface XfccElement {
  readonly [key: string]: string | undefined;
}

/**
 * Parse an XFCC header: elements separated by `,`, key=value pairs by `;`, values may be
 * double-quoted (with `\"` escapes). Keys are lower-cased. Throws on an unterminated quote.
 */
export function parseXfcc(header: string): XfccElement[] {
  const elements: Record<string, string>[] = [];
  let current: Record<string, string> = {};
  let i = 0;
  const n = header.length;
  const flush = () => {
    if (Object.keys(current).length > 0) elements.push(current);
    current = {};
  };
  while (i < n) {
    while (i < n && header[i] === ' ') i++;
    let key = '';
    while (i < n && header[i] !== '=' && header[i] !== ';' && header[i] !== ',') key += header[i++];
    let value = '';
    if (header[i] === '=') {
      i++;
      if (header[i] === '"') {
        i++;
        let closed = false;
        while (i < n) {
          const ch = header[i++];
          if (ch === '\\' && i < n) value += header[i++];
          else if (ch === '"') {
            closed = true;
            break;
          } else value += ch;
        }
        if (!closed) throw new Error('unterminated quoted value');
      } else {
        while (i < n && header[i] !== ';' && header[i] !== ',') value += header[i++];
      }
    }
    if (key.trim()) {
      const k = key.trim().toLowerCase();
      // URI and DNS may repeat; keep them all, newline-separated.
      current[k] = current[k] !== undefined && (k === 'uri' || k === 'dns') ? `${current[k]}\n${value}` : value;
    }
    if (header[i] === ';') i++;
    else if (header[i] === ',') {
      i++;
      flush();
    }
  }
  flush();
  return elements;
}

export type ForwardedCertificate =
  | { readonly ok: true; readonly identity: PresentedIdentity }
  | { readonly ok: false; readonly problem: string };

/**
 * The client identity in the element the nearest proxy added (the last one). With a
 * `Cert` (URL-encoded PEM) the certificate must be signed by one of `cas` and valid at
 * `now`; without one, the proxy's `Subject`, `URI` and `DNS` fields are taken as it verified them.
 */
export function forwardedIdentity(header: string, cas: readonly X509Certificate[], now: Date): ForwardedCertificate {
  let elements: XfccElement[];
  try {
    elements = parseXfcc(header);
  } catch (e) {
    return { ok: false, problem: `the X-Forwarded-Client-Cert header is malformed (${(e as Error).message})` };
  }
  const last = elements[elements.length - 1];
  if (!last) return { ok: false, problem: 'the X-Forwarded-Client-Cert header is empty' };
  if (last.cert !== undefined) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(decodeURIComponent(last.cert));
    } catch {
      return { ok: false, problem: 'the certificate in X-Forwarded-Client-Cert is not a URL-encoded PEM certificate' };
    }
    const problem = certificateProblem(cert, cas, now);
    if (problem) return { ok: false, problem: `the forwarded client certificate ${problem}` };
    return { ok: true, identity: certificateIdentity(cert) };
  }
  const uris = last.uri ? last.uri.split('\n').filter(Boolean) : [];
  const dnsNames = last.dns ? last.dns.split('\n').filter(Boolean) : [];
  const cn = commonNameOf(last.subject);
  if (cn === undefined && uris.length === 0 && dnsNames.length === 0) {
    return { ok: false, problem: 'the X-Forwarded-Client-Cert header carries no Cert, Subject, URI or DNS' };
  }
  return { ok: true, identity: { cn, uris, dnsNames } };
}

/** Why `cert` is not acceptable (undefined when it is): not issued by one of `cas`, or outside its validity. */
export function certificateProblem(cert: X509Certificate, cas: readonly X509Certificate[], now: Date): string | undefined {
  const issuer = cas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
  if (!issuer) return `(${cert.subject.replace(/\n/g, ', ')}, issued by ${cert.issuer.replace(/\n/g, ', ')}) is not signed by a CA in the client CA bundle`;
  if (now < new Date(cert.validFrom)) return `is not valid before ${cert.validFrom}`;
  if (now > new Date(cert.validTo)) return `expired at ${cert.validTo}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Bearer tokens

const TOKEN_CHALLENGE = 'Bearer realm="event-mesh"';

/** The accepted tokens, as SHA-256 digests (so every comparison takes the same time). */
export interface TokenSet {
  readonly digests: readonly Buffer[];
}

/** One token a line; blank lines and `#` comments are ignored, surrounding spaces trimmed. */
export function parseTokens(text: string): TokenSet {
  const tokens = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return { digests: tokens.map((t) => createHash('sha256').update(t).digest()) };
}

/** Compares against every accepted token, whatever matches first: constant time in the token's content. */
export function tokenAccepted(token: string, set: TokenSet): boolean {
  const digest = createHash('sha256').update(token).digest();
  let ok = false;
  for (const d of set.digests) ok = timingSafeEqual(digest, d) || ok;
  return ok;
}

/** Decide on an Authorization header against the accepted tokens. */
export function decideToken(authorization: string | undefined, set: TokenSet, application: string): AuthDecision {
  const expected = `a bearer token of application "${application}"`;
  if (!authorization) {
    return deny(401, `no Authorization header: send "Authorization: Bearer <token>" with a token of application "${application}"`, expected, undefined,
      { 'www-authenticate': TOKEN_CHALLENGE });
  }
  const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization);
  if (!m) {
    return deny(401, 'the Authorization header is not "Bearer <token>"', expected, `${authorization.split(' ')[0].slice(0, 20)} credentials`,
      { 'www-authenticate': `${TOKEN_CHALLENGE}, error="invalid_request"` });
  }
  if (!tokenAccepted(m[1], set)) {
    return deny(401, `the bearer token is not one of application "${application}"'s current tokens`, expected, 'an unknown bearer token',
      { 'www-authenticate': `${TOKEN_CHALLENGE}, error="invalid_token"` });
  }
  return { allow: true, identity: 'bearer token' };
}
