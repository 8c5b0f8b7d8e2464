/**
 * A stand-in Kubernetes API server for tests (I/O: real HTTP on 127.0.0.1, a free port).
 * No real API server can run on these machines, so the kube layer is tested against this.
 * It serves, for the core, apps, networking, policy, coordination, rbac, cert-manager, Knative and Kyma
 * groups (more with `defineResource`):
 * - list (with the list's resourceVersion) and watch (`?watch=true&resourceVersion=`:
 *   chunked JSON events, one per line, replayed from the given resourceVersion; a
 *   resourceVersion older than the last `compact()` gets an ERROR event with 410 Gone, as
 *   the real watch cache answers, so the client must list again);
 * - get, create (POST), update (PUT, optimistic concurrency on resourceVersion), delete
 *   (then garbage collection of dependents whose owners are all gone, and of a deleted
 *   Namespace's objects), PATCH as server-side apply (application/apply-patch+yaml: merge,
 *   per-field-manager ownership, fields a manager stops applying are removed, conflicts
 *   without force) and as merge patch;
 * - the status subresource (GET/PUT/PATCH `/status`): spec writes leave status alone and
 *   status writes leave the rest alone; generation moves only when the spec changes; a
 *   write that changes nothing changes no resourceVersion;
 * - served versions with conversion None: an object stored once, served under each.
 * Every request is recorded as an RBAC (verb, group, resource) for RBAC tests.
 */
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';

export interface ResourceType {
  readonly group: string;
  /** Served versions; the first is the storage version. */
  readonly versions: readonly string[];
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** @default true */
  readonly statusSubresource?: boolean;
}

const rt = (group: string, versions: string[], kind: string, plural: string, namespaced = true, statusSubresource = true): ResourceType => ({ group, versions, kind, plural, namespaced, statusSubresource });

export const DEFAULT_RESOURCES: readonly ResourceType[] = [
  rt('', ['v1'], 'Namespace', 'namespaces', false),
  rt('', ['v1'], 'Service', 'services'),
  rt('', ['v1'], 'ServiceAccount', 'serviceaccounts', true, false),
  rt('', ['v1'], 'ConfigMap', 'configmaps', true, false),
  rt('', ['v1'], 'Secret', 'secrets', true, false),
  rt('', ['v1'], 'Pod', 'pods'),
  rt('apps', ['v1'], 'Deployment', 'deployments'),
  rt('networking.k8s.io', ['v1'], 'NetworkPolicy', 'networkpolicies', true, false),
  rt('policy', ['v1'], 'PodDisruptionBudget', 'poddisruptionbudgets'),
  // cert-manager, as installed for the adapters' certificates.
  rt('cert-manager.io', ['v1'], 'Certificate', 'certificates'),
  rt('cert-manager.io', ['v1'], 'Issuer', 'issuers'),
  rt('coordination.k8s.io', ['v1'], 'Lease', 'leases', true, false),
  rt('rbac.authorization.k8s.io', ['v1'], 'Role', 'roles', true, false),
  rt('rbac.authorization.k8s.io', ['v1'], 'RoleBinding', 'rolebindings', true, false),
  rt('rbac.authorization.k8s.io', ['v1'], 'ClusterRole', 'clusterroles', false, false),
  rt('rbac.authorization.k8s.io', ['v1'], 'ClusterRoleBinding', 'clusterrolebindings', false, false),
  rt('eventing.knative.dev', ['v1', 'v1beta1', 'v1alpha1'], 'Broker', 'brokers'),
  rt('eventing.knative.dev', ['v1', 'v1beta1', 'v1alpha1'], 'Trigger', 'triggers'),
  rt('messaging.knative.dev', ['v1'], 'Subscription', 'subscriptions'),
  rt('messaging.knative.dev', ['v1'], 'Channel', 'channels'),
  rt('messaging.knative.dev', ['v1'], 'InMemoryChannel', 'inmemorychannels'),
  rt('messaging.knative.dev', ['v1alpha1'], 'NatsJetStreamChannel', 'natsjetstreamchannels'),
  rt('messaging.knative.dev', ['v1beta1'], 'KafkaChannel', 'kafkachannels'),
  rt('sources.kyma-project.io', ['v1alpha1'], 'HTTPSource', 'httpsources'),
  rt('applicationconnector.kyma-project.io', ['v1alpha1'], 'Application', 'applications', false),
  rt('applicationconnector.kyma-project.io', ['v1alpha1'], 'ApplicationMapping', 'applicationmappings'),
];

