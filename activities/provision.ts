import { spawn } from 'node:child_process';
import { ApplicationFailure } from '@temporalio/common';
import { parseAddress } from '../workflows/logic/address';
import { clientAccount, connectArgs, exitOf, killGroup, withDefaultsFile } from './client-tools';
import { beating, onCancel } from './context';
import { Credentials, resolveCredentials } from './db/credentials';
import { Db, withDb } from './db/connection';
import type { Flavor } from './db/flavor';
import { detectFlavor } from './db/flavors';
import type { ServerArgs } from './server-state';

/**
 * How a new or diverged server gets the data: `dump` (a consistent
 * mariadb-dump/mysqldump with its GTID position), `clone` (MySQL's CLONE
 * INSTANCE), or `script:<command>`, the operator's own tool.
 */
export type ProvisionMethod = 'dump' | 'clone' | `script:${string}`;

export interface ProvisionArgs extends ServerArgs {
  source: string;
  method: ProvisionMethod;
}

/**
 * Replaces the server's data with a copy of `source` and sets its GTID
 * position to the copy's, leaving replication configured but not started
 * (changeSource comes next). Destructive by nature: the workflow decides it
 * applies. Already replicating from `source`, healthy: nothing to do.
 */
export async function provision(args: ProvisionArgs): Promise<{ address: string; changed: boolean; executed: string }> {
  return withDb(args.address, args.access, async (db) => {
    // The version too: which statement empties a MySQL server's binlog depends on it.
    const { flavor, version } = await detectFlavor(db);
    const replication = await flavor.replicationStatus(db);
    const { host, port } = parseAddress(args.source);
    if (replication && replication.sourceHost === host && replication.sourcePort === port && replication.sqlRunning && !replication.ioErrno) {
      return { address: args.address, changed: false, executed: await flavor.executed(db) };
    }
    const admin = resolveCredentials(args.access.admin);
    if (args.method === 'clone') await cloneInstance(db, flavor, args, admin);
    else await withDefaultsFile([...clientAccount(admin), ...(args.access.tls ? flavor.clientTlsOptions(args.access.tls) : [])], async (defaults) => {
      await detach(db, flavor, version);
      if (args.method === 'dump') await dumpAndLoad(flavor, defaults, args.source, args.address);
      else await runOperatorScript(args.method.slice('script:'.length), defaults, args.source, args.address);
    });
    return { address: args.address, changed: true, executed: await flavor.executed(db) };
  });
}

/**
 * After a physical clone (agent/activities installClone): the server drops
 * the replication and binlog state it came with and takes the copy's GTID
 * position; changeSource comes next. Run again (a retry), it has the same
 * effect: nothing replicates into the copy before changeSource.
 */
export async function adoptClonePosition(args: ServerArgs & { gtid: string }): Promise<{ address: string; executed: string }> {
  return withDb(args.address, args.access, async (db) => {
    const { flavor, version } = await detectFlavor(db);
    // Restarted on the copy, it is read-only only if its config says so: it takes no write from here on.
    for (const sql of flavor.setReadOnlyStatements(true)) await db.query(sql);
    await detach(db, flavor, version);
    const position = flavor.copyPositionStatement(args.gtid);
    await db.query(position.sql, position.params);
    return { address: args.address, executed: await flavor.executed(db) };
  });
}

/** The target forgets its own replication and binlog history before the copy lands. */
async function detach(db: Db, flavor: Flavor, version: string): Promise<void> {
  if (await flavor.replicationStatus(db)) {
    await db.query(flavor.stopReplicationStatement(false));
    await db.query(flavor.resetReplicationStatement());
  }
  await db.query(flavor.resetBinlogStatement(version));
}

async function cloneInstance(db: Db, flavor: Flavor, args: ProvisionArgs, admin: Credentials): Promise<void> {
  const { host, port } = parseAddress(args.source);
  const statement = flavor.cloneStatement?.(host, port, admin);
  if (!statement) throw ApplicationFailure.nonRetryable(`${args.address}: ${flavor.name} has no CLONE INSTANCE: a clone needs host agents (README: Host agents), else provision with dump or script`, 'Unsupported');
  await db.query(statement.sql, statement.params, { timeoutMs: 6 * 3600_000, secrets: [admin.password] });
}

/** The flavor's dump of the source piped into its client on the target: a consistent copy that sets its own GTID position. */
async function dumpAndLoad(flavor: Flavor, defaults: string, source: string, target: string): Promise<void> {
  const dumpCommand = flavor.dumpCommand();
  const loadCommand = flavor.loadCommand();
  const dump = spawn(dumpCommand.program, connectArgs(dumpCommand, defaults, source), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const load = spawn(loadCommand.program, connectArgs(loadCommand, defaults, target), { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  dump.stdout.pipe(load.stdin);
  const unsubscribe = onCancel(() => [dump, load].forEach(killGroup));
  try {
    const [dumped, loaded] = await beating(() => ({ provisioning: target, from: source }), () => Promise.all([exitOf(dump, dumpCommand.program), exitOf(load, loadCommand.program)]));
    if (dumped) throw ApplicationFailure.retryable(`dump of ${source} failed: ${dumped}`, 'ProvisionFailed');
    if (loaded) throw ApplicationFailure.retryable(`load into ${target} failed: ${loaded}`, 'ProvisionFailed');
  } finally {
    unsubscribe();
  }
}

/**
 * The operator's script gets the source and target and a client defaults
 * file in its environment; it must leave the target holding the source's
 * data with its GTID position set.
 */
async function runOperatorScript(command: string, defaults: string, source: string, target: string): Promise<void> {
  const child = spawn('/bin/sh', ['-c', command], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, GTIDFLOW_SOURCE: source, GTIDFLOW_TARGET: target, GTIDFLOW_CLIENT_DEFAULTS: defaults },
    detached: true, // its own process group: a cancellation stops the script and everything it started
  });
  const unsubscribe = onCancel(() => killGroup(child));
  try {
    const failed = await beating(() => ({ provisioning: target, script: command }), () => exitOf(child, command));
    if (failed) throw ApplicationFailure.nonRetryable(`provisioning script failed: ${failed}`, 'ProvisionFailed');
  } finally {
    unsubscribe();
  }
}

