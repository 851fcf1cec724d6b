import type { Flavor as FlavorName } from '../workflows/logic/gtid';
import { Access, Db, withDb } from './db/connection';
import { serverErrorCode } from './db/errors';
import type { ReplicationStatus, SemiSyncStatus } from './db/flavor';
import { detectFlavor } from './db/flavors';

export interface ServerArgs {
  address: string;
  access: Access;
}

export interface ServerState {
  address: string;
  reachable: true;
  version: string;
  flavor: FlavorName;
  serverId: number;
  /** GTIDs in this server's binlog. */
  executed: string;
  /** Where its transactions originated (see Flavor.history), for errant checks. */
  history: string;
  /** The id its own writes carry in their GTIDs (MariaDB server_id, MySQL server_uuid). */
  originId: string;
  /** GTIDs applied by its replication applier. */
  applied: string;
  readOnly: boolean;
  /** null when this server replicates from nobody. */
  replication: ReplicationStatus | null;
  semiSync: SemiSyncStatus;
}

export interface UnreachableServer {
  address: string;
  reachable: false;
  error: string;
  /**
   * Its host refused the connection (nothing listens on the port) or closed
   * it mid-way: the server process is gone, not silent or cut off.
   */
  refused: boolean;
}

export async function readServerState(db: Db): Promise<ServerState> {
  const { flavor, version } = await detectFlavor(db);
  return {
    address: db.address,
    reachable: true,
    version,
    flavor: flavor.name,
    serverId: Number(await db.value('SELECT @@global.server_id')),
    executed: await flavor.executed(db),
    history: await flavor.history(db),
    originId: await flavor.originId(db),
    applied: await flavor.applied(db),
    readOnly: await flavor.readOnly(db),
    replication: await flavor.replicationStatus(db),
    semiSync: await flavor.semiSyncStatus(db),
  };
}

/** Everything gtidflow decides from, read in one visit; changes nothing. */
export async function getServerState(args: ServerArgs): Promise<ServerState> {
  return withDb(args.address, args.access, readServerState);
}

/** What the socket says when the server's host refuses or resets the connection (a probe cut by the process dying). */
const CLOSED_BY_HOST = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'PROTOCOL_CONNECTION_LOST'];

export function closedByHost(err: unknown): boolean {
  return CLOSED_BY_HOST.includes(serverErrorCode(err) ?? '');
}

/** The same, but an unreachable server is an answer, not a failure (inspection, detection). */
export async function probeServer(args: ServerArgs): Promise<ServerState | UnreachableServer> {
  try {
    return await getServerState(args);
  } catch (err) {
    return { address: args.address, reachable: false, error: (err as Error).message, refused: closedByHost(err) };
  }
}
