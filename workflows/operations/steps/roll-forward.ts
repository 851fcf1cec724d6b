import { CancellationScope, log } from '@temporalio/workflow';
import { rootCauseMessage } from '../../errors';
import { publishView } from './finish';
import { DEFAULT_SEMI_SYNC, type OperationContext, type SemiSyncPolicy, type ServerRecord } from '../../model';
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
 * Past the point of no return (safety rule 9): the new primary takes writes
 * and every follower is pointed at it; one that cannot be reached or
 * repointed becomes FAULTY (routed out) instead of failing the operation.
 * Returns the servers as they end and those that could not follow; the
 * view is published.
 *
 * `routeAtOnce` (0.3.0, workflows/versions.ts): writes are routed while the
 * followers are repointed. The promotion turned the primary side of
 * semi-sync on already, so a write waits for the first follower to attach
 * and acknowledge it, never acknowledged by the primary alone. Before, the
 * writes waited for every follower, a dead one's retries included.
 */
export async function rollForward(
  input: OperationContext, primary: string, servers: ServerRecord[], followers: Follower[], step: (s: string) => void, routeAtOnce: boolean,
): Promise<{ servers: ServerRecord[]; notFollowing: string[] }> {
  if (!routeAtOnce) {
    const notFollowing = await repointThenSemiSync(input, primary, followers);
    const whole = markFaulty(servers, notFollowing);
    await routeWrites(input, primary, whole, step);
    await publish(input, primary, whole, step);
    return { servers: whole, notFollowing };
  }
  step(`routing writes to ${primary} while ${followers.map((f) => f.address).join(', ') || 'no other server'} follow it`);
  const [notFollowing] = await Promise.all([repoint(input, primary, followers), routeWrites(input, primary, servers, step)]);
  const whole = markFaulty(servers, notFollowing);
  if (notFollowing.length && notFollowing.length === followers.length) await semiSyncPrimarySide(input, primary);
  if (notFollowing.length) await routeWrites(input, primary, whole, step);
  await publish(input, primary, whole, step);
  return { servers: whole, notFollowing };
}

/**
 * What the promotion does with semi-sync's primary side (promote's
 * `semiSync`) for a roll-forward that routes at once: the policy when
 * followers will be pointed at the new primary, off when none will;
 * before 0.3.0, nothing (the roll-forward turns it on after the followers).
 */
export function semiSyncAtPromotion(input: OperationContext, followers: Follower[], routeAtOnce: boolean): SemiSyncPolicy | undefined {
  if (!routeAtOnce) return undefined;
  return followers.length ? input.config.policies.semiSync ?? DEFAULT_SEMI_SYNC : 'off';
}

/** The followers that could not be pointed at the primary. */
async function repoint(input: OperationContext, primary: string, followers: Follower[]): Promise<string[]> {
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
  return failed.filter((a): a is string => a !== undefined);
}

/** Before 0.3.0: the followers first, then the primary side of semi-sync (it would block a first write with no replica attached). */
async function repointThenSemiSync(input: OperationContext, primary: string, followers: Follower[]): Promise<string[]> {
  const failed = await repoint(input, primary, followers);
  if (failed.length < followers.length) await semiSyncPrimarySide(input, primary);
  return failed;
}

/** As the policy says, and off while no replica is attached. */
async function semiSyncPrimarySide(input: OperationContext, primary: string): Promise<void> {
  const { access } = input.config;
  await activity('setSemiSync', `primary side of semi-sync on ${primary}`, QUICK)({ address: primary, access, primary: true, policy: input.config.policies.semiSync })
    .catch((err) => log.warn(`semi-sync not turned on on ${primary}: ${rootCauseMessage(err)}`));
}

/** Routes writes to the new primary whatever it takes. */
async function routeWrites(input: OperationContext, primary: string, servers: ServerRecord[], step: (s: string) => void): Promise<void> {
  step(`routing writes to ${primary}`);
  // Retried until the router answers; a router that can never take it (a server missing from its backends) is said, and the view still recorded.
  await route(input, primary, servers, ROLL_FORWARD).catch((err) => step(`writes NOT routed to ${primary}: ${rootCauseMessage(err)}; route them by hand`));
}

/** Publishes the view (a health round republishes it if that fails). */
async function publish(input: OperationContext, primary: string, servers: ServerRecord[], step: (s: string) => void): Promise<void> {
  step('publishing the new view');
  await publishView(input, primary, servers, undefined, QUICK).catch((err) => step(`view not published on ${primary} (a health round will): ${rootCauseMessage(err)}`));
}

/** The servers that could not follow become FAULTY. */
export function markFaulty(servers: ServerRecord[], addresses: string[]): ServerRecord[] {
  return servers.map((s): ServerRecord => (addresses.includes(s.address) ? { ...s, status: 'FAULTY' } : s));
}
