import assert from 'node:assert/strict';
import { before, beforeEach, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import * as mysql from 'mysql2/promise';
import type { CredentialsRef } from '../../activities/db/credentials';
import { freezeTriggerPrefix, freezeWrites, thawWrites } from '../../activities/freeze';
import { promote } from '../../activities/promote';
import { getServerState } from '../../activities/server-state';
import { readPassword } from '../../client/local/secrets';
import { activityRunner } from '../harness/activity';
import { resetTopology, startTestCluster, TestCluster, waitForReplicas } from '../harness/cluster';

/** The write freeze on real MariaDB servers: triggers that refuse every account but gtidflow's admin account. */
let cluster: TestCluster;
let run: ReturnType<typeof activityRunner>;
const server = (i: number) => ({ address: cluster.addresses[i], access: cluster.access });
const MESSAGE = /^gtidflow: app is read-only \(capability read-only\)$/;

before(async () => {
  cluster = await startTestCluster(2);
  run = activityRunner(cluster);
});

beforeEach(async () => {
  await resetTopology(cluster);
  await cluster.sql(0, 'DROP TABLE IF EXISTS app.orders, app.notes, app.audit');
  await cluster.sql(0, 'CREATE TABLE app.orders (id INT PRIMARY KEY, customer INT, v INT)');
  await cluster.sql(0, 'CREATE TABLE app.notes (id INT PRIMARY KEY, body VARCHAR(100))');
  await cluster.sql(0, 'INSERT INTO app.orders VALUES (1, 50, 0), (2, 150, 0), (3, 250, 0)');
  await cluster.sql(0, "INSERT INTO app.notes VALUES (1, 'a')");
  await waitForReplicas(cluster);
});

async function session(i: number, account: CredentialsRef) {
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: cluster.servers[i].port, user: account.user, password: readPassword(account) });
  conn.on('error', () => undefined);
  return conn;
}

/** The message a write was refused with, or 'ok'. */
async function attempt(conn: mysql.Connection, sql: string): Promise<string> {
  return conn.query(sql).then(() => 'ok', (err: Error) => err.message);
}

async function freezeTriggers(i: number, name = 'capability') {
  const prefix = freezeTriggerPrefix(name);
  const rows = await cluster.sql(i, 'SELECT TRIGGER_NAME AS n, EVENT_OBJECT_TABLE AS t FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND LEFT(TRIGGER_NAME, ?) = ?', ['app', prefix.length, prefix]);
  return rows.map((r) => `${r.t}:${String(r.n).split('_')[3]}`).sort();
}

const freeze = (extra: Partial<Parameters<typeof freezeWrites>[0]['freeze']> = {}, i = 0) =>
  run(freezeWrites, { ...server(i), name: 'capability', reason: 'capability read-only', freeze: { database: 'app', ...extra } });
const thaw = (i = 0) => run(thawWrites, { ...server(i), database: 'app', name: 'capability' });

test('a freeze refuses an already-open application session with one line, not the admin account nor reads; thaw restores; both idempotent', async () => {
  const app = await session(0, cluster.accounts.app);
  const admin = await session(0, cluster.accounts.admin);
  try {
    assert.equal(await attempt(app, 'INSERT INTO app.orders VALUES (10, 1, 0)'), 'ok');
    const first = await freeze();
    assert.deepEqual(first, { address: cluster.addresses[0], changed: true, database: 'app', tables: ['notes', 'orders'] });
    assert.deepEqual(await freezeTriggers(0), ['notes:del', 'notes:ins', 'notes:upd', 'orders:del', 'orders:ins', 'orders:upd']);
    for (const sql of ['INSERT INTO app.orders VALUES (11, 1, 0)', 'UPDATE app.orders SET v = 1 WHERE id = 1', 'DELETE FROM app.orders WHERE id = 1', "INSERT INTO app.notes VALUES (2, 'b')"]) {
      const refusal = await attempt(app, sql);
      assert.match(refusal, MESSAGE, sql);
      assert.equal(refusal.split('\n').length, 1);
    }
    const [rows] = await app.query('SELECT COUNT(*) AS n FROM app.orders');
    assert.equal(Number((rows as { n: number }[])[0].n), 4, 'reads still work, nothing was written');
    assert.equal(await attempt(admin, 'INSERT INTO app.orders VALUES (12, 1, 0)'), 'ok', 'gtidflow\'s admin account still writes');
    assert.equal(await attempt(admin, 'DELETE FROM app.orders WHERE id = 12'), 'ok');

    assert.equal((await freeze()).changed, false, 'already installed: nothing to do');
    assert.equal((await freezeTriggers(0)).length, 6);

    assert.deepEqual((await thaw()).changed, true);
    assert.deepEqual(await freezeTriggers(0), []);
    assert.equal(await attempt(app, 'INSERT INTO app.orders VALUES (11, 1, 0)'), 'ok', 'thawed: the same open session writes again');
    assert.deepEqual(await thaw(), { address: cluster.addresses[0], changed: false, dropped: [] });
  } finally {
    await app.end();
    await admin.end();
  }
});

