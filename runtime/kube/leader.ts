/**
 * Leader election on a coordination.k8s.io/v1 Lease (I/O), as client-go's leaderelection
 * does it: a candidate takes the Lease when it is free, released, or not renewed for the
 * holder's leaseDurationSeconds as measured on the candidate's own clock (so clock skew
 * between replicas does not matter); the holder renews every retry period and steps down
 * when it could not renew within the renew deadline, which is shorter than the lease
 * duration, so the old leader has stopped before anyone else may start. Updates carry the
 * resourceVersion read, so two candidates racing for the Lease cannot both win.
 */
import type { ManifestObject } from '../dispatcher/routing/manifests';
import type { KubeClient } from './client';
import { KINDS } from './kinds';

export interface LeaderElectionOptions {
  readonly namespace: string;
  /** The Lease name. */
  readonly name: string;
  /** This replica (pod name). */
  readonly identity: string;
  readonly leaseDurationMs: number;
  /** Give up leadership when a renewal has not succeeded for this long. @default 2/3 of leaseDurationMs */
  readonly renewDeadlineMs?: number;
  /** How often to try to acquire or renew. @default leaseDurationMs / 5 */
  readonly retryPeriodMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  /** Told about failed Lease reads and writes (they are retried). */
  readonly onError?: (err: Error) => void;
}

export interface LeaderElection {
  /** Stop campaigning; a leader releases the Lease (so another replica takes over at once) and is told it stopped. */
  stop(): Promise<void>;
  isLeader(): boolean;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '000Z');

export function runLeaderElection(client: KubeClient, opts: LeaderElectionOptions): LeaderElection {
  const durationS = Math.max(1, Math.ceil(opts.leaseDurationMs / 1000));
  const renewDeadlineMs = opts.renewDeadlineMs ?? Math.floor((opts.leaseDurationMs * 2) / 3);
  const retryMs = opts.retryPeriodMs ?? Math.max(50, Math.floor(opts.leaseDurationMs / 5));
  const ref = { apiVersion: KINDS.lease.apiVersion, kind: KINDS.lease.kind, namespace: opts.namespace, name: opts.name };
  let leading = false;
  let stopped = false;
  let lastRenew = 0;
  let observed = '';
  let observedAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const stepDown = () => {
    if (!leading) return;
    leading = false;
    opts.onStoppedLeading();
  };

  const spec = (before: LeaseSpec | undefined, now: number): LeaseSpec => ({
    holderIdentity: opts.identity,
    leaseDurationSeconds: durationS,
    acquireTime: before?.holderIdentity === opts.identity && before.acquireTime ? before.acquireTime : microTime(now),
    renewTime: microTime(now),
    leaseTransitions: (before?.leaseTransitions ?? 0) + (before && before.holderIdentity !== opts.identity ? 1 : 0),
  });

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const now = Date.now();
    const lease = await client.get(KINDS.lease, ref);
    if (!lease) {
      await client.create(KINDS.lease, { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace }, spec: spec(undefined, now) } as ManifestObject);
      return true;
    }
    const current = (lease.spec ?? {}) as LeaseSpec;
    const seen = `${current.holderIdentity ?? ''}|${current.renewTime ?? ''}|${(lease.metadata as { resourceVersion?: string })?.resourceVersion ?? ''}`;
    if (seen !== observed) {
      observed = seen;
      observedAt = now;
    }
    const heldByOther = !!current.holderIdentity && current.holderIdentity !== opts.identity;
    if (heldByOther && observedAt + (current.leaseDurationSeconds ?? durationS) * 1000 > now) return false;
    await client.replace(KINDS.lease, { ...lease, spec: spec(current, now) } as ManifestObject);
    return true;
  };

  const tick = async () => {
    if (stopped) return;
    try {
      const ok = await tryAcquireOrRenew();
      if (stopped) return;
      if (ok) {
        lastRenew = Date.now();
        if (!leading) {
          leading = true;
          opts.onStartedLeading();
        }
      } else {
        stepDown();
      }
    } catch (err) {
      opts.onError?.(err as Error);
    }
    if (leading && Date.now() - lastRenew > renewDeadlineMs) stepDown();
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, retryMs);
  };
  running = tick().finally(schedule);

  return {
    isLeader: () => leading && Date.now() - lastRenew <= renewDeadlineMs,
    async stop() {
      if (stopped) return running;
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      if (leading) {
        try {
          const lease = await client.get(KINDS.lease, ref);
          if (lease && (lease.spec as LeaseSpec | undefined)?.holderIdentity === opts.identity) {
            await client.replace(KINDS.lease, { ...lease, spec: { ...(lease.spec as LeaseSpec), holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(Date.now()) } } as ManifestObject);
          }
        } catch (err) {
          opts.onError?.(err as Error);
        }
        stepDown();
      }
    },
  };
}