export interface RecordedRequest {
  readonly verb: string;
  readonly group: string;
  /** `plural` or `plural/status`. */
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
  /** The Authorization header it carried (the stand-in checks none). */
  readonly authorization?: string;
}

type Json = Record<string, unknown>;
interface Stored {
  obj: Json;
  /** Apply managers -> the leaf paths they own. */
  applied: Map<string, Set<string>>;
  /** Every manager that wrote it, with how and where. */
  managers: Map<string, { operation: 'Apply' | 'Update'; subresource?: string }>;
}
interface LoggedEvent {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly key: string;
  readonly namespace?: string;
  readonly obj: Json;
}
interface Watcher {
  readonly key: string;
  readonly version: string;
  readonly namespace?: string;
  readonly selector?: string;
  readonly res: ServerResponse;
}

export interface KubeApiServerHandle {
  readonly url: string;
  readonly port: number;
  /** Every request so far, as RBAC verbs. */
  readonly requests: RecordedRequest[];
  /** Add a kind (e.g. a CRD of a test). */
  defineResource(type: ResourceType): void;
  /** The stored object (storage version), or undefined. */
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Json | undefined;
  /** Every stored object of a kind. */
  list(apiVersion: string, kind: string): Json[];
  /** Field managers of an object, as metadata.managedFields lists them. */
  fieldManagers(apiVersion: string, kind: string, namespace: string | undefined, name: string): string[];
  /** The current resourceVersion. */
  resourceVersion(): number;
  /** Forget the event history: a watch from a resourceVersion older than the current one gets 410 Gone; open watches end. */
  compact(): void;
  /** End every open watch (a dropped connection: clients reconnect). */
  dropWatches(): void;
  /** While blocked, watch requests wait unanswered; unblocking answers them. */
  blockWatches(blocked: boolean): void;
  /** Open watch connections right now. */
  openWatches(): number;
  /**
   * Clients cut off while `during` runs: open watches end and new ones wait; with `compact`
   * the history of that time is then forgotten, so reconnecting clients get 410 Gone.
   */
  disconnected(during: () => Promise<void>, options?: { compact?: boolean }): Promise<void>;
  /** While on, every request is answered 503 (an API server that is down or overloaded). */
  failRequests(on: boolean): void;
  close(): Promise<void>;
}

const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const SEP = '\u0000';

/** Leaf paths of a value (objects recurse; arrays and scalars are leaves). */
function leafPaths(value: unknown, prefix: string, out: Set<string>): Set<string> {
  if (isObj(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) leafPaths(v, prefix ? `${prefix}${SEP}${k}` : k, out);
  } else if (prefix) {
    out.add(prefix);
  }
  return out;
}

function getPath(obj: Json, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split(SEP)) {
    if (!isObj(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function deletePath(obj: Json, path: string): void {
  const keys = path.split(SEP);
  const parents: Json[] = [];
  let cur: Json = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isObj(cur[k])) return;
    parents.push(cur);
    cur = cur[k] as Json;
  }
  delete cur[keys[keys.length - 1]];
  // Prune maps left empty by the removal.
  for (let i = keys.length - 2; i >= 0; i--) {
    const parent = parents[i];
    const child = parent[keys[i]];
    if (isObj(child) && Object.keys(child).length === 0) delete parent[keys[i]];
    else break;
  }
}

function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isObj(base) || !isObj(patch)) return clone(patch);
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = deepMerge(base[k], v);
  return out;
}

