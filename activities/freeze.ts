import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { beating } from './context';
import type { Db } from './db/connection';
import type { Flavor } from './db/flavor';
import { serverErrorCode } from './db/errors';
import { quoted } from './db/identifier';
import type { ServerArgs } from './server-state';
import { withFlavor } from './with-flavor';

/**
 * The write freeze: BEFORE INSERT / UPDATE / DELETE triggers that SIGNAL an
 * error for every account but gtidflow's admin account (README: Per-database
 * capabilities and the write freeze). A trigger is checked by every
 * statement, so sessions already open are refused at their next write; it is
 * DDL in the data, so it replicates to the replicas and stays in force on
 * whichever server is promoted; row events a replica applies do not fire it.
 */

/** What a freeze covers: a database, some of its tables, or a key range [lo, hi) of them (hi null: no upper bound). */
export interface FreezeSpec {
  database: string;
  /** Default: every base table of the database at the time of the freeze. */
  tables?: string[];
  key?: { column: string; lo: number; hi: number | null };
}

export interface FreezeArgs extends ServerArgs {
  freeze: FreezeSpec;
  /** Which freeze this is (a freeze is thawed by its name): lower-case letters, digits and hyphens. */
  name: string;
  /** The why in the refusal's message, e.g. "capability read-only"; default the name. */
  reason?: string;
}

export interface FreezeResult {
  address: string;
  /** false when the freeze was already installed as asked. */
  changed: boolean;
  database: string;
  tables: string[];
}

export interface ThawArgs extends ServerArgs {
  database: string;
  name: string;
}

export interface ThawResult {
  address: string;
  /** false when no trigger of this freeze was left. */
  changed: boolean;
  /** The triggers dropped. */
  dropped: string[];
}

const EVENTS = [['ins', 'INSERT'], ['upd', 'UPDATE'], ['del', 'DELETE']] as const;
type EventTag = (typeof EVENTS)[number][0];

/**
 * How long creating a trigger waits for the table's metadata lock: a
 * transaction open on the table holds it, and statements queue behind the
 * waiting CREATE, so the step gives up (and is retried) rather than stall
 * the application.
 */
const LOCK_WAIT_SECONDS = 3;
const STATEMENT_TIMEOUT_MS = (LOCK_WAIT_SECONDS + 10) * 1000;
const NAME = /^[a-z0-9-]{1,20}$/;
const DATABASE = /^[A-Za-z0-9_$]{1,64}$/;
const COLUMN = /^[A-Za-z0-9_$]{1,64}$/;
/** MESSAGE_TEXT holds 128 characters. */
const MESSAGE_MAX = 128;

/** Every trigger of freeze `name` begins so (name has no underscore, so another freeze's never does). */
export function freezeTriggerPrefix(name: string): string {
  return `gtidflow_freeze_${name}_`;
}

/** Installs freeze `name` as `freeze` describes it; what it installed before in a different form is replaced, new triggers first. */
export async function freezeWrites(args: FreezeArgs): Promise<FreezeResult> {
  const { freeze, name } = args;
  const problem = freezeProblem(args);
  if (problem) throw ApplicationFailure.nonRetryable(`${args.address}: freeze refused: ${problem}`, 'BadFreeze');
  return beating(() => ({ freezing: freeze.database }), () => withFlavor(args.address, args.access, async (db, flavor) => {
    await mustBeWritable(db, flavor, args.address, 'freeze');
    await db.query(`SET SESSION lock_wait_timeout = ${LOCK_WAIT_SECONDS}`);
    const tables = await tablesOf(db, args.address, freeze);
    if (freeze.key) await checkKeyColumn(db, args.address, freeze.database, tables, freeze.key.column);
    const message = refusalMessage(freeze.database, args.reason ?? name);
    const wanted = tables.flatMap((table) => EVENTS.map(([tag, event]) => trigger(flavor, args, table, tag, event, message)));
    const installed = await installedTriggers(db, freeze.database, name);
    let changed = false;
    for (const t of wanted) {
      if (installed.includes(t.name)) continue;
      try {
        await db.query(t.sql, [], { timeoutMs: STATEMENT_TIMEOUT_MS });
      } catch (err) {
        // Another run of this very step created it meanwhile.
        if (serverErrorCode(err) !== 'ER_TRG_ALREADY_EXISTS') throw err;
      }
      changed = true;
    }
    const names = new Set(wanted.map((t) => t.name));
    for (const stale of installed.filter((n) => !names.has(n))) {
      await db.query(`DROP TRIGGER IF EXISTS ${quoted(freeze.database)}.${quoted(stale)}`, [], { timeoutMs: STATEMENT_TIMEOUT_MS });
      changed = true;
    }
    return { address: args.address, changed, database: freeze.database, tables };
  }));
}

/** Drops every trigger of freeze `name` in the database, and nothing else. */
export async function thawWrites(args: ThawArgs): Promise<ThawResult> {
  const problem = namingProblem(args.name, args.database);
  if (problem) throw ApplicationFailure.nonRetryable(`${args.address}: thaw refused: ${problem}`, 'BadFreeze');
  return beating(() => ({ thawing: args.database }), () => withFlavor(args.address, args.access, async (db, flavor) => {
    const installed = await installedTriggers(db, args.database, args.name);
    if (!installed.length) return { address: args.address, changed: false, dropped: [] };
    await mustBeWritable(db, flavor, args.address, 'thaw');
    await db.query(`SET SESSION lock_wait_timeout = ${LOCK_WAIT_SECONDS}`);
    for (const name of installed) {
      await db.query(`DROP TRIGGER IF EXISTS ${quoted(args.database)}.${quoted(name)}`, [], { timeoutMs: STATEMENT_TIMEOUT_MS });
    }
    return { address: args.address, changed: true, dropped: installed };
  }));
}

