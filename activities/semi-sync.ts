import { DEFAULT_SEMI_SYNC, type SemiSyncPolicy } from '../workflows/model';
import type { Db } from './db/connection';
import type { Flavor, SemiSyncRole, SemiSyncStatus } from './db/flavor';
import type { ChangeResult } from './read-only';
import type { ServerArgs } from './server-state';
import { startAndSettle } from './replication';
import { runAll, withFlavor } from './with-flavor';

const ATTACH_WAIT_MS = 2_000;

export interface SemiSyncResult extends ChangeResult {
  /** The primary side is wanted but no replica streams from the server yet: left off, or it would block the next write. */
  waitingForReplica: boolean;
}

/**
 * Semi-sync as the cluster's policy says (DESIGN.md): the primary side,
 * with its wait point and timeout, on exactly the primary and only once a
 * replica is attached; the replica side everywhere else (a replica with the
 * primary side on stalls its own applier); policy off: both sides off.
 * The replica side takes effect only when the IO thread starts: a replica
 * already streaming gets its IO thread restarted (the applier runs on), or
 * its primary would wait out the timeout for an acknowledgement that never
 * comes.
 */
export async function setSemiSync(args: ServerArgs & { primary: boolean; policy?: SemiSyncPolicy }): Promise<SemiSyncResult> {
  const policy = args.policy ?? DEFAULT_SEMI_SYNC;
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const waitingForReplica = args.primary && policy !== 'off' && !(await replicaAttached(db, flavor));
    const role: SemiSyncRole = policy === 'off' || waitingForReplica ? 'off' : { primary: args.primary, ...policy };
    const before = await flavor.semiSyncStatus(db);
    if (matches(before, role)) return { address: args.address, changed: false, waitingForReplica };
    await runAll(db, flavor.setSemiSyncStatements(role));
    if (role !== 'off' && !role.primary && !before.replicaEnabled) await restartStreaming(db, flavor);
    return { address: args.address, changed: true, waitingForReplica };
  });
}

async function restartStreaming(db: Db, flavor: Flavor): Promise<void> {
  const replication = await flavor.replicationStatus(db);
  if (!replication?.ioRunning) return;
  await db.query(flavor.stopReplicationStatement(true));
  await startAndSettle(db, flavor);
}

/** Replicas just repointed attach within moments: give them a short while. */
async function replicaAttached(db: Db, flavor: Flavor): Promise<boolean> {
  const deadline = Date.now() + ATTACH_WAIT_MS;
  for (;;) {
    if ((await flavor.attachedReplicas(db)) > 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function matches(now: SemiSyncStatus, role: SemiSyncRole): boolean {
  if (role === 'off') return !now.primaryEnabled && !now.replicaEnabled;
  if (!role.primary) return !now.primaryEnabled && now.replicaEnabled;
  return now.primaryEnabled && !now.replicaEnabled && now.waitPoint === role.waitPoint && now.timeoutMs === role.timeoutMs;
}
