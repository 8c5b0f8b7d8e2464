/**
 * The adapter's authentication decisions as tables, without sockets (runtime/adapter/auth.ts
 * and webhook.ts): identities from certificates and XFCC against the expected one, tokens,
 * and the webhook handshake. Certificates are generated here (runtime/http/throwaway-ca.ts).
 */
import { X509Certificate } from 'node:crypto';
import {
  commonNameOf, decideCertificate, decideToken, describeExpected, forwardedIdentity, matchesIdentity, parseExpectedIdentity, parseTokens,
  parseXfcc, subjectAltNames, tokenAccepted, type PresentedIdentity,
} from '../../runtime/adapter/auth';
import { trustedProxyList } from '../../runtime/adapter/authenticator';
import { webhookHandshake } from '../../runtime/adapter/webhook';
import { createThrowawayCa, type ThrowawayCa } from '../../runtime/http/throwaway-ca';

const id = (p: Partial<PresentedIdentity>): PresentedIdentity => ({ uris: [], dnsNames: [], ...p });

describe('expected identity', () => {
  it.each([
    ['commerce', { kind: 'cn', value: 'commerce' }],
    ['cn:commerce', { kind: 'cn', value: 'commerce' }],
    ['URI:spiffe://mesh/ns/x/sa/commerce', { kind: 'uri', value: 'spiffe://mesh/ns/x/sa/commerce' }],
    ['dns:commerce.clients.example.com', { kind: 'dns', value: 'commerce.clients.example.com' }],
  ])('%s', (text, expected) => {
    expect(parseExpectedIdentity(text)).toEqual(expected);
  });
  it.each(['', '  ', 'cn:', 'uri: '])('%j is refused', (text) => {
    expect(() => parseExpectedIdentity(text)).toThrow(/client identity must be a name/);
  });
});

describe('certificate identity against the expected one', () => {
  const table: [string, PresentedIdentity, string, boolean][] = [
    ['CN matches', id({ cn: 'commerce' }), 'commerce', true],
    ['CN of another application', id({ cn: 'billing' }), 'commerce', false],
    ['CN differs in case', id({ cn: 'Commerce' }), 'commerce', false],
    ['no CN', id({ dnsNames: ['commerce'] }), 'commerce', false],
    ['SAN URI matches', id({ cn: 'x', uris: ['spiffe://m/commerce'] }), 'uri:spiffe://m/commerce', true],
    ['SAN URI prefix only', id({ uris: ['spiffe://m/commerce-2'] }), 'uri:spiffe://m/commerce', false],
    ['CN does not satisfy a URI identity', id({ cn: 'spiffe://m/commerce' }), 'uri:spiffe://m/commerce', false],
    ['SAN DNS matches (case-insensitive)', id({ dnsNames: ['a.example', 'Commerce.Example'] }), 'dns:commerce.example', true],
    ['SAN DNS of another name', id({ dnsNames: ['billing.example'] }), 'dns:commerce.example', false],
  ];
  it.each(table)('%s', (_name, presented, expected, allowed) => {
    const e = parseExpectedIdentity(expected);
    expect(matchesIdentity(presented, e)).toBe(allowed);
    const d = decideCertificate(presented, e, 'commerce', 'tls');
    if (allowed) {
      expect(d.allow).toBe(true);
    } else {
      expect(d).toMatchObject({ allow: false, status: 403, reason: 'forbidden', body: { error: 'forbidden', expected: describeExpected(e) } });
      if (!d.allow) {
        expect(d.body.message).toContain(describeExpected(e));
        expect(d.body.presented).toBeDefined();
        expect(d.body.message).toContain(d.body.presented!);
      }
    }
  });

  it('403 names both identities', () => {
    const d = decideCertificate(id({ cn: 'billing' }), parseExpectedIdentity('commerce'), 'commerce', 'xfcc');
    expect(d).toMatchObject({ allow: false, body: { presented: 'CN=billing', expected: 'CN=commerce' } });
    expect(!d.allow && d.body.message).toMatch(/forwarded by the proxy names CN=billing.*application "commerce" \(CN=commerce\)/);
  });
});

