import type { OperationKind } from '../model';

/** An operation the conductor runs or has queued. */
export interface Pending {
  id: number;
  kind: OperationKind;
}

/**
 * What the conductor does with a new request: run it (after what is queued,
 * or first), cancelling the running operation when it preempts it; or
 * refuse it, the cluster being busy.
 */
export type Admission =
  | { ok: true; preempt: boolean; first: boolean }
  | { ok: false; reason: string };

/**
 * Safety rule 8: detection never sleeps. The watch keeps running during
 * every operation but a failover (it is the reaction) and a bootstrap
 * (which makes the replication the watch's quorum relies on); during a
 * switchover it watches the old primary, then the candidate once the
 * switchover says it promoted it.
 */
export function watchRunsDuring(kind: OperationKind): boolean {
  return kind !== 'failover' && kind !== 'bootstrap';
}

/** Whether the watch may run while these operations run or wait to run. */
export function watchMayRun(running: Pending | undefined, queued: readonly Pending[]): boolean {
  return [...(running ? [running] : []), ...queued].every((o) => watchRunsDuring(o.kind));
}

/**
 * One operation at a time, except that a failover preempts every other one
 * (cancelled, it stops at a safe point) and jumps the queue, and any
 * operation preempts a health round. A health round runs only when nothing
 * else runs or waits. Two failovers never: the second is refused.
 * While a shard move holds the cluster, a failover alone.
 */
export function admit(kind: OperationKind, running: Pending | undefined, queued: readonly Pending[], cluster: string, heldBy?: string): Admission {
  // A shard cut-over's hold: only a failover may start meanwhile (the move then waits and re-checks).
  if (heldBy && kind !== 'failover') return { ok: false, reason: `cluster ${cluster} is held by ${heldBy} for a few seconds; try again when it ends` };
  const busy = (o: Pending): Admission => ({ ok: false, reason: `cluster ${cluster} is busy with ${o.kind} #${o.id}; try again when it ends` });
  if (kind === 'health') {
    const other = running ?? queued[0];
    return other ? busy(other) : { ok: true, preempt: false, first: false };
  }
  if (kind === 'failover') {
    const failover = [...(running ? [running] : []), ...queued].find((o) => o.kind === 'failover');
    if (failover) return busy(failover);
    return { ok: true, preempt: running !== undefined, first: true };
  }
  const other = (running?.kind !== 'health' ? running : undefined) ?? queued.find((o) => o.kind !== 'health');
  if (other) return busy(other);
  return { ok: true, preempt: running?.kind === 'health', first: false };
}
