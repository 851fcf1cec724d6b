import { parseAddress } from '../workflows/logic/address';
import { SHARD_CHANNEL_PREFIX } from '../workflows/logic/shards';
import { resolveCredentials } from './db/credentials';
import type { Db } from './db/connection';
import type { Flavor, ReplicationStatus } from './db/flavor';
import type { ChangeResult } from './read-only';
import type { ServerArgs } from './server-state';
import { runAll, withFlavor } from './with-flavor';

export interface ReplicationResult extends ChangeResult {
  replication: ReplicationStatus | null;
}

/**
 * A replica hears from its source at least every HEARTBEAT_SECONDS. Safety
 * rule 1 asks the replicas whether they lost a silent primary: where the
 * flavor shows what a replica receives (receiveProgress), the monitor sees
 * it receive nothing for a few heartbeats, and the replica keeps its
 * connection for QUIET_NET_TIMEOUT_SECONDS. That outlasts the detection,
 * so the failover's freeze finds the IO thread connected and ends it at
 * once (a reconnecting one ignores STOP for 2 s on MariaDB 10.11). Where
 * it does not, the replica reconnects after NET_TIMEOUT_SECONDS and the
 * monitor sees its IO thread reconnect; the servers' default (60 s) would
 * hold a failover back.
 */
export const HEARTBEAT_SECONDS = 0.5;
const NET_TIMEOUT_SECONDS = 2;
const QUIET_NET_TIMEOUT_SECONDS = 10;
const CONNECT_RETRY_SECONDS = 1;
const SETTLE_MS = 2_000;

export async function stopReplication(args: ServerArgs & { ioOnly: boolean }): Promise<ReplicationResult> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const before = await flavor.replicationStatus(db);
    const running = before && (before.ioRunning || before.ioConnecting || (!args.ioOnly && before.sqlRunning));
    if (!running) return { address: args.address, changed: false, replication: before };
    await db.query(flavor.stopReplicationStatement(args.ioOnly));
    return { address: args.address, changed: true, replication: await flavor.replicationStatus(db) };
  });
}

export async function startReplication(args: ServerArgs): Promise<ReplicationResult> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const before = await flavor.replicationStatus(db);
    if (!before) throw new Error(`${args.address} has no replication source to start`);
    if ((before.ioRunning || before.ioConnecting) && before.sqlRunning) return { address: args.address, changed: false, replication: before };
    return { address: args.address, changed: true, replication: await startAndSettle(db, flavor) };
  });
}

/**
 * A failover's first step on a replica: it receives nothing more, and
 * applies what it has received (safety rule 2). A stopped applier (no
 * error) is started before the IO thread stops: MariaDB discards the relay
 * log of a GTID replica whose threads are both stopped when it starts
 * again, so afterwards what it had received could no longer be applied.
 * The old primary is fenced beside it (on every path that answers), but a
 * frozen one is fenced at the router only: the IO thread is stopped here.
 */
export async function freezeReplica(args: ServerArgs): Promise<ReplicationResult> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const before = await flavor.replicationStatus(db);
    if (!before) return { address: args.address, changed: false, replication: null };
    const receiving = before.ioRunning || before.ioConnecting;
    // A broken applier keeps its IO thread: its relay log stays applicable once an operator repairs it.
    if (!receiving || before.sqlErrno) return { address: args.address, changed: false, replication: before };
    if (!before.sqlRunning) await db.query(flavor.startApplierStatement());
    if (before.ioRunning) await killReceiver(db, flavor);
    await db.query(flavor.stopReplicationStatement(true));
    return { address: args.address, changed: true, replication: await flavor.replicationStatus(db) };
  });
}

/**
 * An IO thread connected to a silent source (frozen, cut off) ignores STOP
 * until the server asks it again, 2 s later (MariaDB 10.11). Killed first,
 * and stopped KILL_SETTLE_MS later, it stops in milliseconds (16 of 16
 * tries under writes with 10 or 30 ms; with no pause, 5 of 16 took the
 * 2 s). The kill alone does not end it: it would reconnect.
 * Only the one receiver of a server: a shard move's named connection must
 * keep running, and its thread cannot be told from the default one.
 */
