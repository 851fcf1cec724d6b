import { ApplicationFailure } from '@temporalio/common';
import type { ShardMap } from '../workflows/shard-model';
import { withDb } from './db/connection';
import type { ServerArgs } from './server-state';

const SCHEMA = [
  'CREATE DATABASE IF NOT EXISTS gtidflow',
  `CREATE TABLE IF NOT EXISTS gtidflow.shard_map_version (
     id TINYINT PRIMARY KEY, version BIGINT NOT NULL, published_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))`,
  `CREATE TABLE IF NOT EXISTS gtidflow.shard_map (
     shard VARCHAR(64) PRIMARY KEY, kind VARCHAR(16) NOT NULL, cluster VARCHAR(64) NOT NULL,
     database_name VARCHAR(64) NULL, table_names TEXT NULL, key_column VARCHAR(64) NULL, key_lo BIGINT NULL, key_hi BIGINT NULL,
     endpoint_host VARCHAR(255) NULL, endpoint_port INT NULL)`,
];

/**
 * Writes the shard map into the `gtidflow` schema on a cluster's primary,
 * from where it replicates to every member (as the view does). The version
 * fences: an older map than the one stored is refused, the same one is
 * already there.
 */
export async function publishShardMap(args: ServerArgs & { map: ShardMap }): Promise<{ address: string; changed: boolean }> {
  const { map } = args;
  return withDb(args.address, args.access, async (db) => {
    for (const sql of SCHEMA) await db.query(sql);
    await db.query('START TRANSACTION');
    try {
      const [stored] = await db.query('SELECT version FROM gtidflow.shard_map_version WHERE id = 1 FOR UPDATE');
      const storedVersion = stored ? Number(stored.version) : -1;
      if (storedVersion > map.version) {
        throw ApplicationFailure.nonRetryable(`${args.address}: stale shard map ${map.version}: version ${storedVersion} is already published`, 'StaleShardMap');
      }
      if (storedVersion === map.version) {
        await db.query('ROLLBACK');
        return { address: args.address, changed: false };
      }
      await db.query('REPLACE INTO gtidflow.shard_map_version (id, version) VALUES (1, ?)', [map.version]);
      await db.query('DELETE FROM gtidflow.shard_map');
      for (const s of map.shards) {
        const [database, tables, key, lo, hi, host, port] = s.kind === 'database'
          ? [s.database, null, null, null, null, s.endpoint?.host ?? null, s.endpoint?.port ?? null]
          : [null, s.tables.join(','), s.key, s.range.lo, s.range.hi, null, null];
        await db.query('INSERT INTO gtidflow.shard_map VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [s.name, s.kind, s.cluster, database, tables, key, lo, hi, host, port]);
      }
      await db.query('COMMIT');
      return { address: args.address, changed: true };
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}
