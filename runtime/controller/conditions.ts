/**
 * Knative-style condition sets (pure). A set names the conditions its `Ready` depends on;
 * helpers mark one true, false (reason and message) or unknown, and `Ready` is always derived,
 * never set directly: False when any dependent is False, Unknown when any is Unknown, else True.
 * `lastTransitionTime` moves only when a condition's status flips; the clock is injected.
 */

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  /** PascalCase, machine-readable; absent when True. */
  readonly reason?: string;
  readonly message?: string;
  /** RFC 3339, second precision (as the API server stores it). */
  readonly lastTransitionTime: string;
}

export const READY = 'Ready';

/** RFC 3339 without milliseconds, as Kubernetes serializes metav1.Time. */
export function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * A set of conditions being computed for one object. Start from the object's current
 * conditions (so unchanged ones keep their `lastTransitionTime`), mark each dependent,
 * then read `conditions()`; Ready is derived there.
 */
export class ConditionSet {
  private readonly marked = new Map<string, { status: ConditionStatus; reason?: string; message?: string }>();
  private readonly previous: Map<string, Condition>;

  constructor(
    /** The conditions Ready depends on, in the order they are written. */
    public readonly dependents: readonly string[],
    previous: unknown,
    private readonly now: () => Date,
  ) {
    this.previous = new Map(readConditions(previous).map((c) => [c.type, c]));
  }

  markTrue(type: string): this {
    return this.mark(type, 'True');
  }

  markFalse(type: string, reason: string, message: string): this {
    return this.mark(type, 'False', reason, message);
  }

  markUnknown(type: string, reason: string, message: string): this {
    return this.mark(type, 'Unknown', reason, message);
  }

  /** Copy a child's Ready (or any) condition into one of ours. */
  propagate(type: string, child: Condition | undefined, missing: { reason: string; message: string }): this {
    if (!child) return this.markUnknown(type, missing.reason, missing.message);
    if (child.status === 'True') return this.markTrue(type);
    return this.mark(type, child.status, child.reason ?? missing.reason, child.message ?? missing.message);
  }

  /** Ready as derived from the dependents: the first False, else the first Unknown, else True. */
  ready(): { status: ConditionStatus; reason?: string; message?: string } {
    const states = this.dependents.map((t) => ({ type: t, ...(this.marked.get(t) ?? { status: 'Unknown' as const, reason: 'NotReconciled', message: `${t} was not evaluated` }) }));
    const failed = states.find((s) => s.status === 'False') ?? states.find((s) => s.status === 'Unknown');
    return failed ? { status: failed.status, reason: failed.reason, message: failed.message } : { status: 'True' };
  }

  isReady(): boolean {
    return this.ready().status === 'True';
  }

  /** Ready first, then the dependents, each with a lastTransitionTime that moves only on a flip. */
  conditions(): Condition[] {
    const out: Condition[] = [];
    const emit = (type: string, state: { status: ConditionStatus; reason?: string; message?: string }) => {
      const before = this.previous.get(type);
      const lastTransitionTime = before && before.status === state.status && before.lastTransitionTime ? before.lastTransitionTime : rfc3339(this.now());
      out.push({
        type,
        status: state.status,
        ...(state.reason !== undefined ? { reason: state.reason } : {}),
        ...(state.message !== undefined ? { message: state.message } : {}),
        lastTransitionTime,
      });
    };
    emit(READY, this.ready());
    for (const type of this.dependents) emit(type, this.marked.get(type) ?? { status: 'Unknown', reason: 'NotReconciled', message: `${type} was not evaluated` });
    return out;
  }

  private mark(type: string, status: ConditionStatus, reason?: string, message?: string): this {
    if (!this.dependents.includes(type)) throw new Error(`condition ${type} is not in this set (${this.dependents.join(', ')})`);
    this.marked.set(type, { status, ...(status === 'True' ? {} : { reason, message }) });
    return this;
  }
}

/** The well-formed conditions in a status (anything else is dropped). */
export function readConditions(status: unknown): Condition[] {
  const list = (status as { conditions?: unknown } | undefined)?.conditions;
  if (!Array.isArray(list)) return [];
  return list.filter((c): c is Condition =>
    !!c && typeof c === 'object' && typeof (c as Condition).type === 'string' && ['True', 'False', 'Unknown'].includes((c as Condition).status));
}

/** One condition of an object's status, by type. */
export function conditionOf(obj: { status?: unknown } | undefined, type: string = READY): Condition | undefined {
  return readConditions(obj?.status).find((c) => c.type === type);
}
