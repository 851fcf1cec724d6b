import { tlsFileOptions, type TlsFiles } from './credentials';
import type { JoiningSettings } from '../../workflows/logic/joining';
import type { Db, Row } from './connection';
import { sourceTlsOptions, type Flavor, type ReplicationStatus, type SemiSyncRole, type SemiSyncStatus, type SourceSpec } from './flavor';
import { num, nullableNum, text, variables, yes } from './rows';

/**
 * MySQL 8.0.26+ and 8.4 (CHANGE REPLICATION SOURCE needs 8.0.23, the
 * source/replica semi-sync plugins 8.0.26): uuid:interval GTID sets,
 * super_read_only as the fence. Status columns are read by their new names
 * first, then the pre-8.0.22 ones.
 */
export const mysqlFlavor: Flavor = {
  name: 'mysql',
  divergedRemedy: 'use --reprovision to replace its data with a copy of the cluster\'s',

  async executed(db: Db) {
    return String(await db.value('SELECT @@global.gtid_executed'));
  },

  // gtid_executed names every transaction by the uuid of the server it originated on.
  async history(db: Db) {
    return String(await db.value('SELECT @@global.gtid_executed'));
  },

  async originId(db: Db) {
    return String(await db.value('SELECT @@global.server_uuid')).toLowerCase();
  },

  // MySQL's gtid_executed already holds what the applier has committed.
  async applied(db: Db) {
    return String(await db.value('SELECT @@global.gtid_executed'));
  },

  async replicationStatus(db: Db) {
    const [row] = await db.query('SHOW REPLICA STATUS');
    return row ? parseMysqlReplicaRow(row) : null;
  },

  async semiSyncStatus(db: Db) {
    return parseMysqlSemiSync(
      variables(await db.query("SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%'")),
      variables(await db.query("SHOW GLOBAL STATUS LIKE 'rpl_semi_sync_%'")),
    );
  },

  // The fence is super_read_only: read_only alone lets SUPER and CONNECTION_ADMIN accounts write.
  async readOnly(db: Db) {
    return Number(await db.value('SELECT @@global.super_read_only')) === 1;
  },

  // super_read_only also stops accounts with SUPER / CONNECTION_ADMIN.
  setReadOnlyStatements(on: boolean) {
    return on ? ['SET GLOBAL super_read_only = ON'] : ['SET GLOBAL super_read_only = OFF', 'SET GLOBAL read_only = OFF'];
  },

  changeSourceStatements(source: SourceSpec) {
    const tls = sourceTlsOptions('SOURCE', source.tls);
    return [{
      sql: 'CHANGE REPLICATION SOURCE TO SOURCE_HOST = ?, SOURCE_PORT = ?, SOURCE_USER = ?, SOURCE_PASSWORD = ?, ' +
        'SOURCE_AUTO_POSITION = 1, SOURCE_HEARTBEAT_PERIOD = ?, SOURCE_CONNECT_RETRY = ?, GET_SOURCE_PUBLIC_KEY = 1' + tls.sql,
      params: [source.host, source.port, source.user, source.password, source.heartbeatSeconds, source.connectRetrySeconds, ...tls.params],
    }];
  },

  netTimeoutStatement: (seconds: number) => ({ sql: 'SET GLOBAL replica_net_timeout = ?', params: [seconds] }),
  startReplicationStatement: () => 'START REPLICA',
  startApplierStatement: () => 'START REPLICA SQL_THREAD',
  stopReplicationStatement: (ioOnly: boolean) => (ioOnly ? 'STOP REPLICA IO_THREAD' : 'STOP REPLICA'),
  resetReplicationStatement: () => 'RESET REPLICA ALL',

  waitForGtidQuery(gtid: string, timeoutSeconds: number) {
    return { sql: 'SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS reached', params: [gtid, timeoutSeconds], reached: (v: unknown) => isZero(v) };
  },

  cloneStatement(host: string, port: number, admin: { user: string; password: string }) {
    return { sql: 'CLONE INSTANCE FROM ?@?:? IDENTIFIED BY ?', params: [admin.user, host, port, admin.password] };
  },

  setSemiSyncStatements(role: SemiSyncRole) {
    if (role === 'off') return ['SET GLOBAL rpl_semi_sync_source_enabled = OFF', 'SET GLOBAL rpl_semi_sync_replica_enabled = OFF'];
    return [
      `SET GLOBAL rpl_semi_sync_source_enabled = ${role.primary ? 'ON' : 'OFF'}`,
      `SET GLOBAL rpl_semi_sync_replica_enabled = ${role.primary ? 'OFF' : 'ON'}`,
      ...(role.primary ? [`SET GLOBAL rpl_semi_sync_source_wait_point = ${role.waitPoint}`, `SET GLOBAL rpl_semi_sync_source_timeout = ${Math.floor(role.timeoutMs)}`] : []),
    ];
  },

  async attachedReplicas(db: Db) {
    return Number(await db.value("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'"));
  },

  async joiningSettings(db: Db) {
    const [row] = await db.query('SELECT @@server_id AS id, @@log_bin AS bin, @@log_replica_updates AS upd, @@binlog_format AS fmt, ' +
      '@@gtid_mode AS gtid_mode, @@enforce_gtid_consistency AS enforce_gtid_consistency');
    return parseMysqlJoiningRow(row);
  },

  // 8.2 renamed RESET MASTER, 8.4 removed the old name; a version that does not parse gets the 8.0 one.
  resetBinlogStatement(version: string) {
    const [major, minor] = version.split('.').map((part) => parseInt(part, 10));
    return major > 8 || (major === 8 && minor >= 2) ? 'RESET BINARY LOGS AND GTIDS' : 'RESET MASTER';
  },

  // --set-gtid-purged=ON: the dump sets gtid_purged to the position it was taken at, which needs
  // the target's gtid_executed empty (resetBinlogStatement first).
  copyPositionStatement: (gtid: string) => ({ sql: 'SET GLOBAL gtid_purged = ?', params: [gtid] }),

  dumpCommand: () => ({
    program: 'mysqldump',
    args: ['--single-transaction', '--set-gtid-purged=ON', '--all-databases', '--routines', '--events', '--triggers'],
  }),

  // sql_log_bin=0: the target writes no transaction of its own while loading.
  loadCommand: () => ({ program: 'mysql', args: ['--init-command=SET SESSION sql_log_bin = 0'] }),
  // MySQL 8 clients have no ssl-verify-server-cert: the mode says it.
  clientTlsOptions: (files: TlsFiles) => [...tlsFileOptions(files), 'ssl-mode=VERIFY_IDENTITY'],

  // A MySQL replica never runs triggers for the row events it applies, and
  // server_id has no session scope to tell the applier by.
  clientSessionCondition: () => 'TRUE',
};

