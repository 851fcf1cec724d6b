import type { ServerArgs } from './server-state';
import { withDb, type Access, type Db } from './db/connection';
import { serverErrorCode } from './db/errors';

/** Threads that are not client sessions: replication, the server's own, and ours. */
const SYSTEM_COMMANDS = ['Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker'];

/**
 * Ends every client session except replication, the server's own threads
 * and gtidflow's: after read_only, a session can still be mid-statement or
 * hold a transaction open (DESIGN.md, safety rule 4). Already none: no change.
 */
export async function killClientConnections(args: ServerArgs): Promise<{ address: string; killed: number }> {
  return withDb(args.address, args.access, async (db) => ({ address: args.address, killed: await killClientSessions(db, args.access) }));
}

/** The same on a session already open (the switchover's one-step fence); how many it ended. */
export async function killClientSessions(db: Db, access: Access): Promise<number> {
  const keepUsers = ['system user', 'event_scheduler', access.admin.user, access.replication.user];
  const sessions = await db.query(
    'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER NOT IN (?) AND COMMAND NOT IN (?)',
    [keepUsers, SYSTEM_COMMANDS],
  );
  let killed = 0;
  for (const { id } of sessions) {
    try {
      await db.query('KILL CONNECTION ?', [Number(id)]);
      killed++;
    } catch (err) {
      // The session ended by itself between the list and the kill (HAProxy's fence ends the router's sessions meanwhile).
      if (serverErrorCode(err) !== 'ER_NO_SUCH_THREAD') throw err;
    }
  }
  return killed;
}
