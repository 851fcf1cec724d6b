import { CancellationScope, log } from '@temporalio/workflow';
import { rootCauseMessage } from '../../errors';
import { publishView } from './finish';
import type { OperationContext, ServerRecord } from '../../model';
import { route } from './routing';
import { activity, QUICK, ROLL_FORWARD } from '../../steps';

export interface Follower {
  address: string;
  /** It was the primary: MariaDB folds what it wrote into its replication position. */
  demotedPrimary?: boolean;
}

/**
 * Everything after a promotion: it runs to its end even when the operation
 * is cancelled (a failover preempting a switchover), and never fails.
 */
export function pastPointOfNoReturn<T>(work: () => Promise<T>): Promise<T> {
  return CancellationScope.nonCancellable(work);
}

/**
 * Past the point of no return (safety rule 9): points every follower at the
 * new primary; one that cannot be reached or repointed is returned, for the
 * caller to record FAULTY, instead of failing the operation.
 */
export async function repointFollowers(input: OperationContext, primary: string, followers: Follower[]): Promise<string[]> {
  const { access } = input.config;
  const policy = input.config.policies.semiSync;
  const failed = await Promise.all(followers.map(async (f) => {
    try {
      if (f.demotedPrimary) await activity('setSemiSync', `replica side of semi-sync on ${f.address}`, QUICK)({ address: f.address, access, primary: false, policy });
      await activity('changeSource', `${f.address} replicates from ${primary}`, QUICK)({ address: f.address, access, source: primary, demotedPrimary: f.demotedPrimary });
      return undefined;
    } catch (err) {
      log.warn(`${f.address} could not be pointed at ${primary}, it becomes FAULTY: ${rootCauseMessage(err)}`);
      return f.address;
    }
  }));
  // The primary side of semi-sync on a primary with no replica attached would block its first write.
  if (failed.filter(Boolean).length < followers.length) {
    await activity('setSemiSync', `primary side of semi-sync on ${primary}`, QUICK)({ address: primary, access, primary: true, policy })
      .catch((err) => log.warn(`semi-sync not turned on on ${primary}: ${rootCauseMessage(err)}`));
  }
  return failed.filter((a): a is string => a !== undefined);
}

/** Routes writes to the new primary whatever it takes, then publishes the view (a health round republishes it if that fails). */
export async function routeAndPublish(input: OperationContext, primary: string, servers: ServerRecord[], step: (s: string) => void): Promise<void> {
  step(`routing writes to ${primary}`);
  // Retried until the router answers; a router that can never take it (a server missing from its backends) is said, and the view still recorded.
  await route(input, primary, servers, ROLL_FORWARD).catch((err) => step(`writes NOT routed to ${primary}: ${rootCauseMessage(err)}; route them by hand`));
  step('publishing the new view');
  await publishView(input, primary, servers, undefined, QUICK).catch((err) => step(`view not published on ${primary} (a health round will): ${rootCauseMessage(err)}`));
}

/** The servers that could not follow become FAULTY. */
export function markFaulty(servers: ServerRecord[], addresses: string[]): ServerRecord[] {
  return servers.map((s): ServerRecord => (addresses.includes(s.address) ? { ...s, status: 'FAULTY' } : s));
}
