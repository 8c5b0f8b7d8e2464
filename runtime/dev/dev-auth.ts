/**
 * `event-mesh dev --auth mtls`: a throwaway CA, a serving certificate for 127.0.0.1 and
 * localhost, and one client certificate per application, written to a fresh temp dir, and
 * the adapter `auth` option and curl line for each application. Does I/O (writes the
 * temp dir; remove() deletes it). With --auth none it only says that authentication is off.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AdapterAuth } from '../adapter';

export interface DevAuth {
  /** The adapter option of an application (with mtls, issues its client certificate on first use). */
  authFor(application: string): Promise<AdapterAuth>;
  /** The line printed for an application whose adapter listens on `url` (`http(s)://host:port`). */
  lineFor(application: string, url: string): string;
  /** Lines printed once (the warning that authentication is off, or where the certificates are). */
  readonly notes: readonly string[];
  remove(): void;
}

export const AUTH_OFF_WARNING = 'warning: authentication is off (--auth none): anyone who can reach the adapter ports can send events as any application; try --auth mtls';

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** A sample structured CloudEvent for the printed curl line. */
function sampleEvent(application: string): string {
  return JSON.stringify({ specversion: '1.0', id: 'dev-1', source: application, type: 'sample.event', data: { hello: 'world' } });
}

export async function prepareDevAuth(mode: 'none' | 'mtls'): Promise<DevAuth> {
  if (mode === 'none') {
    return {
      authFor: async () => ({ mode: 'none' }),
      lineFor: (app, url) => `application ${app}: ${url}/events`,
      notes: [AUTH_OFF_WARNING],
      remove: () => undefined,
    };
  }
  // Loaded only here: plain `dev` never pulls in the certificate library.
  const { createThrowawayCa } = await import('../http/throwaway-ca');
  const ca = await createThrowawayCa('event-mesh dev CA');
  const server = await ca.issue({ commonName: 'localhost', dnsNames: ['localhost'], ips: ['127.0.0.1', '::1'], usage: 'server' });
  const dir = mkdtempSync(path.join(tmpdir(), 'event-mesh-dev-certs-'));
  const write = (name: string, text: string, secret = false) => {
    const file = path.join(dir, name);
    writeFileSync(file, text, { mode: secret ? 0o600 : 0o644 });
    return file;
  };
  const caFile = write('ca.crt', ca.certPem);
  const certFile = write('server.crt', server.certPem);
  const keyFile = write('server.key', server.keyPem, true);
  const clients = new Map<string, { cert: string; key: string }>();
  return {
    authFor: async (app) => {
      if (!clients.has(app)) {
        const c = await ca.issue({ commonName: app, usage: 'client' });
        clients.set(app, { cert: write(`${app}.crt`, c.certPem), key: write(`${app}.key`, c.keyPem, true) });
      }
      return { mode: 'mtls', certFile, keyFile, clientCaFile: caFile };
    },
    lineFor: (app, url) => {
      const c = clients.get(app)!;
      return `application ${app}: curl --cacert ${shellQuote(caFile)} --cert ${shellQuote(c.cert)} --key ${shellQuote(c.key)} ${url}/events ` +
        `-H 'content-type: application/cloudevents+json' -d ${shellQuote(sampleEvent(app))}`;
    },
    notes: [`mutual TLS: throwaway CA and certificates in ${dir} (deleted on exit); each application's line below works as is`],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
