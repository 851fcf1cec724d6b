import { mariadbGtid } from './gtid-mariadb';
import { mysqlGtid } from './gtid-mysql';

export type Flavor = 'mariadb' | 'mysql';

/** What each flavor implements, on positions as the servers print them. */
export interface GtidOps {
  normalize(position: string): string;
  contains(a: string, b: string): boolean;
  subtract(a: string, b: string): string;
  divergent(a: string, b: string): string;
  union(a: string, b: string): string;
  isEmpty(position: string): boolean;
  transactionCount(position: string): number;
  /** The servers (MariaDB server_id, MySQL server_uuid) that transactions of a history originated on. */
  origins(history: string): string[];
  /**
   * The transactions of a history that originated on none of `origins`;
   * MariaDB: only in the domains `origins` wrote in (see gtidErrant).
   */
  fromOthers(history: string, origins: string[]): string;
}

const OPS: Record<Flavor, GtidOps> = { mariadb: mariadbGtid, mysql: mysqlGtid };

function opsFor(flavor: Flavor): GtidOps {
  const ops = OPS[flavor];
  if (!ops) throw new Error(`unknown flavor "${flavor}": expected mariadb or mysql`);
  return ops;
}

/** True when a holds every transaction of b. */
export function gtidContains(flavor: Flavor, a: string, b: string): boolean {
  return opsFor(flavor).contains(a, b);
}

/** What a has that b lacks, in canonical form. */
export function gtidSubtract(flavor: Flavor, a: string, b: string): string {
  return opsFor(flavor).subtract(a, b);
}

/**
 * What a holds that b lacks, for deciding whether a may replicate from b.
 * Unlike gtidSubtract, MariaDB also counts the same seq written by another
 * server in a domain: the two histories split there.
 */
export function gtidDivergent(flavor: Flavor, a: string, b: string): string {
  return opsFor(flavor).divergent(a, b);
}

export function gtidUnion(flavor: Flavor, a: string, b: string): string {
  return opsFor(flavor).union(a, b);
}

export function gtidEqual(flavor: Flavor, a: string, b: string): boolean {
  return gtidContains(flavor, a, b) && gtidContains(flavor, b, a);
}

export function gtidIsEmpty(flavor: Flavor, position: string): boolean {
  return opsFor(flavor).isEmpty(position);
}

export function gtidNormalize(flavor: Flavor, position: string): string {
  return opsFor(flavor).normalize(position);
}

/** A size to break ties between positions: MariaDB sums seqs, MySQL counts transactions. */
export function gtidTransactionCount(flavor: Flavor, position: string): number {
  return opsFor(flavor).transactionCount(position);
}

/** Origins (MariaDB server_id, MySQL server_uuid) of every transaction in a history (MariaDB: gtid_binlog_state). */
export function gtidOrigins(flavor: Flavor, history: string): string[] {
  return opsFor(flavor).origins(history);
}

/**
 * Errant transactions: those of a history that originated on a server that
 * was never the primary of a recorded view (written locally on a replica).
 * MariaDB: only in the cluster's own domains, those a recorded primary wrote
 * in; a domain none of them wrote in is another cluster's, replicated in
 * through a channel on the primary (a shard move), and never errant. A
 * history without any recorded primary's transaction does not tell its
 * domains: every one counts. MySQL has no domains: see gtid-mysql.ts.
 */
export function gtidErrant(flavor: Flavor, history: string, primaries: string[]): string {
  return opsFor(flavor).fromOthers(history, primaries);
}