test('a range freeze refuses only keys in [lo, hi), an update moving a row into the range too; asked with another range it is replaced', async () => {
  const app = await session(0, cluster.accounts.app);
  try {
    assert.equal((await freeze({ tables: ['orders'], key: { column: 'customer', lo: 100, hi: 200 } })).changed, true);
    assert.deepEqual(await freezeTriggers(0), ['orders:del', 'orders:ins', 'orders:upd']);
    assert.equal(await attempt(app, 'INSERT INTO app.orders VALUES (20, 99, 0)'), 'ok');
    assert.match(await attempt(app, 'INSERT INTO app.orders VALUES (21, 100, 0)'), MESSAGE);
    assert.match(await attempt(app, 'INSERT INTO app.orders VALUES (22, 199, 0)'), MESSAGE);
    assert.equal(await attempt(app, 'INSERT INTO app.orders VALUES (23, 200, 0)'), 'ok', 'hi is excluded');
    assert.match(await attempt(app, 'UPDATE app.orders SET v = 1 WHERE id = 2'), MESSAGE, 'a row in range');
    assert.match(await attempt(app, 'UPDATE app.orders SET customer = 150 WHERE id = 1'), MESSAGE, 'a row moved into the range');
    assert.match(await attempt(app, 'UPDATE app.orders SET customer = 10 WHERE id = 2'), MESSAGE, 'a row moved out of the range');
    assert.equal(await attempt(app, 'UPDATE app.orders SET v = 1 WHERE id = 3'), 'ok');
    assert.match(await attempt(app, 'DELETE FROM app.orders WHERE id = 2'), MESSAGE);
    assert.equal(await attempt(app, 'DELETE FROM app.orders WHERE id = 20'), 'ok');
    assert.equal(await attempt(app, "INSERT INTO app.notes VALUES (2, 'b')"), 'ok', 'a table not named is not frozen');
    assert.equal((await freeze({ tables: ['orders'], key: { column: 'customer', lo: 100, hi: 200 } })).changed, false);

    // 200: (no upper bound): new triggers replace the old, three in all.
    assert.equal((await freeze({ tables: ['orders'], key: { column: 'customer', lo: 200, hi: null } })).changed, true);
    assert.deepEqual(await freezeTriggers(0), ['orders:del', 'orders:ins', 'orders:upd']);
    assert.equal(await attempt(app, 'INSERT INTO app.orders VALUES (24, 150, 0)'), 'ok');
    assert.match(await attempt(app, 'INSERT INTO app.orders VALUES (25, 1000000000, 0)'), MESSAGE);
  } finally {
    await app.end();
  }
});

test('the application\'s own triggers keep firing, before the freeze judges the key they leave', async () => {
  await cluster.sql(0, 'CREATE TABLE app.audit (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT)');
  await cluster.sql(0, 'CREATE TRIGGER app.orders_audit BEFORE INSERT ON app.orders FOR EACH ROW INSERT INTO app.audit (order_id) VALUES (NEW.id)');
  await cluster.sql(0, 'CREATE TRIGGER app.orders_default BEFORE INSERT ON app.orders FOR EACH ROW SET NEW.customer = IFNULL(NEW.customer, 150)');
  const app = await session(0, cluster.accounts.app);
  const admin = await session(0, cluster.accounts.admin);
  try {
    await freeze({ tables: ['orders'], key: { column: 'customer', lo: 100, hi: 200 } });
    assert.equal(await attempt(app, 'INSERT INTO app.orders VALUES (30, 10, 0)'), 'ok');
    assert.match(await attempt(app, 'INSERT INTO app.orders (id) VALUES (31)'), MESSAGE, 'the key the application\'s trigger set is in range');
    assert.equal(await attempt(admin, 'INSERT INTO app.orders (id) VALUES (32)'), 'ok');
    const audited = await cluster.sql(0, 'SELECT order_id FROM app.audit ORDER BY id');
    assert.deepEqual(audited.map((r) => r.order_id), [30, 32], 'the application\'s trigger ran; the refused insert left nothing');
    const order = await cluster.sql(0, 'SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_MANIPULATION = ? ORDER BY ACTION_ORDER', ['app', 'INSERT']);
    assert.deepEqual(order.map((r) => String(r.n).startsWith('gtidflow_') ? 'freeze' : r.n), ['orders_audit', 'orders_default', 'freeze']);
    await thaw();
    assert.deepEqual((await cluster.sql(0, "SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'app' ORDER BY 1")).map((r) => r.n), ['orders_audit', 'orders_default'], 'thaw drops only the freeze');
  } finally {
    await app.end();
    await admin.end();
  }
});

