import { tlsFileOptions, type TlsFiles } from './credentials';
import { gtidContains, gtidUnion } from '../../workflows/logic/gtid';
import { withDomainsOf } from '../../workflows/logic/gtid-mariadb';
import type { JoiningSettings } from '../../workflows/logic/joining';
import type { Db } from './connection';
import { sourceTlsOptions, type Flavor, type ReplicationStatus, type SemiSyncRole, type SemiSyncStatus, type SourceSpec } from './flavor';
import { num, nullableNum, text, variables, yes } from './rows';
import type { Row } from './connection';

/** MariaDB 10.11: domain-server-seq positions, CHANGE MASTER, MASTER_GTID_WAIT. */
export const mariadb: Flavor = {
  name: 'mariadb',
  divergedRemedy: 'if it is an old primary that was killed, its extra transactions may be ones no replica acknowledged: '
    + 'restarting it with --init-rpl-role=SLAVE truncates such transactions; otherwise use --reprovision',

  // The binlog alone misses what a provisioned server got from a dump (only
  // gtid_slave_pos holds that), so executed is the per-domain latest of both.
  async executed(db: Db) {
    const [row] = await db.query('SELECT @@global.gtid_binlog_pos AS binlog, @@global.gtid_slave_pos AS slave');
    return gtidUnion('mariadb', String(row.binlog), String(row.slave));
  },

  async history(db: Db) {
    return String(await db.value('SELECT @@global.gtid_binlog_state'));
  },

  async originId(db: Db) {
    return String(await db.value('SELECT @@global.server_id'));
  },

  async applied(db: Db) {
    return String(await db.value('SELECT @@global.gtid_slave_pos'));
  },

  async replicationStatus(db: Db) {
    const [row] = await db.query('SHOW SLAVE STATUS');
    return row ? parseMariadbReplicaRow(row) : null;
  },

  // The default connection's file, position and heartbeat count (SHOW SLAVE STATUS has neither the count nor the period).
  async receiveProgress(db: Db) {
    const row = (await db.query('SHOW ALL SLAVES STATUS')).find((r) => r.Connection_name === '');
    if (!row || text(row, 'Slave_received_heartbeats') === '') return null;
    const progress = `${text(row, 'Master_Log_File')}:${text(row, 'Read_Master_Log_Pos')}:${text(row, 'Slave_received_heartbeats')}`;
    return { progress, heartbeatSeconds: num(row, 'Slave_heartbeat_period') };
  },

  async receiverSessions(db: Db) {
    return (await db.query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'")).map((r) => Number(r.ID));
  },

  async semiSyncStatus(db: Db) {
    return parseMariadbSemiSync(
      variables(await db.query("SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%'")),
      variables(await db.query("SHOW GLOBAL STATUS LIKE 'rpl_semi_sync_%'")),
    );
  },

  async readOnly(db: Db) {
    return Number(await db.value('SELECT @@global.read_only')) === 1;
  },

  setReadOnlyStatements(on: boolean) {
    return [`SET GLOBAL read_only = ${on ? 1 : 0}`];
  },

  changeSourceStatements(source: SourceSpec, demotedPrimary: boolean) {
    const tls = sourceTlsOptions('MASTER', source.tls);
    return [{
      sql: 'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, ' +
        'MASTER_USE_GTID = slave_pos, MASTER_HEARTBEAT_PERIOD = ?, MASTER_CONNECT_RETRY = ?' + tls.sql +
        // The demoted form folds what this server wrote as a primary into gtid_slave_pos (10.10+).
        (demotedPrimary ? ', MASTER_DEMOTE_TO_SLAVE = 1' : ''),
      params: [source.host, source.port, source.user, source.password, source.heartbeatSeconds, source.connectRetrySeconds, ...tls.params],
    }];
  },

  netTimeoutStatement: (seconds: number) => ({ sql: 'SET GLOBAL slave_net_timeout = ?', params: [seconds] }),
  startReplicationStatement: () => 'START SLAVE',
  startApplierStatement: () => 'START SLAVE SQL_THREAD',
  stopReplicationStatement: (ioOnly: boolean) => (ioOnly ? 'STOP SLAVE IO_THREAD' : 'STOP SLAVE'),
  resetReplicationStatement: () => 'RESET SLAVE ALL',

  waitForGtidQuery(gtid: string, timeoutSeconds: number) {
    return { sql: 'SELECT MASTER_GTID_WAIT(?, ?) AS reached', params: [gtid, timeoutSeconds], reached: (v: unknown) => Number(v) === 0 };
  },

  setSemiSyncStatements(role: SemiSyncRole) {
    if (role === 'off') return ['SET GLOBAL rpl_semi_sync_master_enabled = OFF', 'SET GLOBAL rpl_semi_sync_slave_enabled = OFF'];
    return [
      `SET GLOBAL rpl_semi_sync_master_enabled = ${role.primary ? 'ON' : 'OFF'}`,
      `SET GLOBAL rpl_semi_sync_slave_enabled = ${role.primary ? 'OFF' : 'ON'}`,
      ...(role.primary ? [`SET GLOBAL rpl_semi_sync_master_wait_point = ${role.waitPoint}`, `SET GLOBAL rpl_semi_sync_master_timeout = ${Math.floor(role.timeoutMs)}`] : []),
    ];
  },

  async attachedReplicas(db: Db) {
    return Number(await db.value("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'"));
  },

  async joiningSettings(db: Db) {
    const [row] = await db.query('SELECT @@server_id AS id, @@log_bin AS bin, @@log_slave_updates AS upd, @@binlog_format AS fmt, @@gtid_strict_mode AS gtid');
    return parseMariadbJoiningRow(row);
  },

  resetBinlogStatement: () => 'RESET MASTER',
  copyPositionStatement: (gtid: string) => ({ sql: 'SET GLOBAL gtid_slave_pos = ?', params: [gtid] }),

  // --gtid --master-data=1: the dump ends by setting gtid_slave_pos to the position it was taken at.
  dumpCommand: () => ({
    program: 'mariadb-dump',
    args: ['--single-transaction', '--gtid', '--master-data=1', '--all-databases', '--routines', '--events', '--triggers'],
  }),

  // --master-data=2: the position as a comment, read as the dump streams past (taken under a short FLUSH TABLES WITH READ LOCK).
  databaseDumpCommand: (database: string, tables: string[] | null) => ({
    program: 'mariadb-dump',
    // Tables alone: their triggers, not the database's routines and events; and without the database's USE, so the loader names it.
    args: ['--single-transaction', '--gtid', '--master-data=2', '--triggers', ...(tables ? [database, ...tables] : ['--routines', '--events', '--databases', database])],
    loader: { program: 'mariadb', args: tables ? [`--database=${database}`] : [] },
    position: /^-- SET GLOBAL gtid_slave_pos='([0-9,-]*)';$/m,
  }),

  // sql_log_bin=0: the target writes no transaction of its own while loading.
  loadCommand: () => ({ program: 'mariadb', args: ['--init-command=SET SESSION sql_log_bin = 0'] }),
  clientTlsOptions: (files: TlsFiles) => [...tlsFileOptions(files), 'ssl-verify-server-cert'],

  // Multi-source: a connection of its own, its filter per connection; the conductor's statements name none, so never touch it.
  channel: {
    change(channel: string, source: SourceSpec, tables: string[]) {
      const tls = sourceTlsOptions('MASTER', source.tls);
      return [{
        sql: `CHANGE MASTER '${channel}' TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, ` +
          'MASTER_USE_GTID = slave_pos, MASTER_HEARTBEAT_PERIOD = ?, MASTER_CONNECT_RETRY = ?' + tls.sql,
        params: [source.host, source.port, source.user, source.password, source.heartbeatSeconds, source.connectRetrySeconds, ...tls.params],
      }, { sql: `SET GLOBAL ${channel}.replicate_wild_do_table = ?`, params: [tables.join(',')] }];
    },
    start: (channel: string) => `START SLAVE '${channel}'`,
    stop: (channel: string) => `STOP SLAVE '${channel}'`,
    remove: (channel: string) => `RESET SLAVE '${channel}' ALL`,
    async status(db: Db, channel: string) {
      const rows = await db.query(`SHOW ALL SLAVES STATUS`);
      const row = rows.find((r) => r.Connection_name === channel);
      return row ? parseMariadbReplicaRow(row) : null;
    },
    async names(db: Db) {
      return (await db.query('SHOW ALL SLAVES STATUS')).map((r) => String(r.Connection_name)).filter(Boolean);
    },
    // gtid_slave_pos is shared by every connection. The source's binlog may hold
    // this server's own domain too (an earlier move the other way), but only up
    // to where that move stopped: asked for a later GTID there, the source refuses
    // (1236), so each domain the copy names starts where the copy is. Below this
    // server's binlog, strict mode refuses the SET: it is lifted for that one
    // statement (gtidflow's members all run with it: it is set ON again).
    async startAt(db: Db, from: string) {
      const [row] = await db.query('SELECT @@global.gtid_binlog_pos AS binlog, @@global.gtid_slave_pos AS slave');
      const position = withDomainsOf(gtidUnion('mariadb', String(row.binlog), String(row.slave)), from);
      const belowBinlog = !gtidContains('mariadb', position, String(row.binlog));
      if (belowBinlog) await db.query('SET GLOBAL gtid_strict_mode = 0');
      try {
        await db.query('SET GLOBAL gtid_slave_pos = ?', [position]);
      } finally {
        if (belowBinlog) await db.query('SET GLOBAL gtid_strict_mode = 1');
      }
    },
  },

  // The applier runs each event with the session server_id of the server the
  // event came from (seen on 10.11 with slave_run_triggers_for_rbr=ENFORCE);
  // a client needs SUPER to change its own.
  clientSessionCondition: () => '@@session.server_id = @@global.server_id',
};

export function parseMariadbJoiningRow(row: Row): JoiningSettings {
  return {
    serverId: Number(row.id), logBin: Number(row.bin) === 1, logReplicaUpdates: Number(row.upd) === 1, replicaUpdatesSetting: 'log_slave_updates',
    binlogFormat: String(row.fmt), gtidStrict: Number(row.gtid) === 1, gtidSetting: 'gtid_strict_mode',
  };
}

export function parseMariadbReplicaRow(row: Row): ReplicationStatus {
  const io = text(row, 'Slave_IO_Running');
  return {
    sourceHost: text(row, 'Master_Host'),
    sourcePort: num(row, 'Master_Port'),
    ioRunning: yes(io),
    // MariaDB also says "Preparing" between connecting and streaming (seen on 10.11).
    ioConnecting: io === 'Connecting' || io === 'Preparing',
    sqlRunning: yes(text(row, 'Slave_SQL_Running')),
    ioErrno: num(row, 'Last_IO_Errno'),
    ioError: text(row, 'Last_IO_Error'),
    sqlErrno: num(row, 'Last_SQL_Errno'),
    sqlError: text(row, 'Last_SQL_Error'),
    secondsBehind: nullableNum(row, 'Seconds_Behind_Master'),
    received: text(row, 'Gtid_IO_Pos'),
    usingGtid: text(row, 'Using_Gtid') !== 'No' && text(row, 'Using_Gtid') !== '',
    tls: yes(text(row, 'Master_SSL_Allowed')),
  };
}

export function parseMariadbSemiSync(vars: Record<string, string>, status: Record<string, string>): SemiSyncStatus {
  return {
    primaryEnabled: yes(vars.rpl_semi_sync_master_enabled),
    primaryActive: yes(status.rpl_semi_sync_master_status),
    replicaEnabled: yes(vars.rpl_semi_sync_slave_enabled),
    replicaActive: yes(status.rpl_semi_sync_slave_status),
    primaryClients: Number(status.rpl_semi_sync_master_clients ?? 0),
    waitPoint: vars.rpl_semi_sync_master_wait_point ?? '',
    timeoutMs: vars.rpl_semi_sync_master_timeout === undefined ? null : Number(vars.rpl_semi_sync_master_timeout),
  };
}
