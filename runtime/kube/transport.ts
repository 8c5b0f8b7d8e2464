/**
 * HTTP to the Kubernetes API server (I/O): one JSON request, or one streamed watch whose
 * chunked body carries one JSON event per line. Where the server is and how to
 * authenticate comes from @kubernetes/client-node's KubeConfig (a kubeconfig file, the
 * default chain, or the in-cluster service account), loaded lazily on the first request;
 * a bare `server` URL (a local API server, tests' stand-in) needs no kubeconfig.
 */
import { existsSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { delimiter } from 'node:path';

export interface TransportOptions {
  /** Path of a kubeconfig file. @default - KUBECONFIG, ~/.kube/config, or in-cluster */
  readonly kubeconfig?: string;
  /** API server URL used as is, without kubeconfig (no credentials). */
  readonly server?: string;
  /** Per-request timeout (not for watches). @default 30000 */
  readonly requestTimeoutMs?: number;
}

interface Connection {
  readonly server: string;
  readonly agent?: http.Agent;
  readonly headers: Record<string, string>;
  readonly tls: https.RequestOptions;
}

/** An answer of the API server that is not 2xx, with its Status reason when it sent one. */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

const CONNECTION_TTL_MS = 60_000;

export class Transport {
  private connection?: { at: number; value: Promise<Connection> };

  constructor(private readonly options: TransportOptions) {}

  /** Server URL and credentials; re-read every minute so rotated tokens are picked up. */
  private connect(): Promise<Connection> {
    const now = Date.now();
    if (this.connection && now - this.connection.at < CONNECTION_TTL_MS) return this.connection.value;
    const value = this.load();
    this.connection = { at: now, value };
    value.catch(() => {
      if (this.connection?.value === value) this.connection = undefined;
    });
    return value;
  }

  private async load(): Promise<Connection> {
    if (this.options.server && !this.options.kubeconfig) {
      return { server: withoutTrailingSlashes(this.options.server), headers: {}, tls: {} };
    }
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    const files = (this.options.kubeconfig ?? '').split(delimiter).filter(Boolean);
    if (files.length === 1) kc.loadFromFile(files[0]);
    else if (files.length > 1) {
      // A KUBECONFIG-style list: merged as kubectl merges it (the first file's current-context wins).
      for (const file of files.filter((f) => existsSync(f))) {
        const one = new k8s.KubeConfig();
        one.loadFromFile(file);
        // The first file that names a cluster, user or context wins.
        const taken = (list: { name: string }[] | undefined) => new Set((list ?? []).map((x) => x.name));
        const [clusters, users, contexts] = [taken(kc.clusters), taken(kc.users), taken(kc.contexts)];
        one.clusters = one.clusters.filter((c) => !clusters.has(c.name));
        one.users = one.users.filter((u) => !users.has(u.name));
        one.contexts = one.contexts.filter((c) => !contexts.has(c.name));
        kc.mergeConfig(one, !!kc.currentContext);
      }
    } else kc.loadFromDefault();
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`no current cluster in the kubeconfig${this.options.kubeconfig ? ` ${this.options.kubeconfig}` : ''}: set current-context`);
    const opts: https.RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    const { agent, headers, ...tls } = opts;
    return {
      server: withoutTrailingSlashes(this.options.server ?? cluster.server),
      agent: agent instanceof http.Agent ? agent : undefined,
      headers: { ...(headers as Record<string, string>) },
      tls,
    };
  }

  private async open(method: string, path: string, headers: Record<string, string>, timeoutMs?: number): Promise<http.ClientRequest> {
    const c = await this.connect();
    const url = new URL(c.server + path);
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method, agent: c.agent, ...c.tls, headers: { accept: 'application/json', ...c.headers, ...headers } });
    if (timeoutMs) req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    return req;
  }

  /** One request with a JSON (or YAML-as-JSON) body; non-2xx rejects with KubeApiError. */
  async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<JsonResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = await this.open(method, path, payload ? { 'content-type': contentType, 'content-length': String(payload.length) } : {}, this.options.requestTimeoutMs ?? 30_000);
    return new Promise<JsonResponse>((resolve, reject) => {
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON: keep the text for the message */
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve({ status, body: parsed });
          reject(apiError(status, method, path, parsed));
        });
      });
      req.end(payload);
    });
  }

  /**
   * A watch: calls `onEvent` with each JSON line of the chunked body until the server ends
   * the stream (resolves) or the connection fails (rejects). A non-2xx answer rejects with
   * KubeApiError (410 Gone when the resourceVersion is too old). `signal` ends it early.
   */
  async stream(path: string, onEvent: (event: unknown) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const req = await this.open('GET', path, {});
    return new Promise<void>((resolve, reject) => {
      const abort = () => {
        req.destroy();
        resolve();
      };
      signal.addEventListener('abort', abort, { once: true });
      const done = (err?: Error) => {
        signal.removeEventListener('abort', abort);
        if (err && !signal.aborted) reject(err);
        else resolve();
      };
      req.on('error', (err) => done(err));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              parsed = undefined;
            }
            done(apiError(status, 'GET', path, parsed));
          });
          res.on('error', (err) => done(err));
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line) continue;
            let event: unknown;
            try {
              event = JSON.parse(line);
            } catch {
              req.destroy();
              return done(new Error(`watch ${path}: a line that is not JSON: ${line.slice(0, 80)}`));
            }
            onEvent(event);
          }
        });
        res.on('error', (err) => done(err));
        res.on('aborted', () => done(new Error(`watch ${path}: connection closed mid-stream`)));
        res.on('end', () => done());
      });
      req.end();
    });
  }
}

function apiError(status: number, method: string, path: string, body: unknown): KubeApiError {
  const s = body && typeof body === 'object' ? (body as { reason?: string; message?: string }) : {};
  const text = typeof body === 'string' ? body.slice(0, 200) : '';
  return new KubeApiError(status, s.reason ?? '', `${method} ${path}: ${status}${s.reason ? ` ${s.reason}` : ''}: ${s.message ?? text}`, body);
}

/** `url` without trailing slashes (a loop: an unanchored `/\/+$/` is quadratic on "////…x"). */
function withoutTrailingSlashes(url: string): string {
  let end = url.length;
  while (end > 0 && url.charCodeAt(end - 1) === 0x2f) end--;
  return url.slice(0, end);
}
