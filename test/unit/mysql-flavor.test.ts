import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { format } from 'mysql2';
import type { Db, Row } from '../../activities/db/connection';
import type { ReplicationStatus, SemiSyncStatus, SourceSpec } from '../../activities/db/flavor';
import { detectFlavor, flavorOfVersion } from '../../activities/db/flavors';
import { mariadb, parseMariadbReplicaRow, parseMariadbSemiSync } from '../../activities/db/mariadb';
import { mysqlFlavor, parseMysqlJoiningRow, parseMysqlReplicaRow, parseMysqlSemiSync } from '../../activities/db/mysql';
import { variables } from '../../activities/db/rows';
import { gtidContains, gtidEqual, gtidIsEmpty, gtidSubtract } from '../../workflows/logic/gtid';
import type { JoiningSettings } from '../../workflows/logic/joining';

/*
 * No MySQL server runs on this machine: the MySQL 8.0/8.4 flavor is checked
 * against recorded rows (test/unit/fixtures/mysql/), with the column names and
 * value types mysql2 returns. Expected values below are written out by hand,
 * never derived from the parser.
 */

const FIXTURES = join(__dirname, 'fixtures', 'mysql');
const load = <T>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;

interface RecordedRow { server: string; statement: string; row: Row }
interface RecordedSemiSync { server: string; variables: Row[]; status: Row[] }
interface GtidScenario {
  primary: { host: string; version: string; gtid_executed: string };
  replica: { host: string; version: string; gtid_executed: string };
  errant: string;
}

const replicaRows = load<{ cases: Record<string, RecordedRow> }>('replica-status.json').cases;
const semiSyncRows = load<{ cases: Record<string, RecordedSemiSync> }>('semi-sync.json').cases;
const joiningRows = load<{ cases: Record<string, { server: string; row: Row }> }>('server-config.json').cases;
const gtidFixture = load<{ uuids: Record<string, string>; scenarios: Record<string, GtidScenario> }>('gtid-executed.json');
const maria = load<{ server: string; row: Row; two_domains: Row; semi_sync: { variables: Row[]; status: Row[] } }>(
  'mariadb-10.11-show-slave-status.json',
);

const OLD = '4c9d7e21-2a33-11ee-bf4f-0242ac120005';
const DB1 = 'b5c0d2a4-6f1e-11ef-8a3c-0242ac120002';
const DB2 = 'b5e9a6f0-6f1e-11ef-8b1d-0242ac120003';
const DB3 = 'b6119c2e-6f1e-11ef-9e07-0242ac120004';

function recorded(name: string): Row {
  const entry = replicaRows[name];
  assert.ok(entry, `fixture case "${name}" is missing`);
  return entry.row;
}

/** The mysql CLI / a text-protocol client without type casting: every value a string, NULL stays null. */
function asText(row: Row): Row {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : String(v)]));
}

const NEW_ONLY = ['Source_Host', 'Source_Port', 'Replica_IO_Running', 'Replica_SQL_Running', 'Seconds_Behind_Source'];
const OLD_ONLY = ['Master_Host', 'Master_Port', 'Slave_IO_Running', 'Slave_SQL_Running', 'Seconds_Behind_Master'];

const HEALTHY: ReplicationStatus = {
  sourceHost: 'db1.prod.internal',
  sourcePort: 3306,
  ioRunning: true,
  ioConnecting: false,
  sqlRunning: true,
  ioErrno: 0,
  ioError: '',
  sqlErrno: 0,
  sqlError: '',
  secondsBehind: 3,
  received: `${OLD}:88-90,${DB1}:1-1250`,
  usingGtid: true,
  tls: false,
};

describe('recorded MySQL rows use the column names each statement prints', () => {
  // Guards the fixtures themselves: an equivalence test over rows that share
  // column names would not exercise the old-name fallback at all.
  for (const [name, { server, statement, row }] of Object.entries(replicaRows)) {
    it(`${name} (${statement} on ${server})`, () => {
      const oldNames = statement === 'SHOW SLAVE STATUS';
      for (const column of oldNames ? OLD_ONLY : NEW_ONLY) assert.ok(column in row, `${column} expected`);
      for (const column of oldNames ? NEW_ONLY : OLD_ONLY) assert.ok(!(column in row), `${column} unexpected`);
      for (const column of ['Retrieved_Gtid_Set', 'Executed_Gtid_Set', 'Auto_Position', 'Last_IO_Errno', 'Last_SQL_Errno']) {
        assert.ok(column in row, `${column} expected`);
      }
    });
  }
});

describe('parseMysqlReplicaRow: 8.4, 8.0.22+ and old-name rows give the same ReplicationStatus', () => {
  const cases: Array<[name: string, row: Row]> = [
    ['8.4.3 SHOW REPLICA STATUS', recorded('healthy/8.4.3')],
    ['8.0.36 SHOW REPLICA STATUS', recorded('healthy/8.0.36')],
    ['8.0.36 SHOW SLAVE STATUS (old names)', recorded('healthy/8.0.36-old-names')],
    ['8.0.21 SHOW SLAVE STATUS (old names)', recorded('healthy/8.0.21-old-names')],
    ['8.4.3 row as text (mysql CLI)', asText(recorded('healthy/8.4.3'))],
    ['8.0.21 old-name row as text (mysql CLI)', asText(recorded('healthy/8.0.21-old-names'))],
  ];
  for (const [name, row] of cases) {
    it(name, () => assert.deepEqual(parseMysqlReplicaRow(row), HEALTHY));
  }

  it('all forms agree with each other', () => {
    const [first, ...rest] = cases.map(([, row]) => parseMysqlReplicaRow(row));
    for (const status of rest) assert.deepEqual(status, first);
  });

  it('a new name wins over an old one when both are present', () => {
    const row = { ...recorded('healthy/8.0.36-old-names'), Source_Host: 'db9.prod.internal', Source_Port: 3307 };
    const status = parseMysqlReplicaRow(row);
    assert.equal(status.sourceHost, 'db9.prod.internal');
    assert.equal(status.sourcePort, 3307);
  });
});