test('the freeze replicates as DDL; a replica applies row events through it (even with ENFORCE); promoted, it keeps refusing', async () => {
  const [setting] = await cluster.sql(1, 'SELECT @@global.slave_run_triggers_for_rbr AS r, @@global.binlog_format AS f');
  assert.deepEqual(setting, { r: 'NO', f: 'ROW' }, 'row events do not fire triggers on this replica');
  await freeze();
  await waitForReplicas(cluster);
  assert.equal((await freezeTriggers(1)).length, 6, 'the triggers are on the replica');
  const admin = await session(0, cluster.accounts.admin);
  try {
    await admin.query('INSERT INTO app.orders VALUES (40, 150, 0)');
    await waitForReplicas(cluster);
    await cluster.sql(1, 'STOP SLAVE; SET GLOBAL slave_run_triggers_for_rbr = ENFORCE; START SLAVE');
    try {
      await admin.query('INSERT INTO app.orders VALUES (41, 150, 0)');
      await admin.query('UPDATE app.orders SET v = 2 WHERE id = 40');
      await waitForReplicas(cluster);
      const replication = (await run(getServerState, server(1))).replication!;
      assert.equal(replication.sqlRunning, true, replication.sqlError);
    } finally {
      await cluster.sql(1, 'STOP SLAVE; SET GLOBAL slave_run_triggers_for_rbr = NO; START SLAVE');
    }
    assert.deepEqual((await cluster.sql(1, 'SELECT id, v FROM app.orders WHERE id >= 40 ORDER BY id')).map((r) => [r.id, r.v]), [[40, 2], [41, 0]]);
  } finally {
    await admin.end();
  }
  // A thaw or a freeze on the replica would be a transaction of its own there.
  await assert.rejects(thaw(1), (e: ApplicationFailure) => e.type === 'NotPrimary');
  // The triggers are data: a promoted replica refuses the application the same way.
  await run(promote, server(1));
  const app = await session(1, cluster.accounts.app);
  try {
    assert.match(await attempt(app, 'INSERT INTO app.orders VALUES (42, 1, 0)'), MESSAGE);
  } finally {
    await app.end();
  }
});

test('a transaction open on a table holds the freeze back (the step fails and is retried), so writes made before it are all committed when it returns', async () => {
  const app = await session(0, cluster.accounts.app);
  try {
    await app.query('BEGIN');
    await app.query('INSERT INTO app.orders VALUES (50, 1, 0)');
    const started = Date.now();
    await assert.rejects(freeze(), (e: ApplicationFailure) => !e.nonRetryable && /Lock wait timeout/.test(e.message));
    assert.ok(Date.now() - started < 10_000);
    await app.query('COMMIT');
    assert.equal((await freeze()).changed, true);
    assert.equal((await cluster.sql(0, 'SELECT COUNT(*) AS n FROM app.orders WHERE id = 50'))[0].n, 1);
    assert.match(await attempt(app, 'INSERT INTO app.orders VALUES (51, 1, 0)'), MESSAGE);
  } finally {
    await app.end();
  }
});

test('refusals change nothing: a read-only server, a missing table or key column, a bad range or name', async () => {
  const refused = async (promise: Promise<unknown>, type: string, message: RegExp) => {
    await assert.rejects(promise, (e: ApplicationFailure) => e.type === type && e.nonRetryable && message.test(e.message) && e.message.split('\n').length === 1);
  };
  await refused(freeze({}, 1), 'NotPrimary', /freeze refused: the server is read-only/);
  await refused(freeze({ tables: ['orders', 'nope'] }), 'NoSuchTable', /no table app\.nope$/);
  await refused(freeze({ key: { column: 'customer', lo: 0, hi: 10 } }), 'NoSuchColumn', /no column customer in app\.notes$/);
  await refused(freeze({ tables: ['orders'], key: { column: 'customer', lo: 10, hi: 10 } }), 'BadFreeze', /the range 10:10 is empty/);
  await refused(run(freezeWrites, { ...server(0), name: 'Cap_1', freeze: { database: 'app' } }), 'BadFreeze', /freeze name "Cap_1"/);
  await refused(run(freezeWrites, { ...server(0), name: 'x', freeze: { database: 'app;drop' } }), 'BadFreeze', /not a database name/);
  assert.deepEqual(await freezeTriggers(0), []);
  assert.deepEqual(await freezeTriggers(1), []);
  assert.deepEqual((await run(freezeWrites, { ...server(0), name: 'x', freeze: { database: 'nodb' } })).tables, [], 'a database without tables: nothing to freeze');
});