/** RFC 7386 JSON merge patch. */
function mergePatch(base: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Json = isObj(base) ? { ...base } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** What server-side apply manages of an applied configuration: labels, annotations, owners, finalizers and the rest. */
function applicable(obj: Json, part: 'main' | 'status', type: ResourceType): Json {
  if (part === 'status') return isObj(obj.status) ? { status: obj.status } : {};
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && type.statusSubresource !== false) continue;
    if (k === 'metadata') {
      const m = isObj(v) ? v : {};
      const meta: Json = {};
      for (const f of ['labels', 'annotations', 'ownerReferences', 'finalizers']) if (m[f] !== undefined) meta[f] = m[f];
      if (Object.keys(meta).length > 0) out.metadata = meta;
      continue;
    }
    out[k] = v;
  }
  return out;
}

const specOf = (o: Json) => {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return JSON.stringify(rest);
};
const comparable = (o: Json) => {
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = (o.metadata ?? {}) as Json;
  return JSON.stringify({ ...o, metadata: meta });
};

function matchesSelector(obj: Json, selector?: string): boolean {
  if (!selector) return true;
  const labels = ((obj.metadata as Json)?.labels ?? {}) as Record<string, string>;
  return selector.split(',').every((term) => {
    const t = term.trim();
    if (!t) return true;
    const ne = t.split('!=');
    if (ne.length === 2) return labels[ne[0]] !== ne[1];
    const eq = t.split(/==?/);
    if (eq.length === 2) return labels[eq[0]] === eq[1];
    if (t.startsWith('!')) return !(t.slice(1) in labels);
    return t in labels;
  });
}