describe('parseMysqlReplicaRow: thread states, errors, lag, GTIDs', () => {
  const cases: Array<[name: string, expected: ReplicationStatus]> = [
    ['connecting/8.4.3', {
      sourceHost: 'db1.prod.internal', sourcePort: 3306, ioRunning: false, ioConnecting: true, sqlRunning: true,
      ioErrno: 2003,
      ioError: "Error connecting to source 'repl@db1.prod.internal:3306'. This was attempt 3/10, with a delay of 10 seconds between attempts. Message: Can't connect to MySQL server on 'db1.prod.internal:3306' (111)",
      sqlErrno: 0, sqlError: '', secondsBehind: null, received: `${OLD}:88-90,${DB1}:1-1252`, usingGtid: true, tls: false,
    }],
    ['io-purged/8.0.36', {
      sourceHost: 'db2.prod.internal', sourcePort: 3306, ioRunning: false, ioConnecting: false, sqlRunning: true,
      ioErrno: 13114,
      // The message is carried verbatim, newline inside the GTID set included.
      ioError: "Got fatal error 1236 from source when reading data from binary log: 'Cannot replicate because the source purged required binary logs. Replicate the missing transactions from elsewhere, or provision a new replica from backup. Consider increasing the source's binary log expiration period. The GTID set sent by the replica is '" +
        `${OLD}:1-90,\n${DB1}:1-812', and the missing transactions are '${DB1}:813-1250''`,
      sqlErrno: 0, sqlError: '', secondsBehind: null, received: '', usingGtid: true, tls: false,
    }],
    ['sql-error/8.4.3', {
      sourceHost: 'db1.prod.internal', sourcePort: 3306, ioRunning: true, ioConnecting: false, sqlRunning: false,
      ioErrno: 0, ioError: '', sqlErrno: 1062,
      sqlError: `Coordinator stopped because there were error(s) in the worker(s). The most recent failure being: Worker 1 failed executing transaction '${DB1}:1248' at source log binlog.000012, end_log_pos 48209411. See error log and/or performance_schema.replication_applier_status_by_worker table for more details about this failure or others, if any.`,
      secondsBehind: null, received: `${OLD}:88-90,${DB1}:1-1250`, usingGtid: true, tls: false,
    }],
    ['io-errant/8.0.21-old-names', {
      sourceHost: 'db2.prod.internal', sourcePort: 3306, ioRunning: false, ioConnecting: false, sqlRunning: true,
      ioErrno: 13114,
      ioError: "Got fatal error 1236 from master when reading data from binary log: 'Slave has more GTIDs than the master has, using the master's SERVER_UUID. This may indicate that the end of the binary log was truncated or that the last binary log file was lost, e.g., after a power or disk failure when sync_binlog != 1. The master may or may not have rolled back transactions that were already replicated to the slave. Suggest to replicate any transactions that master has rolled back from master to slave.'",
      sqlErrno: 0, sqlError: '', secondsBehind: null, received: '', usingGtid: true, tls: false,
    }],
    ['stopped/8.4.3', {
      sourceHost: 'db1.prod.internal', sourcePort: 3306, ioRunning: false, ioConnecting: false, sqlRunning: false,
      ioErrno: 0, ioError: '', sqlErrno: 0, sqlError: '', secondsBehind: null,
      received: `${OLD}:88-90,${DB1}:1-1250`, usingGtid: true, tls: false,
    }],
    ['file-position/8.0.36', {
      sourceHost: 'db1.prod.internal', sourcePort: 3306, ioRunning: true, ioConnecting: false, sqlRunning: true,
      ioErrno: 0, ioError: '', sqlErrno: 0, sqlError: '', secondsBehind: 0,
      received: `${DB1}:1201-1250`, usingGtid: false, tls: false,
    }],
  ];
  for (const [name, expected] of cases) {
    it(name, () => assert.deepEqual(parseMysqlReplicaRow(recorded(name)), expected));
    it(`${name} as text (mysql CLI)`, () => assert.deepEqual(parseMysqlReplicaRow(asText(recorded(name))), expected));
  }

  it('IO thread: Yes / Connecting / No map to running / connecting / neither', () => {
    const table: Array<[io: string, ioRunning: boolean, ioConnecting: boolean]> = [
      ['Yes', true, false],
      ['Connecting', false, true],
      ['No', false, false],
    ];
    for (const [io, ioRunning, ioConnecting] of table) {
      for (const base of ['healthy/8.4.3', 'healthy/8.0.21-old-names']) {
        const row = { ...recorded(base) };
        row['Replica_IO_Running' in row ? 'Replica_IO_Running' : 'Slave_IO_Running'] = io;
        const status = parseMysqlReplicaRow(row);
        assert.equal(status.ioRunning, ioRunning, `${base} ${io}`);
        assert.equal(status.ioConnecting, ioConnecting, `${base} ${io}`);
      }
    }
  });

  it('Seconds_Behind_Source NULL is null, 0 is 0 (not confused)', () => {
    assert.equal(parseMysqlReplicaRow(recorded('connecting/8.4.3')).secondsBehind, null);
    assert.equal(parseMysqlReplicaRow(recorded('file-position/8.0.36')).secondsBehind, 0);
    assert.equal(parseMysqlReplicaRow(recorded('io-errant/8.0.21-old-names')).secondsBehind, null);
    assert.equal(parseMysqlReplicaRow(recorded('healthy/8.0.21-old-names')).secondsBehind, 3);
  });

  it('received drops the ",\\n" MySQL prints between uuids and keeps the set', () => {
    const raw = recorded('healthy/8.4.3').Retrieved_Gtid_Set as string;
    assert.match(raw, /,\n/, 'the recorded set has the newline');
    const received = parseMysqlReplicaRow(recorded('healthy/8.4.3')).received;
    assert.doesNotMatch(received, /\s/);
    assert.equal(received.split(',').length, 2);
    assert.ok(gtidEqual('mysql', received, raw));
  });

  it('usingGtid comes from Auto_Position (1 / 0), not from the GTID columns', () => {
    const auto = recorded('healthy/8.4.3');
    assert.equal(parseMysqlReplicaRow(auto).usingGtid, true);
    assert.equal(parseMysqlReplicaRow({ ...auto, Auto_Position: 0 }).usingGtid, false);
    assert.equal(parseMysqlReplicaRow({ ...auto, Auto_Position: '1' }).usingGtid, true);
    const filePos = recorded('file-position/8.0.36');
    assert.notEqual(filePos.Retrieved_Gtid_Set, '');
    assert.equal(parseMysqlReplicaRow(filePos).usingGtid, false);
  });

  it('tls comes from Source_SSL_Allowed (Master_SSL_Allowed before 8.0.22): Yes only, not Ignored', () => {
    const row = recorded('healthy/8.4.3');
    assert.equal(row.Source_SSL_Allowed, 'No');
    assert.equal(parseMysqlReplicaRow(row).tls, false);
    assert.equal(parseMysqlReplicaRow({ ...row, Source_SSL_Allowed: 'Yes' }).tls, true);
    assert.equal(parseMysqlReplicaRow({ ...row, Source_SSL_Allowed: 'Ignored' }).tls, false, 'asked for, but the replica has no TLS');
    const old = recorded('healthy/8.0.21-old-names');
    assert.equal(parseMysqlReplicaRow({ ...old, Master_SSL_Allowed: 'Yes' }).tls, true);
  });
});

