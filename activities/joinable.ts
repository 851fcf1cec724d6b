import { parseAddress } from '../workflows/logic/address';
import { gtidDivergent } from '../workflows/logic/gtid';
import type { ServerArgs } from './server-state';
import { withFlavor } from './with-flavor';

export interface JoinableResult {
  address: string;
  source: string;
  joinable: boolean;
  /** Transactions this server holds that the source does not: empty when joinable. */
  divergent: string;
  reason: string;
  /** What an operator can do when it is not joinable, as the server's family allows. */
  remedy: string;
}

/** The source refused the replica's position: it asked for a GTID the source's binlog does not have. */
const ER_SOURCE_FATAL_READING_BINLOG = 1236;

/**
 * Would this server diverge if it replicated from `source`? (safety rule
 * 5) It would if it holds transactions the source lacks (MySQL: errant
 * GTIDs; MariaDB: a domain ahead, or the same seq from another server), or
 * if the source already refused its position with error 1236.
 */
export async function checkJoinable(args: ServerArgs & { source: string }): Promise<JoinableResult> {
  const { host, port } = parseAddress(args.source);
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const result = { address: args.address, source: args.source, remedy: flavor.divergedRemedy };
    // The server before its source: read the other way round, a replica streaming under load looks ahead of it (DESIGN.md).
    const executed = await flavor.executed(db);
    const sourceExecuted = await withFlavor(args.source, args.access, (sourceDb, sourceFlavor) => sourceFlavor.executed(sourceDb));
    const divergent = gtidDivergent(flavor.name, executed, sourceExecuted);
    if (divergent) {
      return { ...result, joinable: false, divergent, reason: `${args.address} has transactions ${args.source} lacks: ${divergent}` };
    }
    const replication = await flavor.replicationStatus(db);
    if (replication?.sourceHost === host && replication.sourcePort === port && replication.ioErrno === ER_SOURCE_FATAL_READING_BINLOG) {
      return { ...result, joinable: false, divergent: executed, reason: `${args.source} refused ${args.address}'s position: ${replication.ioError}` };
    }
    return { ...result, joinable: true, divergent: '', reason: `${args.source} holds every transaction of ${args.address}` };
  });
}