const KILL_SETTLE_MS = 25;

async function killReceiver(db: Db, flavor: Flavor): Promise<void> {
  const sessions = await flavor.receiverSessions?.(db) ?? [];
  if (sessions.length !== 1) return;
  try {
    await db.query('KILL CONNECTION ?', [sessions[0]]);
    await new Promise((resolve) => setTimeout(resolve, KILL_SETTLE_MS));
  } catch {
    // It ended between the list and the kill, or the account may not kill it: the STOP alone, as before.
  }
}

/**
 * START returns before the threads run: wait (briefly) until each is
 * running, connecting or stopped with an error, so the status returned is
 * the one a second call would see.
 */
export async function startAndSettle(db: Db, flavor: Flavor): Promise<ReplicationStatus | null> {
  await db.query(flavor.startReplicationStatement());
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const status = await flavor.replicationStatus(db);
    const ioSettled = !status || status.ioRunning || status.ioConnecting || status.ioErrno > 0;
    const sqlSettled = !status || status.sqlRunning || status.sqlErrno > 0;
    if ((ioSettled && sqlSettled) || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Forgets the source entirely (a promoted primary replicates from nobody). */
export async function resetReplication(args: ServerArgs): Promise<ReplicationResult> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    if (!(await flavor.replicationStatus(db))) return { address: args.address, changed: false, replication: null };
    await db.query(flavor.stopReplicationStatement(false));
    await db.query(flavor.resetReplicationStatement());
    return { address: args.address, changed: true, replication: null };
  });
}

/**
 * Points the server at `source` with GTID auto-positioning (over TLS when
 * the cluster's access says so) and starts replication. Already replicating
 * from there that way with both threads up: no change.
 * `demotedPrimary`: the server was a primary, so MariaDB keeps what it
 * wrote as part of its replication position (checkJoinable comes first).
 * A replica is never writable: read_only goes on first, whatever the caller
 * did before (a switchover preempted after its promote left one writable).
 */
export async function changeSource(args: ServerArgs & { source: string; demotedPrimary?: boolean }): Promise<ReplicationResult> {
  const { host, port } = parseAddress(args.source);
  const tls = args.access.tls?.replication;
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const writable = !(await flavor.readOnly(db));
    if (writable) await runAll(db, flavor.setReadOnlyStatements(true));
    await stopShardChannels(db, flavor);
    const before = await flavor.replicationStatus(db);
    // A replica streaming in clear from the right source is repointed when TLS is asked for.
    const sameSource = before && before.sourceHost === host && before.sourcePort === port && before.usingGtid && (!tls || before.tls);
    if (sameSource && (before.ioRunning || before.ioConnecting) && before.sqlRunning) {
      return { address: args.address, changed: writable, replication: before };
    }
    if (before) await db.query(flavor.stopReplicationStatement(false));
    if (!sameSource) {
      const timeout = flavor.netTimeoutStatement(flavor.receiveProgress ? QUIET_NET_TIMEOUT_SECONDS : NET_TIMEOUT_SECONDS);
      await db.query(timeout.sql, timeout.params);
      const { user, password } = resolveCredentials(args.access.replication);
      const source = { host, port, user, password, heartbeatSeconds: HEARTBEAT_SECONDS, connectRetrySeconds: CONNECT_RETRY_SECONDS, tls };
      for (const statement of flavor.changeSourceStatements(source, args.demotedPrimary ?? false)) {
        await db.query(statement.sql, statement.params, { secrets: [password] });
      }
    }
    return { address: args.address, changed: true, replication: await startAndSettle(db, flavor) };
  });
}

/**
 * A shard move's catch-up runs on its destination's primary only: on a
 * demoted one it would apply the shard beside what the new primary sends
 * (and break the replica's own replication). The move starts it again on
 * the new primary, from what that one applied.
 */
async function stopShardChannels(db: Db, flavor: Flavor): Promise<void> {
  if (!flavor.channel) return;
  for (const name of (await flavor.channel.names(db)).filter((n) => n.startsWith(SHARD_CHANNEL_PREFIX))) {
    await db.query(flavor.channel.stop(name));
    await db.query(flavor.channel.remove(name));
  }
}