/** gtid_mode must be ON itself (not ON_PERMISSIVE), and enforce_gtid_consistency ON (not WARN). */
export function parseMysqlJoiningRow(row: Row): JoiningSettings {
  return {
    serverId: num(row, 'id'), logBin: num(row, 'bin') === 1, logReplicaUpdates: num(row, 'upd') === 1, replicaUpdatesSetting: 'log_replica_updates',
    binlogFormat: text(row, 'fmt'), gtidStrict: text(row, 'gtid_mode') === 'ON' && text(row, 'enforce_gtid_consistency') === 'ON',
    gtidSetting: 'gtid_mode and enforce_gtid_consistency',
  };
}

/** NULL is no answer (the function returns it inside an applier thread), not "reached". */
function isZero(value: unknown): boolean {
  return value !== null && value !== undefined && value !== '' && Number(value) === 0;
}

export function parseMysqlReplicaRow(row: Row): ReplicationStatus {
  const io = text(row, 'Replica_IO_Running', 'Slave_IO_Running');
  return {
    sourceHost: text(row, 'Source_Host', 'Master_Host'),
    sourcePort: num(row, 'Source_Port', 'Master_Port'),
    ioRunning: yes(io),
    ioConnecting: io === 'Connecting',
    sqlRunning: yes(text(row, 'Replica_SQL_Running', 'Slave_SQL_Running')),
    ioErrno: num(row, 'Last_IO_Errno'),
    ioError: text(row, 'Last_IO_Error'),
    sqlErrno: num(row, 'Last_SQL_Errno'),
    sqlError: text(row, 'Last_SQL_Error'),
    secondsBehind: nullableNum(row, 'Seconds_Behind_Source', 'Seconds_Behind_Master'),
    received: text(row, 'Retrieved_Gtid_Set').replace(/\s+/g, ''),
    usingGtid: num(row, 'Auto_Position') === 1,
    tls: yes(text(row, 'Source_SSL_Allowed', 'Master_SSL_Allowed')),
  };
}

/** Plugin names changed in 8.0.26 (source/replica); the old master/slave ones still load. */
export function parseMysqlSemiSync(vars: Record<string, string>, status: Record<string, string>): SemiSyncStatus {
  const pick = (record: Record<string, string>, a: string, b: string) => record[a] ?? record[b];
  const timeout = pick(vars, 'rpl_semi_sync_source_timeout', 'rpl_semi_sync_master_timeout');
  return {
    primaryEnabled: yes(pick(vars, 'rpl_semi_sync_source_enabled', 'rpl_semi_sync_master_enabled')),
    primaryActive: yes(pick(status, 'rpl_semi_sync_source_status', 'rpl_semi_sync_master_status')),
    replicaEnabled: yes(pick(vars, 'rpl_semi_sync_replica_enabled', 'rpl_semi_sync_slave_enabled')),
    replicaActive: yes(pick(status, 'rpl_semi_sync_replica_status', 'rpl_semi_sync_slave_status')),
    primaryClients: Number(pick(status, 'rpl_semi_sync_source_clients', 'rpl_semi_sync_master_clients') ?? 0),
    waitPoint: pick(vars, 'rpl_semi_sync_source_wait_point', 'rpl_semi_sync_master_wait_point') ?? '',
    timeoutMs: timeout === undefined ? null : Number(timeout),
  };
}
