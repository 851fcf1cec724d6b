/** What a server reports about itself before it joins a cluster. */
export interface JoiningServer {
  address: string;
  flavor: 'mariadb' | 'mysql';
  serverId: number;
  logBin: boolean;
  logReplicaUpdates: boolean;
  binlogFormat: string;
  /** MariaDB: gtid_strict_mode; MySQL: gtid_mode=ON with enforce_gtid_consistency. */
  gtidStrict: boolean;
}

/** Why a server may not join (empty: it may): same flavor, a server_id of its own, binlog and GTID settings for safe failover. */
export function joinProblems(server: JoiningServer, flavor: string, serverIdsInUse: number[]): string[] {
  const problems: string[] = [];
  if (server.flavor !== flavor) problems.push(`it is ${server.flavor}, the cluster is ${flavor}`);
  if (serverIdsInUse.includes(server.serverId)) problems.push(`server_id ${server.serverId} is already used in the cluster`);
  if (!server.logBin) problems.push('log_bin is off');
  if (!server.logReplicaUpdates) problems.push('log_slave_updates is off (it could not serve as a source after a failover)');
  if (server.binlogFormat !== 'ROW') problems.push(`binlog_format is ${server.binlogFormat}, not ROW`);
  if (!server.gtidStrict) problems.push(server.flavor === 'mariadb' ? 'gtid_strict_mode is off' : 'gtid_mode/enforce_gtid_consistency are not ON');
  return problems;
}