describe('parseMysqlSemiSync: new (source/replica) and old (master/slave) plugin names', () => {
  const cases: Array<[name: string, expected: SemiSyncStatus]> = [
    ['primary/8.4.3 (source+replica plugins)',
      { primaryEnabled: true, primaryActive: true, replicaEnabled: false, replicaActive: false, primaryClients: 2, waitPoint: 'AFTER_SYNC', timeoutMs: 10000 }],
    ['replica/8.4.3 (source+replica plugins)',
      { primaryEnabled: false, primaryActive: false, replicaEnabled: true, replicaActive: true, primaryClients: 0, waitPoint: 'AFTER_SYNC', timeoutMs: 10000 }],
    ['primary fell back to async/8.0.36 (source plugin only)',
      { primaryEnabled: true, primaryActive: false, replicaEnabled: false, replicaActive: false, primaryClients: 0, waitPoint: 'AFTER_SYNC', timeoutMs: 10000 }],
    ['primary/8.0.25 (master+slave plugins)',
      { primaryEnabled: true, primaryActive: true, replicaEnabled: false, replicaActive: false, primaryClients: 1, waitPoint: 'AFTER_SYNC', timeoutMs: 10000 }],
    ['replica/8.0.25 (master+slave plugins)',
      { primaryEnabled: false, primaryActive: false, replicaEnabled: true, replicaActive: true, primaryClients: 0, waitPoint: 'AFTER_SYNC', timeoutMs: 10000 }],
    ['no semi-sync plugin/8.4.3',
      { primaryEnabled: false, primaryActive: false, replicaEnabled: false, replicaActive: false, primaryClients: 0, waitPoint: '', timeoutMs: null }],
  ];
  for (const [name, expected] of cases) {
    it(name, () => {
      const recordedCase = semiSyncRows[name];
      assert.ok(recordedCase, `fixture case "${name}" is missing`);
      assert.deepEqual(parseMysqlSemiSync(variables(recordedCase.variables), variables(recordedCase.status)), expected);
    });
  }

  it('status names arrive capitalised (Rpl_semi_sync_...) and are still found', () => {
    const { status } = semiSyncRows['primary/8.4.3 (source+replica plugins)'];
    assert.ok(status.some((row) => row.Variable_name === 'Rpl_semi_sync_source_status'));
    assert.equal(parseMysqlSemiSync({}, variables(status)).primaryActive, true);
  });
});

