import { spawn } from 'node:child_process';
import { Transform } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { gtidIsEmpty, gtidSubtract } from '../workflows/logic/gtid';
import type { MovedData } from '../workflows/logic/shards';
import { clientAccount, connectArgs, exitOf, killGroup, withDefaultsFile } from './client-tools';
import { beating, heartbeat, onCancel, throwIfCancelled } from './context';
import type { Access, Db } from './db/connection';
import { resolveCredentials } from './db/credentials';
import type { Flavor } from './db/flavor';
import { quoted } from './db/identifier';
import type { ServerArgs } from './server-state';
import { withFlavor } from './with-flavor';

/** A shard's data on a server: the copy a move makes, the rows a split leaves, the copy it drops. */

export interface ShardDataArgs extends ServerArgs {
  data: MovedData;
}

/** What of the data the server holds: the database (a database shard), or which of the tables (a split's). */
export async function shardDataPresent(args: ShardDataArgs): Promise<string[]> {
  return withFlavor(args.address, args.access, (db) => present(db, args.data));
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
  /** The donor's estimate of the rows copied. */
  rows: number;
}

const DDL_TIMEOUT_MS = 600_000;
/** Rows a split deletes per statement: each a transaction of its own, so replicas and the binlog take it in small bites. */
const DELETE_BATCH = 5_000;

/**
 * Copies the data from the donor onto the server (the destination's
 * primary): a consistent dump with its GTID position, loaded and written to
 * the destination's binlog, so its replicas get it too. A retry starts
 * over: what an interrupted load left is dropped first (the move checked
 * the destination held none of it before its first copy).
 */
export async function copyShard(args: CopyShardArgs): Promise<CopyShardResult> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const dump = dumpOf(flavor, args.address, args.data);
    await drop(db, args.data);
    // A split's tables load into their database, which the destination may not have yet.
    if (args.data.tables) await db.query(`CREATE DATABASE IF NOT EXISTS ${quoted(args.data.database)}`);
    const { donorHas, rows } = await withFlavor(args.donor, args.donorAccess, async (donorDb, donorFlavor) => ({ donorHas: await donorFlavor.executed(donorDb), rows: await rowEstimate(donorDb, args.data) }));
    const { position, bytes } = await withClients(args, flavor, (donorDefaults, targetDefaults) => pipe(dump, donorDefaults, targetDefaults, args, rows));
    // The dump's position is the donor's binlog at the snapshot, taken after donorHas: short of it, a domain is missing, and the catch-up would start that domain over.
    const short = gtidSubtract(flavor.name, donorHas, position);
    if (!gtidIsEmpty(flavor.name, short)) throw ApplicationFailure.nonRetryable(`${args.donor}: the copy's position ${position} lacks ${short}, which the donor held before: its binlog does not say where the copy stands`, 'CopyPosition');
    return { address: args.address, position, bytes, rows };
  });
}

/** The donor's estimate of the rows (InnoDB statistics): what a copy's progress is measured against. */
async function rowEstimate(db: Db, data: MovedData): Promise<number> {
  const tables = data.tables ? ` AND TABLE_NAME IN (${data.tables.map(() => '?').join(', ')})` : '';
  return Number(await db.value(`SELECT COALESCE(SUM(TABLE_ROWS), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?${tables}`, [data.database, ...(data.tables ?? [])]));
}

/** Drops the data on the server (a primary: the drop replicates); none there: nothing. */
export async function dropShardCopy(args: ShardDataArgs): Promise<{ address: string; changed: boolean }> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    await mustBePrimary(db, flavor, args.address, 'drop');
    const changed = (await present(db, args.data)).length > 0;
    await drop(db, args.data);
    return { address: args.address, changed };
  });
}

/**
 * A split's rows on one side: `inside` deletes the rows in the data's key
 * range (the source, once the destination holds them), else those outside
 * it (the destination's copy of the whole tables). In batches, on the
 * primary, written to its binlog; run again, it deletes what is left.
 */
