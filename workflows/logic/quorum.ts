export interface ReplicaView {
  address: string;
  reachable: boolean;
  ioRunning: boolean;
  secondsSinceLastEvent?: number;
}

export interface QuorumInput {
  /** Consecutive failed probes of the primary by the manager. */
  probeFailures: number;
  threshold: number;
  replicas: ReplicaView[];
  heartbeatTimeoutSeconds: number;
}

export type QuorumVerdict = 'alive' | 'suspect' | 'dead' | 'unreachable-from-manager' | 'dead-no-witness';

export interface QuorumResult {
  verdict: QuorumVerdict;
  reason: string;
}

function hasLostPrimary(replica: ReplicaView, heartbeatTimeoutSeconds: number): boolean {
  const silent = (replica.secondsSinceLastEvent ?? 0) > heartbeatTimeoutSeconds;
  return replica.reachable && (!replica.ioRunning || silent);
}

/** Safety rule 1: the manager's failed probes alone are not a quorum; the replicas must agree. */
export function judgePrimary(input: QuorumInput): QuorumResult {
  const { probeFailures, threshold, replicas, heartbeatTimeoutSeconds } = input;
  if (probeFailures <= 0) return { verdict: 'alive', reason: 'the primary answered the last probe' };
  const probes = `the primary failed ${probeFailures} probe(s) in a row (threshold ${threshold})`;
  if (probeFailures < threshold) return { verdict: 'suspect', reason: probes };

  const witnesses = replicas.filter((r) => r.reachable);
  if (witnesses.length === 0) {
    return { verdict: 'dead-no-witness', reason: `${probes} and no replica is reachable to confirm it` };
  }
  const lost = witnesses.filter((r) => hasLostPrimary(r, heartbeatTimeoutSeconds)).length;
  const tally = `${lost} of ${witnesses.length} reachable replica(s) lost it`;
  if (lost * 2 > witnesses.length) return { verdict: 'dead', reason: `${probes} and ${tally}` };
  return { verdict: 'unreachable-from-manager', reason: `${probes} but only ${tally}: the manager may be cut off` };
}