describe('parseMysqlJoiningRow: the settings joinProblems judges, by MySQL names', () => {
  const NAMES = { replicaUpdatesSetting: 'log_replica_updates', gtidSetting: 'gtid_mode and enforce_gtid_consistency' };
  const cases: Array<[name: string, expected: JoiningSettings]> = [
    ['ready/8.4.3', { serverId: 3, logBin: true, logReplicaUpdates: true, binlogFormat: 'ROW', gtidStrict: true, ...NAMES }],
    ['gtid being enabled/8.0.36', { serverId: 12, logBin: true, logReplicaUpdates: true, binlogFormat: 'ROW', gtidStrict: false, ...NAMES }],
    ['defaults, GTIDs off/8.0.36', { serverId: 1, logBin: true, logReplicaUpdates: true, binlogFormat: 'ROW', gtidStrict: false, ...NAMES }],
    ['skip-log-bin, mixed format, consistency warnings/8.4.3',
      { serverId: 7, logBin: false, logReplicaUpdates: false, binlogFormat: 'MIXED', gtidStrict: false, ...NAMES }],
  ];
  for (const [name, expected] of cases) {
    it(name, () => {
      const entry = joiningRows[name];
      assert.ok(entry, `fixture case "${name}" is missing`);
      assert.deepEqual(parseMysqlJoiningRow(entry.row), expected);
    });
    it(`${name} as text (mysql CLI)`, () => assert.deepEqual(parseMysqlJoiningRow(asText(joiningRows[name].row)), expected));
  }

  it('gtidStrict needs both: gtid_mode ON and enforce_gtid_consistency ON', () => {
    const row = joiningRows['ready/8.4.3'].row;
    assert.equal(parseMysqlJoiningRow(row).gtidStrict, true);
    assert.equal(parseMysqlJoiningRow({ ...row, enforce_gtid_consistency: 'WARN' }).gtidStrict, false);
    assert.equal(parseMysqlJoiningRow({ ...row, gtid_mode: 'ON_PERMISSIVE' }).gtidStrict, false);
  });
});

describe('MariaDB 10.11 row (recorded on this machine), as a contrast', () => {
  const EXPECTED: ReplicationStatus = {
    sourceHost: '127.0.0.1',
    sourcePort: 45955,
    ioRunning: false,
    ioConnecting: true,
    sqlRunning: true,
    ioErrno: 2003,
    ioError: "error connecting to master 'repl@127.0.0.1:45955' - retry-time: 10  maximum-retries: 100000  message: Can't connect to server on '127.0.0.1' (111 \"Connection refused\")",
    sqlErrno: 0,
    sqlError: '',
    secondsBehind: null,
    received: '0-1-1041',
    usingGtid: true,
    tls: false,
  };

  it('parseMariadbReplicaRow reads Slave_IO_Running, Master_Host, Gtid_IO_Pos, Using_Gtid', () => {
    assert.deepEqual(parseMariadbReplicaRow(maria.row), EXPECTED);
  });

  it('Using_Gtid No means position-based; Gtid_IO_Pos keeps every domain', () => {
    assert.equal(parseMariadbReplicaRow({ ...maria.row, Using_Gtid: 'No' }).usingGtid, false);
    assert.equal(parseMariadbReplicaRow({ ...maria.row, Using_Gtid: 'Current_Pos' }).usingGtid, true);
    assert.equal(parseMariadbReplicaRow({ ...maria.row, ...maria.two_domains }).received, '1-2-7,0-1-1041');
  });

  it('the MySQL parser on a MariaDB row loses the GTID facts (flavors must not be mixed)', () => {
    const status = parseMysqlReplicaRow(maria.row);
    assert.equal(status.sourceHost, '127.0.0.1', 'old names are shared');
    assert.equal(status.ioConnecting, true);
    assert.equal(status.received, '', 'MariaDB has no Retrieved_Gtid_Set');
    assert.equal(status.usingGtid, false, 'MariaDB has no Auto_Position');
  });

  it('the MariaDB parser on a MySQL 8.4 row finds none of the renamed columns', () => {
    const status = parseMariadbReplicaRow(recorded('healthy/8.4.3'));
    assert.equal(status.sourceHost, '');
    assert.equal(status.ioRunning, false);
    assert.equal(status.secondsBehind, null);
  });

  it('MariaDB copies with mariadb-dump --gtid --master-data=1 into mariadb, after RESET MASTER whatever the version', () => {
    assert.deepEqual(mariadb.dumpCommand(), {
      program: 'mariadb-dump',
      args: ['--single-transaction', '--gtid', '--master-data=1', '--all-databases', '--routines', '--events', '--triggers'],
    });
    assert.deepEqual(mariadb.loadCommand(), { program: 'mariadb', args: ['--init-command=SET SESSION sql_log_bin = 0'] });
    assert.equal(mariadb.resetBinlogStatement(maria.server), 'RESET MASTER');
    assert.equal(mariadb.resetBinlogStatement('11.4.2-MariaDB'), 'RESET MASTER');
  });

  it('MariaDB semi-sync rows (plugins built in, off) parse to all off', () => {
    const expected: SemiSyncStatus = { primaryEnabled: false, primaryActive: false, replicaEnabled: false, replicaActive: false, primaryClients: 0, waitPoint: 'AFTER_COMMIT', timeoutMs: 10000 };
    const vars = variables(maria.semi_sync.variables);
    const status = variables(maria.semi_sync.status);
    assert.deepEqual(parseMariadbSemiSync(vars, status), expected);
    const on = { ...vars, rpl_semi_sync_master_enabled: 'ON' };
    assert.equal(parseMariadbSemiSync(on, { ...status, rpl_semi_sync_master_status: 'ON' }).primaryActive, true);
    assert.equal(parseMariadbSemiSync(on, status).primaryEnabled, true);
  });
});