export async function deleteShardRows(args: ShardDataArgs & { inside: boolean }): Promise<{ address: string; deleted: number }> {
  const { data } = args;
  if (!data.tables || !data.key) throw ApplicationFailure.nonRetryable('deleteShardRows is for a split: tables and a key range', 'BadArguments');
  const { column, lo, hi } = data.key;
  const inRange = `(${quoted(column)} >= ${lo}${hi === null ? '' : ` AND ${quoted(column)} < ${hi}`})`;
  return withFlavor(args.address, args.access, async (db, flavor) => {
    await mustBePrimary(db, flavor, args.address, 'delete');
    let deleted = 0;
    for (const table of data.tables!) {
      for (;;) {
        const rows = await db.query(`DELETE FROM ${quoted(data.database)}.${quoted(table)} WHERE ${args.inside ? inRange : `NOT ${inRange}`} LIMIT ${DELETE_BATCH}`, [], { timeoutMs: DDL_TIMEOUT_MS });
        const affected = Number((rows as unknown as { affectedRows?: number }).affectedRows ?? 0);
        deleted += affected;
        heartbeat({ deleting: `${data.database}.${table}`, deleted });
        if (affected < DELETE_BATCH) break;
      }
    }
    return { address: args.address, deleted };
  });
}

async function present(db: Db, data: MovedData): Promise<string[]> {
  if (!data.tables) {
    const rows = await db.query('SELECT SCHEMA_NAME AS d FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [data.database]);
    return rows.map((r) => String(r.d));
  }
  const rows = await db.query(`SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (${data.tables.map(() => '?').join(', ')}) ORDER BY TABLE_NAME`, [data.database, ...data.tables]);
  return rows.map((r) => `${data.database}.${String(r.t)}`);
}

async function drop(db: Db, data: MovedData): Promise<void> {
  if (!data.tables) await db.query(`DROP DATABASE IF EXISTS ${quoted(data.database)}`, [], { timeoutMs: DDL_TIMEOUT_MS });
  else for (const table of data.tables) await db.query(`DROP TABLE IF EXISTS ${quoted(data.database)}.${quoted(table)}`, [], { timeoutMs: DDL_TIMEOUT_MS });
}

async function mustBePrimary(db: Db, flavor: Flavor, address: string, what: string): Promise<void> {
  if (await flavor.readOnly(db)) throw ApplicationFailure.nonRetryable(`${address}: ${what} refused: the server is read-only; a shard's data changes on its cluster's primary`, 'NotPrimary');
}

type Dump = NonNullable<ReturnType<NonNullable<Flavor['databaseDumpCommand']>>>;

function dumpOf(flavor: Flavor, address: string, data: MovedData): Dump {
  const dump = flavor.databaseDumpCommand?.(data.database, data.tables);
  if (!dump) throw ApplicationFailure.nonRetryable(`${address}: ${flavor.name} has no shard copy here: shard moves need MariaDB`, 'Unsupported');
  return dump;
}

/** Each side's client account in its own defaults file: the two clusters may have different ones. */
async function withClients<T>(args: CopyShardArgs, flavor: Flavor, work: (donor: string, target: string) => Promise<T>): Promise<T> {
  const options = (access: Access) => [...clientAccount(resolveCredentials(access.admin)), ...(access.tls ? flavor.clientTlsOptions(access.tls) : [])];
  return withDefaultsFile(options(args.donorAccess), (donor) => withDefaultsFile(options(args.access), (target) => work(donor, target)));
}

/** The dump piped into the loader, counted as it passes (heartbeats carry the bytes), its position read from its tail. */
async function pipe(dump: Dump, donorDefaults: string, targetDefaults: string, args: CopyShardArgs, rows: number): Promise<{ position: string; bytes: number }> {
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
  const what = `${args.data.database}${args.data.tables ? ` (${args.data.tables.join(', ')})` : ''}`;
  const unsubscribe = onCancel(() => [dumper, loader].forEach(killGroup));
  try {
    const [dumped, loaded] = await beating(() => ({ copying: what, from: args.donor, bytes, rows }), () => Promise.all([exitOf(dumper, dump.program), exitOf(loader, dump.loader.program)]));
    // Killed because the move was cancelled: the cancellation is the answer, not the dead tools.
    throwIfCancelled();
    if (dumped) throw ApplicationFailure.retryable(`dump of ${what} from ${args.donor} failed: ${dumped}`, 'CopyFailed');
    if (loaded) throw ApplicationFailure.retryable(`load into ${args.address} failed: ${loaded}`, 'CopyFailed');
  } finally {
    unsubscribe();
  }
  const position = dump.position.exec(tail)?.[1];
  if (position === undefined) throw ApplicationFailure.nonRetryable(`the dump of ${args.donor} named no GTID position`, 'CopyPosition');
  return { position, bytes };
}

