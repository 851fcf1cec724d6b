import { gtidTransactionCount, type Flavor } from './gtid';
import type { ServerRecord } from '../model';

/** A server that could give its data to another, as read just now. */
export interface DonorCandidate {
  address: string;
  executed: string;
}

/** The replicas a copy may come from: not FAULTY, not the target, not the primary. */
export function donorCandidates(servers: readonly ServerRecord[], primary: string, target: string): string[] {
  return servers.filter((s) => s.status !== 'FAULTY' && s.address !== target && s.address !== primary).map((s) => s.address);
}

/**
 * The donor of a copy: the replica with the least lag (the most
 * transactions applied), never the primary while a replica answers: the
 * copy's load and locks stay off the writer.
 */
export function pickDonor(flavor: Flavor, replicas: readonly DonorCandidate[], primary: string): string {
  let best: DonorCandidate | undefined;
  for (const r of replicas) if (!best || gtidTransactionCount(flavor, r.executed) > gtidTransactionCount(flavor, best.executed)) best = r;
  return best?.address ?? primary;
}