describe('flavorOfVersion', () => {
  const cases: Array<[version: string, name: 'mysql' | 'mariadb']> = [
    ['8.0.36', 'mysql'],
    ['8.4.3', 'mysql'],
    ['8.0.36-commercial', 'mysql'],
    ['8.0.36-28', 'mysql'], // Percona Server
    ['10.11.19-MariaDB-0+deb12u1-log', 'mariadb'],
    ['11.4.2-MariaDB', 'mariadb'],
  ];
  for (const [version, name] of cases) {
    it(`${version} -> ${name}`, () => {
      const flavor = flavorOfVersion(version);
      assert.equal(flavor.name, name);
      assert.equal(flavor, name === 'mysql' ? mysqlFlavor : mariadb);
    });
  }

  it('detectFlavor asks SELECT VERSION() and keeps the string', async () => {
    const db = fakeDb({ 'SELECT VERSION()': [{ 'VERSION()': '8.4.3' }] });
    const { flavor, version } = await detectFlavor(db.db);
    assert.equal(flavor, mysqlFlavor);
    assert.equal(version, '8.4.3');
    assert.deepEqual(db.sent, ['SELECT VERSION()']);
  });
});

/** How mysql2 interpolates `?` placeholders for Db.query (client side). */
const mysqlFormat = (sql: string, params: unknown[]): string => format(sql, params as Parameters<typeof format>[1]);

/** A stand-in for Db answering from recorded rows, recording what was sent. */
function fakeDb(answers: Record<string, Row[]>): { db: Db; sent: string[] } {
  const sent: string[] = [];
  const query = async (sql: string): Promise<Row[]> => {
    sent.push(sql);
    const rows = answers[sql];
    if (!rows) throw new Error(`unexpected statement: ${sql}`);
    return rows;
  };
  const value = async (sql: string): Promise<unknown> => {
    const [row] = await query(sql);
    return row ? Object.values(row)[0] : undefined;
  };
  return { db: { query, value } as unknown as Db, sent };
}

describe('mysqlFlavor reads through Db', () => {
  it('replicationStatus sends SHOW REPLICA STATUS and parses the row', async () => {
    const { db, sent } = fakeDb({ 'SHOW REPLICA STATUS': [recorded('healthy/8.4.3')] });
    assert.deepEqual(await mysqlFlavor.replicationStatus(db), HEALTHY);
    assert.deepEqual(sent, ['SHOW REPLICA STATUS']);
  });

  it('replicationStatus is null on a server that is not a replica (no row)', async () => {
    const { db } = fakeDb({ 'SHOW REPLICA STATUS': [] });
    assert.equal(await mysqlFlavor.replicationStatus(db), null);
  });

  it('semiSyncStatus reads variables and status', async () => {
    const rec = semiSyncRows['primary/8.4.3 (source+replica plugins)'];
    const { db, sent } = fakeDb({
      "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%'": rec.variables,
      "SHOW GLOBAL STATUS LIKE 'rpl_semi_sync_%'": rec.status,
    });
    assert.deepEqual(await mysqlFlavor.semiSyncStatus(db),
      { primaryEnabled: true, primaryActive: true, replicaEnabled: false, replicaActive: false, primaryClients: 2, waitPoint: 'AFTER_SYNC', timeoutMs: 10000 });
    assert.equal(sent.length, 2);
  });

  it('executed reads @@global.gtid_executed (multi-uuid, with newlines)', async () => {
    const raw = gtidFixture.scenarios['db3 wrote locally while a replica (errant)'].replica.gtid_executed;
    const { db, sent } = fakeDb({ 'SELECT @@global.gtid_executed': [{ '@@global.gtid_executed': raw }] });
    const executed = await mysqlFlavor.executed(db);
    assert.ok(gtidEqual('mysql', executed, `${OLD}:1-90,${DB1}:1-1250,${DB2}:1-30,${DB3}:1-2`));
    assert.deepEqual(sent, ['SELECT @@global.gtid_executed']);
  });

  it('history is gtid_executed and originId the server_uuid, lower case', async () => {
    const raw = gtidFixture.scenarios['db3 wrote locally while a replica (errant)'].replica.gtid_executed;
    const { db } = fakeDb({
      'SELECT @@global.gtid_executed': [{ '@@global.gtid_executed': raw }],
      'SELECT @@global.server_uuid': [{ '@@global.server_uuid': DB3.toUpperCase() }],
    });
    assert.ok(gtidEqual('mysql', await mysqlFlavor.history(db), `${OLD}:1-90,${DB1}:1-1250,${DB2}:1-30,${DB3}:1-2`));
    assert.equal(await mysqlFlavor.originId(db), DB3);
  });

  it('joiningSettings sends one SELECT of the MySQL variables and parses the row', async () => {
    const sql = 'SELECT @@server_id AS id, @@log_bin AS bin, @@log_replica_updates AS upd, @@binlog_format AS fmt, ' +
      '@@gtid_mode AS gtid_mode, @@enforce_gtid_consistency AS enforce_gtid_consistency';
    const { db, sent } = fakeDb({ [sql]: [joiningRows['ready/8.4.3'].row] });
    assert.deepEqual(await mysqlFlavor.joiningSettings(db), {
      serverId: 3, logBin: true, logReplicaUpdates: true, replicaUpdatesSetting: 'log_replica_updates', binlogFormat: 'ROW',
      gtidStrict: true, gtidSetting: 'gtid_mode and enforce_gtid_consistency',
    });
    assert.deepEqual(sent, [sql]);
    assert.doesNotMatch(sql, /slave|gtid_strict_mode/i);
  });

  it('readOnly is the fence, super_read_only, and true only for 1', async () => {
    for (const [value, expected] of [[1, true], [0, false], ['1', true], ['0', false]] as const) {
      const { db } = fakeDb({ 'SELECT @@global.super_read_only': [{ '@@global.super_read_only': value }] });
      assert.equal(await mysqlFlavor.readOnly(db), expected, `super_read_only=${value}`);
    }
  });
});

