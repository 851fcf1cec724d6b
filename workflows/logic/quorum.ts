export interface ReplicaView {
  address: string;
  reachable: boolean;
  /** Its IO thread streams from the primary (connected, not reconnecting). */
  ioRunning: boolean;
  /** How long it has been seen receiving nothing from the primary, no event and no heartbeat (0: unknown). */
  silentForMs?: number;
}

export interface QuorumInput {
  /** Consecutive failed probes of the primary by the manager. */
  probeFailures: number;
  threshold: number;
  /**
   * The last probe was refused (nothing listens on the primary's port: its
   * process is gone) or the connection the manager held open to it was
   * closed by its host: no need to wait for the threshold.
   */
  refused?: boolean;
  replicas: ReplicaView[];
  /** Silence longer than this counts as lost, though the IO thread still counts as connected (a few heartbeat periods). */
  silenceMs: number;
}

export type QuorumVerdict = 'alive' | 'suspect' | 'dead' | 'unreachable-from-manager' | 'dead-no-witness';

export interface QuorumResult {
  verdict: QuorumVerdict;
  reason: string;
}

function hasLostPrimary(replica: ReplicaView, silenceMs: number): boolean {
  const silent = (replica.silentForMs ?? 0) > silenceMs;
  return replica.reachable && (!replica.ioRunning || silent);
}

/**
 * Safety rule 1: the manager's failed probes alone are not a quorum; the
 * replicas must agree. A primary whose host refuses the connection is dead
 * as soon as a strict majority of the replicas lost it too; a silent one
 * (timeouts) only after the threshold of failed probes and that majority.
 */
export function judgePrimary(input: QuorumInput): QuorumResult {
  const { probeFailures, threshold, replicas, silenceMs } = input;
  if (probeFailures <= 0) return { verdict: 'alive', reason: 'the primary answered the last probe' };
  const witnesses = replicas.filter((r) => r.reachable);
  const lost = witnesses.filter((r) => hasLostPrimary(r, silenceMs)).length;
  const majority = witnesses.length > 0 && lost * 2 > witnesses.length;
  const tally = `${lost} of ${witnesses.length} reachable replica(s) lost it`;
  if (probeFailures < threshold) {
    if (!input.refused) return { verdict: 'suspect', reason: `the primary failed ${probeFailures} probe(s) in a row (threshold ${threshold})` };
    const refused = 'the primary\'s host refused the connection (its process is gone)';
    // The replicas' IO threads see the same close a moment later: until a majority did, ask again.
    return majority ? { verdict: 'dead', reason: `${refused} and ${tally}` } : { verdict: 'suspect', reason: `${refused}; so far ${tally}` };
  }
  const probes = `the primary failed ${probeFailures} probe(s) in a row (threshold ${threshold})`;
  if (witnesses.length === 0) return { verdict: 'dead-no-witness', reason: `${probes} and no replica is reachable to confirm it` };
  if (majority) return { verdict: 'dead', reason: `${probes} and ${tally}` };
  return { verdict: 'unreachable-from-manager', reason: `${probes} but only ${tally}: the manager may be cut off` };
}
