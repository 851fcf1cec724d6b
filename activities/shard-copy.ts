import { spawn } from 'node:child_process';
import { Transform } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { gtidIsEmpty, gtidSubtract } from '../workflows/logic/gtid';
import { clientAccount, connectArgs, exitOf, killGroup, withDefaultsFile } from './client-tools';
import { heartbeat, onCancel, throwIfCancelled } from './context';
import type { Access } from './db/connection';
import { resolveCredentials } from './db/credentials';
import type { Flavor } from './db/flavor';
import type { ServerArgs } from './server-state';
import { withFlavor } from './with-flavor';

/** A shard's data on a server: its databases, the copy a move makes and the one it drops. */

export interface ShardDataArgs extends ServerArgs {
  databases: string[];
}

/** Which of the databases the server holds. */
export async function shardDatabasesPresent(args: ShardDataArgs): Promise<string[]> {
  return withFlavor(args.address, args.access, async (db) => {
    const rows = await db.query(`SELECT SCHEMA_NAME AS d FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${args.databases.map(() => '?').join(', ')})`, args.databases);
    return rows.map((r) => String(r.d)).sort();
  });
}

export interface CopyShardArgs extends ShardDataArgs {
  /** A replica of the source cluster, and how to reach it. */
  donor: string;
  donorAccess: Access;
}

export interface CopyShardResult {
  address: string;
  /** The source cluster's GTID position the copy holds everything up to. */
  position: string;
  bytes: number;
}

/**
 * Copies the databases from the donor onto the server (the destination's
 * primary): a consistent dump with its GTID position, loaded and written to
 * the destination's binlog, so its replicas get it too. A retry starts
 * over: what an interrupted load left is dropped first (the move checked
 * the destination held none of it before its first copy).
 */
export async function copyShard(args: CopyShardArgs): Promise<CopyShardResult> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const dump = dumpOf(flavor, args.address, args.databases);
    for (const database of args.databases) await db.query(`DROP DATABASE IF EXISTS ${id(database)}`, [], { timeoutMs: 600_000 });
    const donorHas = await withFlavor(args.donor, args.donorAccess, (donorDb, donorFlavor) => donorFlavor.executed(donorDb));
    const { position, bytes } = await withClients(args, flavor, (donorDefaults, targetDefaults) => pipe(dump, donorDefaults, targetDefaults, args));
    // The dump's position is the donor's binlog at the snapshot, taken after donorHas: short of it, a domain is missing, and the catch-up would start that domain over.
    const short = gtidSubtract(flavor.name, donorHas, position);
    if (!gtidIsEmpty(flavor.name, short)) throw ApplicationFailure.nonRetryable(`${args.donor}: the copy's position ${position} lacks ${short}, which the donor held before: its binlog does not say where the copy stands`, 'CopyPosition');
    return { address: args.address, position, bytes };
  });
}

/** Drops the databases on the server (a primary: the drop replicates); none there: nothing. */
export async function dropShardCopy(args: ShardDataArgs): Promise<{ address: string; changed: boolean }> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    if (await flavor.readOnly(db)) throw ApplicationFailure.nonRetryable(`${args.address}: drop refused: the server is read-only; a shard's copy is dropped on its cluster's primary`, 'NotPrimary');
    const present = await shardDatabasesPresent(args);
    for (const database of present) await db.query(`DROP DATABASE IF EXISTS ${id(database)}`, [], { timeoutMs: 600_000 });
    return { address: args.address, changed: present.length > 0 };
  });
}

type Dump = NonNullable<ReturnType<NonNullable<Flavor['databaseDumpCommand']>>>;

function dumpOf(flavor: Flavor, address: string, databases: string[]): Dump {
  const dump = flavor.databaseDumpCommand?.(databases);
  if (!dump) throw ApplicationFailure.nonRetryable(`${address}: ${flavor.name} has no shard copy here: shard moves need MariaDB`, 'Unsupported');
  return dump;
}

/** Each side's client account in its own defaults file: the two clusters may have different ones. */
async function withClients<T>(args: CopyShardArgs, flavor: Flavor, work: (donor: string, target: string) => Promise<T>): Promise<T> {
  const options = (access: Access) => [...clientAccount(resolveCredentials(access.admin)), ...(access.tls ? flavor.clientTlsOptions(access.tls) : [])];
  return withDefaultsFile(options(args.donorAccess), (donor) => withDefaultsFile(options(args.access), (target) => work(donor, target)));
}

/** The dump piped into the loader, counted as it passes (heartbeats carry the bytes), its position read from its tail. */
async function pipe(dump: Dump, donorDefaults: string, targetDefaults: string, args: CopyShardArgs): Promise<{ position: string; bytes: number }> {
  const dumper = spawn(dump.program, connectArgs(dump, donorDefaults, args.donor), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const loader = spawn(dump.loader.program, connectArgs(dump.loader, targetDefaults, args.address), { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  let bytes = 0;
  let tail = '';
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      tail = (tail + chunk.toString('latin1')).slice(-8192);
      done(null, chunk);
    },
  });
  dumper.stdout.pipe(counter).pipe(loader.stdin);
  const beat = setInterval(() => heartbeat({ copying: args.databases, from: args.donor, bytes }), 2_000);
  const unsubscribe = onCancel(() => [dumper, loader].forEach(killGroup));
  try {
    const [dumped, loaded] = await Promise.all([exitOf(dumper, dump.program), exitOf(loader, dump.loader.program)]);
    // Killed because the move was cancelled: the cancellation is the answer, not the dead tools.
    throwIfCancelled();
    if (dumped) throw ApplicationFailure.retryable(`dump of ${args.databases.join(', ')} from ${args.donor} failed: ${dumped}`, 'CopyFailed');
    if (loaded) throw ApplicationFailure.retryable(`load into ${args.address} failed: ${loaded}`, 'CopyFailed');
  } finally {
    clearInterval(beat);
    unsubscribe();
  }
  const position = dump.position.exec(tail)?.[1];
  if (position === undefined) throw ApplicationFailure.nonRetryable(`the dump of ${args.donor} named no GTID position`, 'CopyPosition');
  return { position, bytes };
}

function id(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}
