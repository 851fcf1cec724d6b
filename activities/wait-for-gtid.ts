import { ApplicationFailure } from '@temporalio/common';
import { gtidContains } from '../workflows/logic/gtid';
import { heartbeat, throwIfCancelled } from './context';
import type { ServerArgs } from './server-state';
import { withFlavor } from './with-flavor';

export interface WaitResult {
  address: string;
  reached: boolean;
  executed: string;
}

/**
 * Waits until the server has executed every transaction of `gtid`, in
 * short server-side waits with a heartbeat between them, so a cancelled or
 * crashed workflow does not leave a wait running for minutes.
 */
export async function waitForGtid(args: ServerArgs & { gtid: string; timeoutSeconds: number }): Promise<WaitResult> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const deadline = Date.now() + args.timeoutSeconds * 1000;
    for (;;) {
      const executed = await flavor.executed(db);
      if (gtidContains(flavor.name, executed, args.gtid)) return { address: args.address, reached: true, executed };
      const left = deadline - Date.now();
      if (left <= 0) return { address: args.address, reached: false, executed };
      // An applier stopped by an error will not get there: say so now, not at the timeout.
      const replication = await flavor.replicationStatus(db);
      if (replication?.sqlErrno) {
        throw ApplicationFailure.nonRetryable(`${args.address} cannot reach ${args.gtid}: its applier stopped with error ${replication.sqlErrno}: ${replication.sqlError}`, 'ApplierBroken');
      }
      heartbeat({ waitingFor: args.gtid, executed });
      throwIfCancelled();
      const wait = flavor.waitForGtidQuery(args.gtid, Math.min(1, left / 1000));
      await db.query(wait.sql, wait.params, { timeoutMs: 5_000 });
    }
  });
}