/** The one line an application gets for a refused write. */
export function refusalMessage(database: string, reason: string): string {
  const head = `gtidflow: ${database} is read-only (`;
  const why = reason.replace(/[\\\r\n]/g, ' ').slice(0, MESSAGE_MAX - head.length - 1);
  return `${head}${why})`;
}

function namingProblem(name: string, database: string): string | undefined {
  if (!NAME.test(name)) return `freeze name "${name}" is not lower-case letters, digits and hyphens (at most 20)`;
  if (!DATABASE.test(database)) return `"${database}" is not a database name`;
  return undefined;
}

function freezeProblem({ freeze, name, access }: FreezeArgs): string | undefined {
  const naming = namingProblem(name, freeze.database);
  if (naming) return naming;
  if (freeze.tables && !freeze.tables.length) return 'no table named';
  for (const table of freeze.tables ?? []) if (!table || table.length > 64 || /[`\\]/.test(table)) return `"${table}" is not a table name`;
  if (access.admin.user.includes('\\')) return `the admin account's name ${access.admin.user} has a backslash: the freeze cannot name it`;
  const key = freeze.key;
  if (key) {
    if (!COLUMN.test(key.column)) return `"${key.column}" is not a column name`;
    if (!Number.isSafeInteger(key.lo) || (key.hi !== null && !Number.isSafeInteger(key.hi))) return `the range ${key.lo}:${key.hi ?? ''} is not of whole numbers`;
    if (key.hi !== null && key.hi <= key.lo) return `the range ${key.lo}:${key.hi} is empty`;
  }
  return undefined;
}

/**
 * A trigger on a replica would be a transaction of its own there (errant),
 * and a fenced old primary is no place for one: freezes go on the primary,
 * from where they replicate.
 */
async function mustBeWritable(db: Db, flavor: Flavor, address: string, what: string): Promise<void> {
  if (await flavor.readOnly(db)) {
    throw ApplicationFailure.nonRetryable(`${address}: ${what} refused: the server is read-only; a freeze is installed on the primary and replicates`, 'NotPrimary');
  }
}

async function tablesOf(db: Db, address: string, freeze: FreezeSpec): Promise<string[]> {
  const rows = await db.query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", [freeze.database]);
  const present = rows.map((r) => String(r.t));
  if (!freeze.tables) return present;
  const missing = freeze.tables.filter((t) => !present.includes(t));
  if (missing.length) throw ApplicationFailure.nonRetryable(`${address}: freeze refused: no table ${missing.map((t) => `${freeze.database}.${t}`).join(', ')}`, 'NoSuchTable');
  return [...new Set(freeze.tables)];
}

async function checkKeyColumn(db: Db, address: string, database: string, tables: string[], column: string): Promise<void> {
  const rows = await db.query('SELECT TABLE_NAME AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND COLUMN_NAME = ?', [database, column]);
  const having = new Set(rows.map((r) => String(r.t)));
  const without = tables.filter((t) => !having.has(t));
  if (without.length) throw ApplicationFailure.nonRetryable(`${address}: freeze refused: no column ${column} in ${without.map((t) => `${database}.${t}`).join(', ')}`, 'NoSuchColumn');
}

async function installedTriggers(db: Db, database: string, name: string): Promise<string[]> {
  const prefix = freezeTriggerPrefix(name);
  const rows = await db.query('SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND LEFT(TRIGGER_NAME, ?) = ? ORDER BY TRIGGER_NAME', [database, prefix.length, prefix]);
  return rows.map((r) => String(r.n));
}

/**
 * One trigger of the freeze. Its name carries a digest of its table and
 * body, so a freeze asked again in the same form finds it installed, and
 * one asked in another (a new range, reason or admin account) gets new
 * triggers, installed before the old ones go: the table is never unfrozen
 * between. A new trigger fires after the table's existing ones of the same
 * event (both families order them by creation), so the application's own
 * triggers still run and a range is judged on the key they leave.
 */
function trigger(flavor: Flavor, args: FreezeArgs, table: string, tag: EventTag, event: string, message: string): { name: string; sql: string } {
  const { database, key } = args.freeze;
  const conditions = [`SUBSTRING_INDEX(USER(), '@', 1) <> ${literal(args.access.admin.user)}`, flavor.clientSessionCondition()];
  if (key) {
    const inRange = (row: 'NEW' | 'OLD') => `(${row}.${quoted(key.column)} >= ${key.lo}${key.hi === null ? '' : ` AND ${row}.${quoted(key.column)} < ${key.hi}`})`;
    // An update is refused when it changes a row in the range or moves a row into it.
    conditions.push(tag === 'ins' ? inRange('NEW') : tag === 'del' ? inRange('OLD') : `(${inRange('OLD')} OR ${inRange('NEW')})`);
  }
  const body = `IF ${conditions.join(' AND ')} THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = ${literal(message)}; END IF`;
  const digest = createHash('sha1').update(`${table}\0${event}\0${body}`).digest('hex').slice(0, 8);
  const head = `${freezeTriggerPrefix(args.name)}${tag}_${digest}_`;
  const name = head + [...table].slice(0, 64 - head.length).join('');
  return { name, sql: `CREATE TRIGGER ${quoted(database)}.${quoted(name)} BEFORE ${event} ON ${quoted(database)}.${quoted(table)} FOR EACH ROW ${body}` };
}

/** A string literal that means the same whatever the sql_mode (no backslash: refused or replaced before). */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

