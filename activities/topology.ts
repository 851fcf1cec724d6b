import { ApplicationFailure } from '@temporalio/common';
import type { ServerArgs } from './server-state';
import { withDb } from './db/connection';

/** One view of a cluster, as published for routers and applications to read with SQL. */
export interface PublishedView {
  cluster: string;
  viewId: number;
  primary: string;
  servers: { address: string; status: string; penalty: number; capability: string; databases?: Record<string, string> }[];
}

const SCHEMA = [
  'CREATE DATABASE IF NOT EXISTS gtidflow',
  `CREATE TABLE IF NOT EXISTS gtidflow.view (
     cluster VARCHAR(64) PRIMARY KEY, view_id BIGINT NOT NULL, primary_address VARCHAR(255) NOT NULL,
     published_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))`,
  `CREATE TABLE IF NOT EXISTS gtidflow.servers (
     cluster VARCHAR(64) NOT NULL, address VARCHAR(255) NOT NULL, status VARCHAR(16) NOT NULL,
     penalty INT NOT NULL, capability VARCHAR(16) NOT NULL, PRIMARY KEY (cluster, address))`,
  `CREATE TABLE IF NOT EXISTS gtidflow.database_capabilities (
     cluster VARCHAR(64) NOT NULL, address VARCHAR(255) NOT NULL, database_name VARCHAR(64) NOT NULL,
     capability VARCHAR(16) NOT NULL, PRIMARY KEY (cluster, address, database_name))`,
];

/**
 * Writes the view into the `gtidflow` schema on the primary, from where it
 * replicates to every member. The view id fences: a view older than the one
 * stored is refused, the same one is already there.
 */
export async function publishTopology(args: ServerArgs & { view: PublishedView }): Promise<{ address: string; changed: boolean }> {
  const { view } = args;
  return withDb(args.address, args.access, async (db) => {
    for (const sql of SCHEMA) await db.query(sql);
    await db.query('START TRANSACTION');
    try {
      const [stored] = await db.query('SELECT view_id FROM gtidflow.view WHERE cluster = ? FOR UPDATE', [view.cluster]);
      const storedId = stored ? Number(stored.view_id) : -1;
      if (storedId > view.viewId) {
        throw ApplicationFailure.nonRetryable(`${args.address}: stale view ${view.viewId}: view ${storedId} is already published`, 'StaleView');
      }
      if (storedId === view.viewId) {
        await db.query('ROLLBACK');
        return { address: args.address, changed: false };
      }
      await db.query('REPLACE INTO gtidflow.view (cluster, view_id, primary_address) VALUES (?, ?, ?)', [view.cluster, view.viewId, view.primary]);
      await db.query('DELETE FROM gtidflow.servers WHERE cluster = ?', [view.cluster]);
      await db.query('DELETE FROM gtidflow.database_capabilities WHERE cluster = ?', [view.cluster]);
      for (const s of view.servers) {
        await db.query('INSERT INTO gtidflow.servers VALUES (?, ?, ?, ?, ?)', [view.cluster, s.address, s.status, s.penalty, s.capability]);
        for (const [database, capability] of Object.entries(s.databases ?? {})) {
          await db.query('INSERT INTO gtidflow.database_capabilities VALUES (?, ?, ?, ?)', [view.cluster, s.address, database, capability]);
        }
      }
      await db.query('COMMIT');
      return { address: args.address, changed: true };
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

/** The view id published for a cluster on this server, or null when none is. */
export async function readPublishedView(args: ServerArgs & { cluster: string }): Promise<number | null> {
  return withDb(args.address, args.access, async (db) => {
    const exists = await db.query("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'gtidflow' AND TABLE_NAME = 'view'");
    if (!exists.length) return null;
    const [row] = await db.query('SELECT view_id FROM gtidflow.view WHERE cluster = ?', [args.cluster]);
    return row ? Number(row.view_id) : null;
  });
}
