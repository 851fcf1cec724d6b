import { ApplicationFailure } from '@temporalio/common';
import { parseAddress } from '../workflows/logic/address';
import type { Access } from './db/connection';
import { resolveCredentials } from './db/credentials';
import type { ChannelStatements, Flavor, ReplicationStatus } from './db/flavor';
import type { ServerArgs } from './server-state';
import { withFlavor } from './with-flavor';

/**
 * A shard move's catch-up: a named replication connection on the
 * destination's primary from the source's primary, limited to the shard's
 * tables. The conductors' own statements name no connection, so they never
 * touch it. GTID positions make a repoint safe: the connection resumes from
 * what the destination applied, whichever source primary it reads.
 */

export interface ChannelArgs extends ServerArgs {
  channel: string;
}

export interface StartChannelArgs extends ChannelArgs {
  /** The source cluster's primary, and how to reach the source cluster (its replication account). */
  source: string;
  sourceAccess: Access;
  /** db.table patterns: db.% for a database shard. */
  tables: string[];
  /** The copy's GTID position: where a connection made now starts. A connection that exists resumes where it is. */
  from: string;
}

export interface ChannelState {
  address: string;
  changed: boolean;
  status: ReplicationStatus | null;
}

const HEARTBEAT_SECONDS = 1;
/** ER_MASTER_FATAL_ERROR_READING_BINLOG: the source cannot serve what the connection asks for. */
const FATAL_READING_BINLOG = 1236;
const CONNECT_RETRY_SECONDS = 1;

/** Makes the connection replicate from `source`; already so and running: nothing. */
export async function startShardChannel(args: StartChannelArgs): Promise<ChannelState> {
  const { host, port } = parseAddress(args.source);
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const channel = channelOf(flavor, args.address);
    // A semi-sync replica side would acknowledge the source's commits from outside its cluster: an acknowledged write its own failover could lose (safety rule 2).
    if ((await flavor.semiSyncStatus(db)).replicaEnabled) {
      throw ApplicationFailure.retryable(`${args.address}: its semi-sync replica side is on (a replica, or a primary being promoted): a shard's catch-up runs on a primary only`, 'NotPrimary');
    }
    const before = await channel.status(db, args.channel);
    const sameSource = before && before.sourceHost === host && before.sourcePort === port;
    if (sameSource && (before.ioRunning || before.ioConnecting) && before.sqlRunning) return { address: args.address, changed: false, status: before };
    // Stopped by an error a restart would only hide: an applier that cannot apply, or a source that cannot serve the position (1236).
    if (sameSource && (before.sqlErrno || before.ioErrno === FATAL_READING_BINLOG)) {
      const [errno, error] = before.sqlErrno ? [before.sqlErrno, before.sqlError] : [before.ioErrno, before.ioError];
      throw ApplicationFailure.nonRetryable(`${args.address}: the catch-up ${args.channel} from ${args.source} stopped with error ${errno}: ${error}`, 'CatchUpBroken');
    }
    if (before) await db.query(channel.stop(args.channel));
    if (!before) await channel.startAt(db, args.from);
    if (!sameSource) {
      const { user, password } = resolveCredentials(args.sourceAccess.replication);
      const source = { host, port, user, password, heartbeatSeconds: HEARTBEAT_SECONDS, connectRetrySeconds: CONNECT_RETRY_SECONDS, tls: args.sourceAccess.tls?.replication };
      for (const statement of channel.change(args.channel, source, args.tables)) await db.query(statement.sql, statement.params, { secrets: [password] });
    }
    await db.query(channel.start(args.channel));
    return { address: args.address, changed: true, status: await channel.status(db, args.channel) };
  });
}

/** Stops the connection and forgets it; none there: nothing. */
export async function removeShardChannel(args: ChannelArgs): Promise<ChannelState> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const channel = channelOf(flavor, args.address);
    if (!(await channel.status(db, args.channel))) return { address: args.address, changed: false, status: null };
    await db.query(channel.stop(args.channel));
    await db.query(channel.remove(args.channel));
    return { address: args.address, changed: true, status: null };
  });
}

export async function shardChannelStatus(args: ChannelArgs): Promise<ChannelState> {
  return withFlavor(args.address, args.access, async (db, flavor) => ({ address: args.address, changed: false, status: await channelOf(flavor, args.address).status(db, args.channel) }));
}

function channelOf(flavor: Flavor, address: string): ChannelStatements {
  if (!flavor.channel) throw ApplicationFailure.nonRetryable(`${address}: ${flavor.name} has no named replication connection here: shard moves need MariaDB`, 'Unsupported');
  return flavor.channel;
}
