import { ApplicationFailure } from '@temporalio/common';
import { gtidContains } from '../workflows/logic/gtid';
import type { SemiSyncPolicy } from '../workflows/model';
import type { ChangeResult } from './read-only';
import type { ServerArgs } from './server-state';
import { runAll, withFlavor } from './with-flavor';

/**
 * Makes the server a primary: replication detached, writable. Refuses while
 * its relay log is not applied or its applier is broken (safety rule 2):
 * the workflow waits for the apply before it promotes. With `semiSync`, the
 * primary side of semi-sync goes on before it is writable (its followers
 * are pointed at it next: a write waits for the first to acknowledge it).
 */
export async function promote(args: ServerArgs & { semiSync?: SemiSyncPolicy }): Promise<ChangeResult> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const replication = await flavor.replicationStatus(db);
    if (replication) {
      if (replication.sqlErrno) {
        throw ApplicationFailure.nonRetryable(`${args.address}: replication applier stopped with error ${replication.sqlErrno}: ${replication.sqlError}`, 'ApplierBroken');
      }
      const applied = await flavor.applied(db);
      if (!gtidContains(flavor.name, applied, replication.received)) {
        throw ApplicationFailure.retryable(`${args.address}: relay log not applied yet (received ${replication.received}, applied ${applied})`, 'RelayLogNotApplied');
      }
      await db.query(flavor.stopReplicationStatement(false));
      await db.query(flavor.resetReplicationStatement());
    }
    if (args.semiSync) await runAll(db, flavor.setSemiSyncStatements(args.semiSync === 'off' ? 'off' : { primary: true, ...args.semiSync }));
    const readOnly = await flavor.readOnly(db);
    if (readOnly) await runAll(db, flavor.setReadOnlyStatements(false));
    return { address: args.address, changed: Boolean(replication) || readOnly };
  });
}
