import type { JoiningServer } from '../workflows/logic/joining';
import type { ServerArgs } from './server-state';
import { withFlavor } from './with-flavor';

/** What a server must have to join a GTID cluster, as it reports it (judged by joinProblems). */
export async function checkServerConfig(args: ServerArgs): Promise<JoiningServer> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const [row] = await db.query(flavor.name === 'mariadb'
      ? 'SELECT @@server_id AS id, @@log_bin AS bin, @@log_slave_updates AS upd, @@binlog_format AS fmt, @@gtid_strict_mode AS gtid'
      : "SELECT @@server_id AS id, @@log_bin AS bin, @@log_replica_updates AS upd, @@binlog_format AS fmt, (@@gtid_mode = 'ON' AND @@enforce_gtid_consistency = 'ON') AS gtid");
    return {
      address: args.address, flavor: flavor.name, serverId: Number(row.id), logBin: Number(row.bin) === 1,
      logReplicaUpdates: Number(row.upd) === 1, binlogFormat: String(row.fmt), gtidStrict: Number(row.gtid) === 1,
    };
  });
}
