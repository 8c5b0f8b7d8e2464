/**
 * The READY / REASON view of a reconcile (pure): one row per HTTPSource, Broker, Trigger and
 * Subscription with a status, laid out like `kubectl get`, and the one-line summary dev
 * prints on every change.
 */
import type { DesiredState } from '../controller/reconcile-all';

export const STATUS_KINDS = ['HTTPSource', 'Broker', 'Trigger', 'Subscription'] as const;

export interface StatusRow {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** True, False or Unknown (the Ready condition); "" without one. */
  readonly ready: string;
  readonly reason: string;
  readonly message: string;
}

interface ReadyCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

export function statusRows(desired: Pick<DesiredState, 'status'>): StatusRow[] {
  const rows: StatusRow[] = [];
  for (const s of desired.status) {
    const order = (STATUS_KINDS as readonly string[]).indexOf(s.ref.kind);
    if (order < 0) continue;
    const ready = ((s.status.conditions ?? []) as ReadyCondition[]).find((c) => c.type === 'Ready');
    rows.push({ kind: s.ref.kind, namespace: s.ref.namespace ?? '', name: s.ref.name, ready: ready?.status ?? '', reason: ready?.reason ?? '', message: ready?.message ?? '' });
  }
  const rank = (k: string) => (STATUS_KINDS as readonly string[]).indexOf(k);
  return rows.sort((a, b) => rank(a.kind) - rank(b.kind) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** Columns padded to their widest cell, two spaces apart, as kubectl prints them. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** `event-mesh status`: KIND NAMESPACE NAME READY REASON (MESSAGE with wide). */
export function statusTable(rows: readonly StatusRow[], wide = false): string[] {
  const header = ['KIND', 'NAMESPACE', 'NAME', 'READY', 'REASON', ...(wide ? ['MESSAGE'] : [])];
  return formatTable(header, rows.map((r) => [r.kind, r.namespace, r.name, r.ready || 'Unknown', r.reason, ...(wide ? [r.message] : [])]));
}

/** dev's line after every change: counts, then each object that is not ready and why. */
export function statusSummary(rows: readonly StatusRow[]): string[] {
  const notReady = rows.filter((r) => r.ready !== 'True');
  const counts = STATUS_KINDS.map((k) => [k, rows.filter((r) => r.kind === k).length] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}${n === 1 ? '' : 's'}`);
  const head = `status: ${counts.join(', ') || 'nothing to report'}; ${notReady.length === 0 ? 'all ready' : `${notReady.length} not ready`}`;
  return [head, ...notReady.map((r) => `  ${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}: ${r.reason || r.ready || 'Unknown'}${r.message ? ` (${r.message})` : ''}`)];
}
