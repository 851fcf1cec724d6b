import type { KeyRange, RangeShard, Shard, ShardMap } from '../shard-model';

/** Shard names: they name HAProxy frontends and replication connections. */
const SHARD_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const IDENTIFIER = /^[A-Za-z0-9_$]{1,64}$/;

/** Why a shard cannot be added to the map as it is, or undefined. */
export function shardProblem(map: ShardMap, shard: Shard): string | undefined {
  if (!SHARD_NAME.test(shard.name)) return `a shard name is lower-case letters, digits and hyphens (at most 40), not "${shard.name}"`;
  if (map.shards.some((s) => s.name === shard.name)) return `shard ${shard.name} already exists`;
  if (shard.kind === 'database') {
    if (!IDENTIFIER.test(shard.database)) return `"${shard.database}" is not a database name`;
    const holder = map.shards.find((s) => databasesOf(s).includes(shard.database));
    if (holder) return `database ${shard.database} is already in shard ${holder.name}`;
    return undefined;
  }
  if (!shard.tables.length) return 'a range shard needs --table <db.table>';
  for (const table of shard.tables) {
    const parts = table.split('.');
    if (parts.length !== 2 || !parts.every((p) => IDENTIFIER.test(p))) return `"${table}" is not a table named as db.table`;
  }
  if (!IDENTIFIER.test(shard.key)) return `"${shard.key}" is not a column name`;
  const range = rangeProblem(shard.range);
  if (range) return range;
  for (const other of map.shards) {
    if (other.kind === 'database') {
      const inside = shard.tables.find((t) => t.split('.')[0] === other.database);
      if (inside) return `${inside} is in database shard ${other.name}`;
    } else if (other.tables.some((t) => shard.tables.includes(t))) {
      if (other.key !== shard.key || !sameTables(other.tables, shard.tables)) {
        return `shard ${other.name} shards ${other.tables.join(',')} on ${other.key}: a range shard names the same tables and key as the others over them`;
      }
      if (overlap(other.range, shard.range)) return `the range ${formatRange(shard.range)} overlaps shard ${other.name} (${formatRange(other.range)})`;
    }
  }
  return undefined;
}

export function rangeProblem(range: KeyRange): string | undefined {
  if (!Number.isSafeInteger(range.lo) || (range.hi !== null && !Number.isSafeInteger(range.hi))) return `the range ${formatRange(range)} is not of whole numbers`;
  if (range.hi !== null && range.hi <= range.lo) return `the range ${formatRange(range)} is empty`;
  return undefined;
}

/** "lo:hi", or "lo:" without an upper bound; refused with one line otherwise. */
export function parseRange(text: string): KeyRange {
  const match = /^(-?\d+):(-?\d+)?$/.exec(text);
  if (!match) throw new Error(`a range is lo:hi or lo: (whole numbers), not "${text}"`);
  const range = { lo: Number(match[1]), hi: match[2] === undefined ? null : Number(match[2]) };
  const problem = rangeProblem(range);
  if (problem) throw new Error(problem);
  return range;
}

export function formatRange(range: KeyRange): string {
  return `${range.lo}:${range.hi ?? ''}`;
}

export function inRange(range: KeyRange, key: number): boolean {
  return key >= range.lo && (range.hi === null || key < range.hi);
}

/** The range shard over `table` that holds `key`, if any. */
export function shardOfKey(map: ShardMap, table: string, key: number): RangeShard | undefined {
  return map.shards.find((s): s is RangeShard => s.kind === 'range' && s.tables.includes(table) && inRange(s.range, key));
}

/** The databases a shard's data lives in. */
export function databasesOf(shard: Shard): string[] {
  return shard.kind === 'database' ? [shard.database] : [...new Set(shard.tables.map((t) => t.split('.')[0]))];
}

/** The next version of the map, with `change` applied. */
export function nextMap(map: ShardMap, at: string, change: (shards: Shard[]) => Shard[]): ShardMap {
  return { version: map.version + 1, at, shards: change(map.shards) };
}

export function movedTo(shards: Shard[], name: string, cluster: string): Shard[] {
  return shards.map((s) => (s.name === name ? { ...s, cluster } : s));
}

/** A split: the range shard keeps [lo, at), a new shard `as` on `cluster` takes [at, hi). */
export function splitAt(shards: Shard[], name: string, split: { at: number; as: string }, cluster: string): Shard[] {
  return shards.flatMap((s) => {
    if (s.name !== name || s.kind !== 'range') return [s];
    return [{ ...s, range: { lo: s.range.lo, hi: split.at } }, { ...s, name: split.as, cluster, range: { lo: split.at, hi: s.range.hi } }];
  });
}

/** Why a range shard cannot be split so, or undefined. */
export function splitProblem(map: ShardMap, shard: RangeShard, split: { at: number; as: string }): string | undefined {
  if (!Number.isSafeInteger(split.at) || split.at <= shard.range.lo || (shard.range.hi !== null && split.at >= shard.range.hi)) {
    return `--at ${split.at} is not inside shard ${shard.name}'s range ${formatRange(shard.range)}: both parts must hold keys`;
  }
  if (split.as === shard.name) return `the new shard needs a name of its own, not ${shard.name}`;
  if (new Set(shard.tables.map((t) => t.split('.')[0])).size > 1) return `shard ${shard.name}'s tables are in several databases: a split copies one database's tables`;
  return shardProblem({ ...map, shards: map.shards.filter((s) => s.name !== shard.name) }, { ...shard, name: split.as, range: { lo: split.at, hi: shard.range.hi } });
}

/**
 * The data a move carries: a database shard's whole database; a split's
 * tables, copied whole (so the catch-up applies every row event: one for a
 * row the copy lacked would stop it), and the key range the destination
 * keeps, which the cut-over freezes on the source.
 */
export interface MovedData {
  database: string;
  /** null: every table of the database. */
  tables: string[] | null;
  key?: { column: string; lo: number; hi: number | null };
}

export function movedData(shard: Shard, split?: { at: number }): MovedData {
  if (shard.kind === 'database') return { database: shard.database, tables: null };
  return {
    database: shard.tables[0].split('.')[0],
    tables: shard.tables.map((t) => t.split('.')[1]),
    key: { column: shard.key, lo: split?.at ?? shard.range.lo, hi: shard.range.hi },
  };
}

/** The replication filter of a move's catch-up: db.table patterns. */
export function movedTables(data: MovedData): string[] {
  return data.tables ? data.tables.map((t) => `${data.database}.${t}`) : [`${data.database}.%`];
}

/**
 * The name of a move's write freeze (activities/freeze.ts: at most 20
 * characters): a digest of the shard's name, so two shards never share one.
 */
export function moveFreezeName(shard: string): string {
  let hash = 0x811c9dc5;
  for (const ch of shard) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `shard-${hash.toString(16).padStart(8, '0')}`;
}

/** The destination primary's replication connection that catches a move up (shard names have no underscore: one name each). */
export function channelName(shard: string): string {
  return `${SHARD_CHANNEL_PREFIX}${shard.replace(/-/g, '_')}`;
}

export const SHARD_CHANNEL_PREFIX = 'gtidflow_shard_';

function overlap(a: KeyRange, b: KeyRange): boolean {
  return (a.hi === null || b.lo < a.hi) && (b.hi === null || a.lo < b.hi);
}

function sameTables(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((t) => b.includes(t));
}