describe('subject and SAN parsing', () => {
  it.each([
    ['CN=commerce\nO=shop', 'commerce'],
    ['O=shop,CN=commerce', 'commerce'],
    ['CN=a\\,b,O=x', 'a,b'],
    ['O=only', undefined],
  ])('CN of %j', (subject, cn) => {
    expect(commonNameOf(subject)).toBe(cn);
  });
  it('CN of a Node peer certificate subject object', () => {
    expect(commonNameOf({ CN: 'commerce', O: 'x' })).toBe('commerce');
    expect(commonNameOf({ CN: ['a', 'b'] })).toBe('b');
  });
  it('SAN text as Node prints it', () => {
    expect(subjectAltNames('DNS:a.example, URI:spiffe://m/x, IP Address:127.0.0.1, DNS:b')).toEqual({ uris: ['spiffe://m/x'], dnsNames: ['a.example', 'b'] });
    expect(subjectAltNames('URI:"spiffe://m/a,b"')).toEqual({ uris: ['spiffe://m/a,b'], dnsNames: [] });
    expect(subjectAltNames(undefined)).toEqual({ uris: [], dnsNames: [] });
  });
});

describe('X-Forwarded-Client-Cert', () => {
  let meshCa: ThrowawayCa;
  let otherCa: ThrowawayCa;
  let cas: X509Certificate[];
  beforeAll(async () => {
    meshCa = await createThrowawayCa('mesh');
    otherCa = await createThrowawayCa('other');
    cas = [new X509Certificate(meshCa.certPem)];
  });

  it('parses elements, quoted values and repeated URI/DNS', () => {
    expect(parseXfcc('By=spiffe://a;Hash=ab;Subject="CN=x,O=y";URI=spiffe://c;DNS=d1;DNS=d2')).toEqual([
      { by: 'spiffe://a', hash: 'ab', subject: 'CN=x,O=y', uri: 'spiffe://c', dns: 'd1\nd2' },
    ]);
    expect(parseXfcc('Hash=1;Subject="CN=first",Hash=2;Subject="CN=\\"second\\""')).toEqual([
      { hash: '1', subject: 'CN=first' }, { hash: '2', subject: 'CN="second"' },
    ]);
    expect(() => parseXfcc('Subject="CN=x')).toThrow(/unterminated/);
  });

  it.each([
    ['Subject of the nearest proxy wins', 'Subject="CN=billing",Subject="CN=commerce"', { ok: true, identity: id({ cn: 'commerce' }) }],
    ['URI and DNS only', 'URI=spiffe://m/commerce;DNS=commerce.example', { ok: true, identity: id({ uris: ['spiffe://m/commerce'], dnsNames: ['commerce.example'] }) }],
    ['nothing usable', 'Hash=abc', { ok: false }],
    ['malformed', 'Subject="CN=x', { ok: false }],
    ['not PEM', 'Cert="garbage"', { ok: false }],
  ])('%s', (_n, header, expected) => {
    expect(forwardedIdentity(header, cas, new Date())).toMatchObject(expected);
  });

  it('a forwarded Cert must be signed by the client CA and be valid now', async () => {
    const good = await meshCa.issue({ commonName: 'commerce', uris: ['spiffe://m/commerce'], usage: 'client' });
    const foreign = await otherCa.issue({ commonName: 'commerce', usage: 'client' });
    const expired = await meshCa.issue({ commonName: 'commerce', usage: 'client', notBefore: new Date(Date.now() - 2 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    const header = (pem: string) => `Hash=x;Cert="${encodeURIComponent(pem)}";Subject="CN=ignored-when-cert-is-given"`;
    expect(forwardedIdentity(header(good.certPem), cas, new Date())).toEqual({ ok: true, identity: id({ cn: 'commerce', uris: ['spiffe://m/commerce'] }) });
    expect(forwardedIdentity(header(foreign.certPem), cas, new Date())).toMatchObject({ ok: false, problem: expect.stringMatching(/not signed by a CA in the client CA bundle/) });
    expect(forwardedIdentity(header(expired.certPem), cas, new Date())).toMatchObject({ ok: false, problem: expect.stringMatching(/expired at/) });
  });
});

describe('trusted proxies', () => {
  it('IPs and CIDRs, v4 and v6', () => {
    const list = trustedProxyList(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
    expect(list.check('10.2.3.4', 'ipv4')).toBe(true);
    expect(list.check('192.168.1.7', 'ipv4')).toBe(true);
    expect(list.check('192.168.1.8', 'ipv4')).toBe(false);
    expect(list.check('fd12::1', 'ipv6')).toBe(true);
  });
  it.each(['proxy.local', '10.0.0.0/33', '1.2.3.4/8/9', ''])('%j is refused', (entry) => {
    expect(() => trustedProxyList([entry])).toThrow(/trusted proxy must be an IP address or CIDR/);
  });
});

describe('bearer tokens', () => {
  const set = parseTokens('# current and next\n tok-current \n\ntok-next\r\n');
  it('reads one token a line, without comments and blanks', () => {
    expect(set.digests).toHaveLength(2);
    expect(tokenAccepted('tok-current', set)).toBe(true);
    expect(tokenAccepted('tok-next', set)).toBe(true);
    expect(tokenAccepted('tok-curren', set)).toBe(false);
    expect(tokenAccepted('# current and next', set)).toBe(false);
    expect(tokenAccepted('', parseTokens(''))).toBe(false);
  });
  it.each([
    ['missing', undefined, 401, 'Bearer realm="event-mesh"'],
    ['not bearer', 'Basic dXNlcjpwdw==', 401, 'Bearer realm="event-mesh", error="invalid_request"'],
    ['wrong', 'Bearer nope', 401, 'Bearer realm="event-mesh", error="invalid_token"'],
    ['right', 'Bearer tok-next', 0, undefined],
    ['right, lower-case scheme', 'bearer tok-current', 0, undefined],
  ])('%s', (_n, header, status, challenge) => {
    const d = decideToken(header, set, 'commerce');
    if (status === 0) {
      expect(d.allow).toBe(true);
    } else {
      expect(d).toMatchObject({ allow: false, status, reason: 'unauthenticated', headers: { 'www-authenticate': challenge } });
      expect(!d.allow && d.body.expected).toBe('a bearer token of application "commerce"');
      // A refusal never echoes the token back.
      expect(JSON.stringify(d)).not.toContain('nope');
    }
  });
});

describe('webhook handshake', () => {
  it.each([
    ['allowed origin', { 'webhook-request-origin': 'eventemitter.example.com' }, ['*'], 200, { 'webhook-allowed-origin': 'eventemitter.example.com', 'webhook-allowed-rate': '*' }],
    ['listed origin', { 'webhook-request-origin': 'A.example' }, ['a.example', 'b.example'], 200, { 'webhook-allowed-origin': 'A.example' }],
    ['unlisted origin', { 'webhook-request-origin': 'c.example' }, ['a.example'], 403, { allow: 'POST, OPTIONS' }],
    ['plain OPTIONS', {}, ['*'], 204, { allow: 'POST, OPTIONS' }],
  ])('%s', (_n, headers, allowed, status, expectedHeaders) => {
    const a = webhookHandshake(headers, allowed);
    expect(a.status).toBe(status);
    expect(a.headers).toMatchObject(expectedHeaders);
    if (status === 403) expect(a.body).toMatchObject({ error: 'origin_not_allowed', message: expect.stringContaining('c.example') });
    if (status !== 200) expect(a.headers['webhook-allowed-origin']).toBeUndefined();
  });
});