export interface KubeApiServerOptions {
  /** Kinds beyond DEFAULT_RESOURCES. */
  readonly resources?: readonly ResourceType[];
  /**
   * How a watch from a compacted resourceVersion is refused: an ERROR event with a 410
   * Status in a 200 stream (the watch cache's way), or a plain HTTP 410. @default "event"
   */
  readonly goneAs?: 'event' | 'status';
}

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServerHandle> {
  const types = new Map<string, ResourceType>();
  const defineResource = (t: ResourceType) => void types.set(`${t.group}|${t.plural}`, t);
  for (const t of [...DEFAULT_RESOURCES, ...(options.resources ?? [])]) defineResource(t);

  const store = new Map<string, Map<string, Stored>>(); // group|plural -> ns/name -> object
  const log: LoggedEvent[] = [];
  let rv = 1000;
  let compactedBelow = 0;
  const watchers = new Set<Watcher>();
  const requests: RecordedRequest[] = [];
  let blocked = false;
  const pending: (() => void)[] = [];

  const typeKey = (t: ResourceType) => `${t.group}|${t.plural}`;
  const objKey = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;
  const bucket = (t: ResourceType) => {
    let b = store.get(typeKey(t));
    if (!b) store.set(typeKey(t), (b = new Map()));
    return b;
  };
  const apiVersionOf = (t: ResourceType, version: string) => (t.group ? `${t.group}/${version}` : version);
  const typeByApiVersion = (apiVersion: string, kind: string) => {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    return [...types.values()].find((t) => t.group === group && t.kind === kind && t.versions.includes(version));
  };
  const present = (t: ResourceType, o: Json, version: string, managers?: Stored['managers']): Json => {
    const out = clone(o);
    out.apiVersion = apiVersionOf(t, version);
    out.kind = t.kind;
    if (managers) {
      (out.metadata as Json).managedFields = [...managers].map(([manager, m]) => ({ manager, operation: m.operation, apiVersion: out.apiVersion, ...(m.subresource ? { subresource: m.subresource } : {}) }));
    }
    return out;
  };

  const emit = (t: ResourceType, type: LoggedEvent['type'], obj: Json) => {
    const ns = (obj.metadata as Json).namespace as string | undefined;
    const ev: LoggedEvent = { rv, type, key: typeKey(t), namespace: ns, obj: clone(obj) };
    log.push(ev);
    for (const w of watchers) if (w.key === ev.key) sendEvent(w, t, ev);
  };
  const sendEvent = (w: Watcher, t: ResourceType, ev: LoggedEvent) => {
    if (w.namespace && ev.namespace !== w.namespace) return;
    if (!matchesSelector(ev.obj, w.selector)) return;
    w.res.write(`${JSON.stringify({ type: ev.type, object: present(t, ev.obj, w.version) })}\n`);
  };

  /** Store `next` (a full object) for `t`: bumps resourceVersion and generation, emits; a no-op writes nothing. */
  const write = (t: ResourceType, existing: Stored | undefined, next: Json, record?: Stored): Json => {
    const meta = next.metadata as Json;
    const key = objKey(meta.namespace as string | undefined, meta.name as string);
    if (existing && comparable(existing.obj) === comparable(next)) return existing.obj;
    rv++;
    meta.resourceVersion = String(rv);
    if (existing) meta.generation = ((existing.obj.metadata as Json).generation as number) + (specOf(existing.obj) === specOf(next) ? 0 : 1);
    const stored: Stored = existing ?? record ?? { obj: next, applied: new Map(), managers: new Map() };
    stored.obj = next;
    bucket(t).set(key, stored);
    emit(t, existing ? 'MODIFIED' : 'ADDED', next);
    return next;
  };

  const newObject = (t: ResourceType, body: Json, ns: string | undefined, name: string): Json => {
    const meta = isObj(body.metadata) ? clone(body.metadata) : {};
    const obj: Json = { ...clone(body), apiVersion: apiVersionOf(t, t.versions[0]), kind: t.kind };
    if (t.statusSubresource !== false) delete obj.status;
    obj.metadata = { ...meta, name, ...(ns ? { namespace: ns } : {}), uid: randomUUID(), generation: 1, creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    delete (obj.metadata as Json).resourceVersion;
    delete (obj.metadata as Json).managedFields;
    return obj;
  };

  /** Update-style write by `manager`: it takes over the fields it changed from the appliers. */
  const takeOver = (stored: Stored, before: Json, after: Json, manager: string, subresource?: string) => {
    const b = leafPaths(before, '', new Set()), a = leafPaths(after, '', new Set());
    const changed = [...new Set([...a, ...b])].filter((p) => JSON.stringify(getPath(before, p)) !== JSON.stringify(getPath(after, p)));
    for (const [m, owned] of stored.applied) if (m !== manager) for (const p of changed) owned.delete(p);
    if (changed.length > 0 || !stored.managers.has(manager)) stored.managers.set(manager, { operation: 'Update', ...(subresource ? { subresource } : {}) });
  };

  const deleteObject = (t: ResourceType, stored: Stored) => {
    const meta = stored.obj.metadata as Json;
    bucket(t).delete(objKey(meta.namespace as string | undefined, meta.name as string));
    rv++;
    const gone = clone(stored.obj);
    (gone.metadata as Json).resourceVersion = String(rv);
    emit(t, 'DELETED', gone);
    return gone;
  };

  /** The garbage collector and the namespace controller: dependents whose owners are all gone. */
  const collectGarbage = () => {
    const uids = new Set<string>();
    for (const b of store.values()) for (const s of b.values()) uids.add((s.obj.metadata as Json).uid as string);
    const namespaces = new Set([...(store.get('|namespaces')?.values() ?? [])].map((s) => (s.obj.metadata as Json).name as string));
    let removed = false;
    for (const t of types.values()) {
      for (const s of [...(store.get(typeKey(t))?.values() ?? [])]) {
        const meta = s.obj.metadata as Json;
        const owners = (meta.ownerReferences ?? []) as { uid?: string }[];
        const orphanedByOwners = owners.length > 0 && owners.every((o) => !o.uid || !uids.has(o.uid));
        const namespaceGone = t.namespaced && namespaceDeleted.has(meta.namespace as string) && !namespaces.has(meta.namespace as string);
        if (orphanedByOwners || namespaceGone) {
          deleteObject(t, s);
          removed = true;
        }
      }
    }
    if (removed) collectGarbage();
  };
  const namespaceDeleted = new Set<string>();

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 3 * 1024 * 1024) {
          reject(new ApiError(413, 'RequestEntityTooLarge', 'request body too large'));
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const parseJsonBody = (text: string, yamlToo: boolean): Json => {
    let v: unknown;
    try {
      v = yamlToo ? parseYaml(text) : JSON.parse(text);
    } catch (err) {
      throw new ApiError(400, 'BadRequest', `the body is not ${yamlToo ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
    }
    if (!isObj(v)) throw new ApiError(400, 'BadRequest', 'the body must be an object');
    return v;
  };

  const serveWatch = (res: ServerResponse, t: ResourceType, version: string, ns: string | undefined, q: URLSearchParams) => {
    const from = q.get('resourceVersion');
    const gone = !!from && from !== '0' && Number(from) < compactedBelow;
    if (gone && options.goneAs === 'status') throw new ApiError(410, 'Expired', `too old resource version: ${from} (${compactedBelow})`);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (gone) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${compactedBelow})`) })}\n`);
      return;
    }
    const w: Watcher = { key: typeKey(t), version, namespace: ns, selector: q.get('labelSelector') ?? undefined, res };
    if (!from || from === '0') {
      for (const s of bucket(t).values()) sendEvent(w, t, { rv, type: 'ADDED', key: w.key, namespace: (s.obj.metadata as Json).namespace as string | undefined, obj: s.obj });
    } else {
      for (const ev of log) if (ev.key === w.key && ev.rv > Number(from)) sendEvent(w, t, ev);
    }
    watchers.add(w);
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      if (timer) clearTimeout(timer);
      watchers.delete(w);
    });
  };

  let failing = false;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (failing) {
      req.resume();
      throw new ApiError(503, 'ServiceUnavailable', 'the stand-in is failing requests (failRequests)');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string, version: string, rest: string[];
    if (parts[0] === 'api' && parts.length >= 2) [group, version, rest] = ['', parts[1], parts.slice(2)];
    else if (parts[0] === 'apis' && parts.length >= 3) [group, version, rest] = [parts[1], parts[2], parts.slice(3)];
    else throw new ApiError(404, 'NotFound', `no such path ${url.pathname}`);
    let ns: string | undefined, plural: string, name: string | undefined, sub: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) [ns, plural, name, sub] = [rest[1], rest[2], rest[3], rest[4]];
    else [plural, name, sub] = [rest[0], rest[1], rest[2]];
    const t = types.get(`${group}|${plural}`);
    if (!t || !t.versions.includes(version)) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${group || 'core'}/${version} ${plural})`);
    if (ns && !t.namespaced) throw new ApiError(404, 'NotFound', `${plural} is not namespaced`);
    if (sub && (sub !== 'status' || t.statusSubresource === false)) throw new ApiError(404, 'NotFound', `${plural} has no subresource ${sub}`);
    const method = req.method ?? 'GET';
    const watch = method === 'GET' && !name && ['true', '1'].includes(url.searchParams.get('watch') ?? '');
    const verb = ({ GET: name ? 'get' : watch ? 'watch' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name ? 'delete' : 'deletecollection' } as Record<string, string>)[method];
    if (!verb) throw new ApiError(405, 'MethodNotAllowed', `method ${method} is not allowed`);
    const authorization = req.headers.authorization;
    requests.push({ verb, group, resource: sub ? `${plural}/${sub}` : plural, ...(ns ? { namespace: ns } : {}), ...(name ? { name } : {}), ...(authorization ? { authorization } : {}) });
    if (t.namespaced && !ns && (name || method === 'POST')) throw new ApiError(404, 'NotFound', `${plural} is namespaced: use /namespaces/<namespace>/${plural}`);

    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const key = name ? objKey(ns, name) : '';
    const existing = name ? bucket(t).get(key) : undefined;
    const manager = url.searchParams.get('fieldManager') ?? undefined;

    if (method === 'GET') {
      if (watch) {
        if (blocked) {
          await new Promise<void>((r) => pending.push(r));
          if (res.destroyed) return;
        }
        return serveWatch(res, t, version, ns, url.searchParams);
      }
      if (name) {
        if (!existing) throw new ApiError(404, 'NotFound', `${plural} "${name}" not found`);
        return send(200, present(t, existing.obj, version, existing.managers));
      }
      const selector = url.searchParams.get('labelSelector') ?? undefined;
      const items = [...bucket(t).values()]
        .filter((s) => (!ns || (s.obj.metadata as Json).namespace === ns) && matchesSelector(s.obj, selector))
        .sort((a, b) => comparable(a.obj).localeCompare(comparable(b.obj)))
        .map((s) => present(t, s.obj, version, s.managers));
      return send(200, { apiVersion: apiVersionOf(t, version), kind: `${t.kind}List`, metadata: { resourceVersion: String(rv) }, items });
    }

    if (method === 'DELETE') {
      if (!existing) throw new ApiError(404, 'NotFound', `${plural} "${name}" not found`);
      const text = await readBody(req);
      const opts = text ? parseJsonBody(text, false) : {};
      const gone = deleteObject(t, existing);
      if (t.kind === 'Namespace' && !t.group) namespaceDeleted.add(name!);
      if (opts.propagationPolicy !== 'Orphan') setImmediate(collectGarbage);
      return send(200, present(t, gone, version));
    }

    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim();
    const body = parseJsonBody(await readBody(req), contentType === 'application/apply-patch+yaml');
    if (body.kind !== undefined && body.kind !== t.kind) throw new ApiError(400, 'BadRequest', `kind ${String(body.kind)} does not match ${t.kind}`);
    const bodyMeta = (isObj(body.metadata) ? body.metadata : {}) as Json;
    if (bodyMeta.namespace !== undefined && ns !== undefined && bodyMeta.namespace !== ns) {
      throw new ApiError(400, 'BadRequest', `metadata.namespace ${String(bodyMeta.namespace)} does not match the namespace ${ns} of the request`);
    }

    if (method === 'POST') {
      const newName = bodyMeta.name as string | undefined;
      if (!newName) throw new ApiError(422, 'Invalid', 'metadata.name: Required value');
      if (bucket(t).has(objKey(ns, newName))) throw new ApiError(409, 'AlreadyExists', `${plural} "${newName}" already exists`);
      const obj = write(t, undefined, newObject(t, body, ns, newName));
      const stored = bucket(t).get(objKey(ns, newName))!;
      stored.managers.set(manager ?? 'unknown', { operation: 'Update' });
      return send(201, present(t, obj, version, stored.managers));
    }

    if (!existing && !(method === 'PATCH' && contentType === 'application/apply-patch+yaml' && !sub)) {
      throw new ApiError(404, 'NotFound', `${plural} "${name}" not found`);
    }
    if (bodyMeta.name !== undefined && bodyMeta.name !== name) throw new ApiError(400, 'BadRequest', `metadata.name ${String(bodyMeta.name)} does not match ${name}`);

    if (method === 'PUT') {
      const want = bodyMeta.resourceVersion;
      const current = existing!.obj;
      if (want !== undefined && want !== (current.metadata as Json).resourceVersion) {
        throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      const before = clone(current);
      let next: Json;
      if (sub) {
        next = { ...clone(current), status: clone(body.status) };
      } else {
        const meta = { ...bodyMeta };
        for (const f of ['uid', 'creationTimestamp', 'generation', 'resourceVersion', 'managedFields']) delete meta[f];
        next = { ...clone(body), apiVersion: current.apiVersion, kind: t.kind, metadata: { ...meta, name, ...(ns ? { namespace: ns } : {}), uid: (current.metadata as Json).uid, creationTimestamp: (current.metadata as Json).creationTimestamp, generation: (current.metadata as Json).generation } };
        if (t.statusSubresource !== false) {
          if (current.status !== undefined) next.status = clone(current.status);
          else delete next.status;
        }
      }
      takeOver(existing!, before, next, manager ?? 'unknown', sub);
      const obj = write(t, existing, next);
      return send(200, present(t, obj, version, existing!.managers));
    }

    // PATCH
    if (contentType === 'application/merge-patch+json' || contentType === 'application/strategic-merge-patch+json') {
      const current = existing!.obj;
      const before = clone(current);
      const patch = clone(body);
      delete patch.apiVersion;
      delete patch.kind;
      if (isObj(patch.metadata)) for (const f of ['name', 'namespace', 'uid', 'creationTimestamp', 'generation', 'resourceVersion', 'managedFields']) delete patch.metadata[f];
      if (sub) for (const k of Object.keys(patch)) if (k !== 'status') delete patch[k];
      if (!sub && t.statusSubresource !== false) delete patch.status;
      const next = mergePatch(current, patch) as Json;
      takeOver(existing!, before, next, manager ?? 'unknown', sub);
      const obj = write(t, existing, next);
      return send(200, present(t, obj, version, existing!.managers));
    }
    if (contentType !== 'application/apply-patch+yaml') throw new ApiError(415, 'UnsupportedMediaType', `unsupported patch type ${contentType}`);
    if (!manager) throw new ApiError(400, 'BadRequest', 'fieldManager is required for apply patch');
    const force = url.searchParams.get('force') === 'true';
    const part = sub ? 'status' : 'main';
    const config = applicable(body, part, t);
    const owned = leafPaths(config, '', new Set());
    const stored = existing ?? { obj: newObject(t, { metadata: { name } }, ns, name!), applied: new Map(), managers: new Map() };
    const current = stored.obj;
    if (!force) {
      const conflicts: string[] = [];
      for (const [m, paths] of stored.applied) {
        if (m === manager) continue;
        for (const p of owned) if (paths.has(p) && JSON.stringify(getPath(current, p)) !== JSON.stringify(getPath(config, p))) conflicts.push(`.${p.split(SEP).join('.')} (${m})`);
      }
      if (conflicts.length > 0) throw new ApiError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict(s): ${conflicts.join(', ')}`);
    }
    const next = deepMerge(current, config) as Json;
    const previous = stored.applied.get(`${manager}|${part}`) ?? new Set<string>();
    for (const p of previous) {
      if (owned.has(p)) continue;
      const elsewhere = [...stored.applied].some(([m, paths]) => m !== `${manager}|${part}` && paths.has(p));
      if (!elsewhere) deletePath(next, p);
    }
    if (force) for (const [m, paths] of stored.applied) if (m !== `${manager}|${part}`) for (const p of owned) paths.delete(p);
    stored.applied.set(`${manager}|${part}`, owned);
    stored.managers.set(manager, { operation: 'Apply', ...(sub ? { subresource: sub } : {}) });
    const obj = write(t, existing, clone(next), stored);
    return send(existing ? 200 : 201, present(t, obj, version, bucket(t).get(key)?.managers ?? stored.managers));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', (err as Error).message);
      if (res.headersSent) return void res.end();
      res.writeHead(e.code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status(e.code, e.reason, e.message)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;

  const find = (apiVersion: string, kind: string) => {
    const t = typeByApiVersion(apiVersion, kind);
    if (!t) throw new Error(`the stand-in API server serves no ${kind} of ${apiVersion}`);
    return t;
  };
  const dropWatches = () => {
    for (const w of [...watchers]) {
      watchers.delete(w);
      w.res.destroy();
    }
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    defineResource,
    get: (apiVersion, kind, namespace, name) => {
      const t = find(apiVersion, kind);
      const s = bucket(t).get(objKey(namespace, name));
      return s ? present(t, s.obj, apiVersion.split('/').pop()!) : undefined;
    },
    list: (apiVersion, kind) => {
      const t = find(apiVersion, kind);
      return [...bucket(t).values()].map((s) => present(t, s.obj, apiVersion.split('/').pop()!));
    },
    fieldManagers: (apiVersion, kind, namespace, name) => [...(bucket(find(apiVersion, kind)).get(objKey(namespace, name))?.managers.keys() ?? [])],
    resourceVersion: () => rv,
    compact: () => {
      compactedBelow = rv; // as etcd compaction at the current revision: older ones are gone
      log.length = 0;
      dropWatches();
    },
    dropWatches,
    blockWatches: (b) => {
      blocked = b;
      if (!b) for (const r of pending.splice(0)) r();
    },
    openWatches: () => watchers.size,
    failRequests: (on) => {
      failing = on;
    },
    disconnected: async (during, opts = {}) => {
      blocked = true;
      dropWatches();
      try {
        await during();
        if (opts.compact) {
          compactedBelow = rv;
          log.length = 0;
        }
      } finally {
        blocked = false;
        for (const r of pending.splice(0)) r();
      }
    },
    close: async () => {
      blocked = false;
      for (const r of pending.splice(0)) r();
      dropWatches();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
