/**
 * Throwaway certificates for the benchmark's mTLS ingest phase: a CA, the adapter's serving
 * certificate (written to a temp dir for the adapter process) and a client certificate
 * naming the application. Does I/O (the temp dir; remove() deletes it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createThrowawayCa } from '../runtime/http/throwaway-ca';

export async function benchCertificates(application = 'bench-tls') {
  const ca = await createThrowawayCa('bench CA');
  const server = await ca.issue({ commonName: 'adapter', dnsNames: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
  const client = await ca.issue({ commonName: application, usage: 'client' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'event-mesh-bench-tls-'));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  return {
    files: { ca: write('ca.crt', ca.certPem), cert: write('tls.crt', server.certPem), key: write('tls.key', server.keyPem) },
    client: { ca: ca.certPem, cert: client.certPem, key: client.keyPem },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