describe('mysqlFlavor statements', () => {
  const PASSWORD = `r3pl'p@ss"w?rd;--`;
  const SOURCE: SourceSpec = {
    host: 'db2.prod.internal', port: 3306, user: 'repl', password: PASSWORD, heartbeatSeconds: 2, connectRetrySeconds: 10,
  };

  it('setReadOnlyStatements fences with super_read_only', () => {
    assert.deepEqual(mysqlFlavor.setReadOnlyStatements(true), ['SET GLOBAL super_read_only = ON']);
    const off = mysqlFlavor.setReadOnlyStatements(false);
    assert.equal(off[0], 'SET GLOBAL super_read_only = OFF', 'super_read_only goes off first');
    assert.ok(off.includes('SET GLOBAL read_only = OFF'));
    assert.ok(off.every((sql) => !/= ON/.test(sql)));
  });

  for (const demoted of [false, true]) {
    it(`changeSourceStatements (demotedPrimary=${demoted}): CHANGE REPLICATION SOURCE TO ... SOURCE_AUTO_POSITION = 1, password in params only`, () => {
      const statements = mysqlFlavor.changeSourceStatements(SOURCE, demoted);
      assert.equal(statements.length, 1);
      const [{ sql, params }] = statements;
      assert.match(sql, /^CHANGE REPLICATION SOURCE TO /);
      assert.match(sql, /\bSOURCE_AUTO_POSITION = 1\b/);
      assert.doesNotMatch(sql, /MASTER|DEMOTE/);
      assert.ok(!sql.includes(PASSWORD) && !sql.includes('r3pl'), 'no password in SQL text');
      assert.ok(!sql.includes(SOURCE.host), 'values travel as params');
      assert.ok(params.includes(PASSWORD));
      // Each "OPTION = ?" gets the right parameter.
      const options = [...sql.matchAll(/(\w+) = \?/g)].map((m) => m[1]);
      assert.equal(options.length, params.length);
      const bound = Object.fromEntries(options.map((option, i) => [option, params[i]]));
      assert.deepEqual(bound, {
        SOURCE_HOST: 'db2.prod.internal', SOURCE_PORT: 3306, SOURCE_USER: 'repl', SOURCE_PASSWORD: PASSWORD,
        SOURCE_HEARTBEAT_PERIOD: 2, SOURCE_CONNECT_RETRY: 10,
      });
      // As mysql2 interpolates it (Db.query): numbers bare, strings quoted and escaped.
      const rendered = mysqlFormat(sql, params);
      assert.match(rendered, /SOURCE_PORT = 3306,/);
      assert.match(rendered, /SOURCE_HEARTBEAT_PERIOD = 2,/);
      assert.ok(rendered.includes(`SOURCE_PASSWORD = 'r3pl\\'p@ss\\"w?rd;--'`), rendered);
    });
  }

  it('changeSourceStatements with TLS: SOURCE_SSL = 1, the files as params (paths on the replica\'s host), the source\'s certificate checked', () => {
    const tls = { caFile: '/etc/mysql/tls/ca.pem', certFile: '/etc/mysql/tls/repl.pem', keyFile: '/etc/mysql/tls/repl.key' };
    for (const demoted of [false, true]) {
      const [{ sql, params }, ...more] = mysqlFlavor.changeSourceStatements({ ...SOURCE, tls }, demoted);
      assert.equal(more.length, 0);
      assert.doesNotMatch(sql, /MASTER/);
      assert.ok(!sql.includes('/etc/mysql'), 'paths travel as params');
      const options = [...sql.matchAll(/(\w+) = \?/g)].map((m) => m[1]);
      assert.deepEqual(Object.fromEntries(options.map((option, i) => [option, params[i]])), {
        SOURCE_HOST: 'db2.prod.internal', SOURCE_PORT: 3306, SOURCE_USER: 'repl', SOURCE_PASSWORD: PASSWORD,
        SOURCE_HEARTBEAT_PERIOD: 2, SOURCE_CONNECT_RETRY: 10,
        SOURCE_SSL_CA: '/etc/mysql/tls/ca.pem', SOURCE_SSL_CERT: '/etc/mysql/tls/repl.pem', SOURCE_SSL_KEY: '/etc/mysql/tls/repl.key',
      });
      const rendered = mysqlFormat(sql, params);
      assert.ok(rendered.endsWith(", GET_SOURCE_PUBLIC_KEY = 1, SOURCE_SSL = 1, SOURCE_SSL_CA = '/etc/mysql/tls/ca.pem', " +
        "SOURCE_SSL_CERT = '/etc/mysql/tls/repl.pem', SOURCE_SSL_KEY = '/etc/mysql/tls/repl.key', SOURCE_SSL_VERIFY_SERVER_CERT = 1"), rendered);
    }
    // A CA alone: no certificate options.
    const [caOnly] = mysqlFlavor.changeSourceStatements({ ...SOURCE, tls: { caFile: '/etc/mysql/tls/ca.pem' } }, false);
    assert.ok(mysqlFormat(caOnly.sql, caOnly.params).endsWith(", SOURCE_SSL = 1, SOURCE_SSL_CA = '/etc/mysql/tls/ca.pem', SOURCE_SSL_VERIFY_SERVER_CERT = 1"));
    // Without TLS the statement names no SSL option: the replica keeps what its operator set.
    assert.doesNotMatch(mysqlFlavor.changeSourceStatements(SOURCE, false)[0].sql, /SSL/);
  });

  it('MariaDB says the same with MASTER_SSL options, before MASTER_DEMOTE_TO_SLAVE', () => {
    const [{ sql, params }] = mariadb.changeSourceStatements({ ...SOURCE, tls: { caFile: '/etc/mysql/ca.pem' } }, true);
    assert.ok(mysqlFormat(sql, params).endsWith(", MASTER_CONNECT_RETRY = 10, MASTER_SSL = 1, MASTER_SSL_CA = '/etc/mysql/ca.pem', " +
      'MASTER_SSL_VERIFY_SERVER_CERT = 1, MASTER_DEMOTE_TO_SLAVE = 1'), mysqlFormat(sql, params));
    assert.doesNotMatch(mariadb.changeSourceStatements(SOURCE, false)[0].sql, /SSL/);
  });

  it('clientTlsOptions: the CA and client certificate, and the server identity checked by ssl-mode', () => {
    assert.deepEqual(mysqlFlavor.clientTlsOptions({ caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/c.key' }),
      ['ssl-ca=/ca.pem', 'ssl-cert=/c.pem', 'ssl-key=/c.key', 'ssl-mode=VERIFY_IDENTITY']);
    assert.deepEqual(mysqlFlavor.clientTlsOptions({ caFile: '/ca.pem' }), ['ssl-ca=/ca.pem', 'ssl-mode=VERIFY_IDENTITY']);
  });

  it('netTimeoutStatement sets replica_net_timeout', () => {
    assert.deepEqual(mysqlFlavor.netTimeoutStatement(2), { sql: 'SET GLOBAL replica_net_timeout = ?', params: [2] });
  });

  it('demotedPrimary changes nothing for MySQL (no MASTER_DEMOTE_TO_SLAVE)', () => {
    assert.deepEqual(mysqlFlavor.changeSourceStatements(SOURCE, true), mysqlFlavor.changeSourceStatements(SOURCE, false));
  });

  it('start / stop / reset use REPLICA', () => {
    assert.equal(mysqlFlavor.startReplicationStatement(), 'START REPLICA');
    assert.equal(mysqlFlavor.startApplierStatement(), 'START REPLICA SQL_THREAD');
    assert.equal(mysqlFlavor.stopReplicationStatement(false), 'STOP REPLICA');
    assert.equal(mysqlFlavor.stopReplicationStatement(true), 'STOP REPLICA IO_THREAD');
    assert.equal(mysqlFlavor.resetReplicationStatement(), 'RESET REPLICA ALL');
    const all = [
      mysqlFlavor.startReplicationStatement(), mysqlFlavor.startApplierStatement(), mysqlFlavor.stopReplicationStatement(false),
      mysqlFlavor.stopReplicationStatement(true), mysqlFlavor.resetReplicationStatement(),
    ];
    assert.ok(all.every((sql) => !/SLAVE|MASTER/.test(sql)));
  });

  it('waitForGtidQuery uses WAIT_FOR_EXECUTED_GTID_SET: 0 reached, 1 timeout', () => {
    const gtid = gtidFixture.scenarios['db3 wrote locally while a replica (errant)'].primary.gtid_executed;
    const wait = mysqlFlavor.waitForGtidQuery(gtid, 30);
    assert.match(wait.sql, /\bWAIT_FOR_EXECUTED_GTID_SET\(\?, \?\)/);
    assert.doesNotMatch(wait.sql, /MASTER_GTID_WAIT|WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS/);
    assert.ok(!wait.sql.includes(DB1), 'the set travels as a parameter');
    assert.deepEqual(wait.params, [gtid, 30]);
    assert.equal(wait.reached(0), true);
    assert.equal(wait.reached('0'), true);
    assert.equal(wait.reached(1), false);
    assert.equal(wait.reached('1'), false);
    assert.equal(wait.reached(-1), false, "MariaDB's timeout value is no success either");
  });

  it('waitForGtidQuery: a NULL result is not "reached"', () => {
    const wait = mysqlFlavor.waitForGtidQuery(`${DB1}:1-1250`, 30);
    assert.equal(wait.reached(null), false);
  });

  it('cloneStatement carries the password only in params', () => {
    const admin = { user: 'clone_admin', password: PASSWORD };
    assert.ok(mysqlFlavor.cloneStatement, 'MySQL has CLONE INSTANCE');
    const { sql, params } = mysqlFlavor.cloneStatement!('db2.prod.internal', 3306, admin);
    assert.match(sql, /^CLONE INSTANCE FROM /);
    assert.ok(!sql.includes(PASSWORD) && !sql.includes('r3pl'), 'no password in SQL text');
    assert.ok(params.includes(PASSWORD));
    assert.equal(mysqlFormat(sql, params),
      `CLONE INSTANCE FROM 'clone_admin'@'db2.prod.internal':3306 IDENTIFIED BY 'r3pl\\'p@ss\\"w?rd;--'`);
  });

  it('setSemiSyncStatements uses the 8.0.26+ source/replica names, and sets the wait point and timeout on the primary', () => {
    assert.deepEqual(mysqlFlavor.setSemiSyncStatements({ primary: true, waitPoint: 'AFTER_SYNC', timeoutMs: 10000 }),
      ['SET GLOBAL rpl_semi_sync_source_enabled = ON', 'SET GLOBAL rpl_semi_sync_replica_enabled = OFF',
        'SET GLOBAL rpl_semi_sync_source_wait_point = AFTER_SYNC', 'SET GLOBAL rpl_semi_sync_source_timeout = 10000']);
    assert.deepEqual(mysqlFlavor.setSemiSyncStatements({ primary: false, waitPoint: 'AFTER_SYNC', timeoutMs: 10000 }),
      ['SET GLOBAL rpl_semi_sync_source_enabled = OFF', 'SET GLOBAL rpl_semi_sync_replica_enabled = ON']);
    assert.deepEqual(mysqlFlavor.setSemiSyncStatements('off'),
      ['SET GLOBAL rpl_semi_sync_source_enabled = OFF', 'SET GLOBAL rpl_semi_sync_replica_enabled = OFF']);
  });

  it('resetBinlogStatement: RESET MASTER up to 8.1, RESET BINARY LOGS AND GTIDS from 8.2 (8.4 has no RESET MASTER)', () => {
    const table: Array<[version: string, statement: string]> = [
      ['8.0.26', 'RESET MASTER'],
      ['8.0.36', 'RESET MASTER'],
      ['8.0.36-28', 'RESET MASTER'], // Percona Server
      ['8.1.0', 'RESET MASTER'],
      ['8.2.0', 'RESET BINARY LOGS AND GTIDS'],
      ['8.4.3', 'RESET BINARY LOGS AND GTIDS'],
      ['8.4.3-commercial', 'RESET BINARY LOGS AND GTIDS'],
      ['9.1.0', 'RESET BINARY LOGS AND GTIDS'],
      ['', 'RESET MASTER'],
      ['unknown', 'RESET MASTER'],
    ];
    for (const [version, statement] of table) assert.equal(mysqlFlavor.resetBinlogStatement(version), statement, version);
  });

  it('dumpCommand is a consistent mysqldump that sets gtid_purged (no MariaDB --gtid / --master-data)', () => {
    assert.deepEqual(mysqlFlavor.dumpCommand(), {
      program: 'mysqldump',
      args: ['--single-transaction', '--set-gtid-purged=ON', '--all-databases', '--routines', '--events', '--triggers'],
    });
  });

  it('loadCommand is the mysql client, keeping the load out of the target binlog', () => {
    assert.deepEqual(mysqlFlavor.loadCommand(), { program: 'mysql', args: ['--init-command=SET SESSION sql_log_bin = 0'] });
  });

  it('attachedReplicas counts the binlog dump threads', async () => {
    const sql = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'";
    const { db, sent } = fakeDb({ [sql]: [{ n: 2 }] });
    assert.equal(await mysqlFlavor.attachedReplicas(db), 2);
    assert.deepEqual(sent, [sql]);
  });
});

describe('GTID math on recorded MySQL gtid_executed values (with newlines)', () => {
  it('the fixtures carry the ",\\n" separator MySQL prints', () => {
    for (const { primary, replica } of Object.values(gtidFixture.scenarios)) {
      assert.match(primary.gtid_executed, /,\n/);
      assert.match(replica.gtid_executed, /,\n/);
    }
    assert.deepEqual(gtidFixture.uuids, { retired: OLD, db1: DB1, db2: DB2, db3: DB3 });
  });

  for (const [name, { primary, replica, errant }] of Object.entries(gtidFixture.scenarios)) {
    it(`${name}: replica minus primary is ${errant || 'empty'}`, () => {
      const found = gtidSubtract('mysql', replica.gtid_executed, primary.gtid_executed);
      assert.equal(found, errant);
      assert.equal(gtidIsEmpty('mysql', found), errant === '');
      assert.equal(gtidContains('mysql', primary.gtid_executed, replica.gtid_executed), errant === '');
    });
  }

  it('an errant transaction is found whatever its position in the printed set', () => {
    const { primary, replica } = gtidFixture.scenarios['db3 wrote locally while a replica (errant)'];
    const reversed = replica.gtid_executed.split(',\n').reverse().join(',\n');
    assert.equal(gtidSubtract('mysql', reversed, primary.gtid_executed), `${DB3}:1-2`);
    assert.equal(gtidSubtract('mysql', replica.gtid_executed.toUpperCase(), primary.gtid_executed), `${DB3}:1-2`);
  });

  it('the primary is ahead of a clean replica: primary minus replica is what it still must apply', () => {
    const { primary, replica } = gtidFixture.scenarios['lagging replica with a hole from a skipped transaction (no errant)'];
    assert.equal(gtidSubtract('mysql', primary.gtid_executed, replica.gtid_executed), `${DB1}:1001,${DB2}:13-37`);
  });

  it('Executed_Gtid_Set of a recorded status row against the source it failed to follow', () => {
    // io-errant: the replica claims db2:1-3; the source db2 (rebuilt after losing its binlog tail) has db2:1-2.
    const row = recorded('io-errant/8.0.21-old-names');
    const sourceExecuted = `${OLD}:1-90,\n${DB1}:1-1250,\n${DB2}:1-2`;
    assert.equal(gtidSubtract('mysql', String(row.Executed_Gtid_Set), sourceExecuted), `${DB2}:3`);
    // io-purged: the message's "missing transactions" are the source's set minus what the replica sent.
    const purged = recorded('io-purged/8.0.36');
    const primaryExecuted = `${OLD}:1-90,\n${DB1}:1-1250`;
    assert.equal(gtidSubtract('mysql', primaryExecuted, String(purged.Executed_Gtid_Set)), `${DB1}:813-1250`);
    assert.ok(String(purged.Last_IO_Error).includes(`the missing transactions are '${DB1}:813-1250'`));
  });
});
