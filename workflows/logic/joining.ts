import type { Flavor } from './gtid';

/** The settings that decide whether a server may join, with the names its flavor gives them. */
export interface JoiningSettings {
  serverId: number;
  logBin: boolean;
  logReplicaUpdates: boolean;
  /** What the flavor calls logReplicaUpdates (MariaDB log_slave_updates, MySQL log_replica_updates). */
  replicaUpdatesSetting: string;
  binlogFormat: string;
  /** MariaDB: gtid_strict_mode; MySQL: gtid_mode=ON with enforce_gtid_consistency=ON. */
  gtidStrict: boolean;
  /** What the flavor calls the setting(s) behind gtidStrict, for the message when it is not ON. */
  gtidSetting: string;
}

/** What a server reports about itself before it joins a cluster. */
export interface JoiningServer extends JoiningSettings {
  address: string;
  flavor: Flavor;
}

/** Why a server may not join (empty: it may): same flavor, a server_id of its own, binlog and GTID settings for safe failover. */
export function joinProblems(server: JoiningServer, flavor: string, serverIdsInUse: number[]): string[] {
  const problems: string[] = [];
  if (server.flavor !== flavor) problems.push(`it is ${server.flavor}, the cluster is ${flavor}`);
  if (serverIdsInUse.includes(server.serverId)) problems.push(`server_id ${server.serverId} is already used in the cluster`);
  if (!server.logBin) problems.push('log_bin is off');
  if (!server.logReplicaUpdates) problems.push(`${server.replicaUpdatesSetting} is off (it could not serve as a source after a failover)`);
  if (server.binlogFormat !== 'ROW') problems.push(`binlog_format is ${server.binlogFormat}, not ROW`);
  if (!server.gtidStrict) problems.push(`${server.gtidSetting} must be ON`);
  return problems;
}
