/**
 * A real HTTPS (or HTTP) client for the adapter auth tests: one request on a fresh
 * connection (no keep-alive, so every request does its own TLS handshake), presenting the
 * given client certificate. Resolves with the answer; rejects when the connection or the
 * handshake fails.
 */
import http from 'node:http';
import https from 'node:https';

export interface ClientTls {
  /** CA that signed the server certificate. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  json(): Record<string, unknown>;
}

export function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; tls?: ClientTls; timeoutMs?: number } = {}): Promise<Answer> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(u, {
      method: options.method ?? 'POST',
      headers: { ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}), ...options.headers },
      agent: false,
      ...(u.protocol === 'https:' ? { ca: options.tls?.ca, cert: options.tls?.cert, key: options.tls?.key, servername: 'localhost' } : {}),
      timeout: options.timeoutMs ?? 15_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A binary-mode CloudEvent request (the adapter sets `source` itself). */
export function binaryEvent(id: string, type = 'order.created'): { headers: Record<string, string>; body: string } {
  return {
    headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/client', 'ce-type': type, 'content-type': 'application/json' },
    body: JSON.stringify({ id }),
  };
}
