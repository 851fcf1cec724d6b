import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, beforeEach, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import * as mysql from 'mysql2/promise';
import { readPassword } from '../../client/local/secrets';
import { promote } from '../../activities/promote';
import { changeSource, stopReplication } from '../../activities/replication';
import { getServerState, probeServer } from '../../activities/server-state';
import { killClientConnections } from '../../activities/sessions';
import { withDb } from '../../activities/db/connection';
import { serverErrorCode } from '../../activities/db/errors';
import { publishTopology, PublishedView } from '../../activities/topology';
import { activityRunner } from '../harness/activity';
import { resetTopology, startTestCluster, TestCluster, waitForReplicas } from '../harness/cluster';

let cluster: TestCluster;
let run: ReturnType<typeof activityRunner>;
const server = (i: number) => ({ address: cluster.addresses[i], access: cluster.access });

before(async () => {
  cluster = await startTestCluster(3);
  run = activityRunner(cluster);
  await cluster.sql(0, 'CREATE DATABASE IF NOT EXISTS t');
});

beforeEach(async () => {
  await resetTopology(cluster);
});

function appSession(i: number) {
  return mysql.createConnection({ host: '127.0.0.1', port: cluster.servers[i].port, user: 'app', password: readPassword(cluster.accounts.app) });
}

test('killClientConnections ends client sessions, keeps replication; a second run kills nothing', async () => {
  const sessions = await Promise.all([appSession(0), appSession(0)]);
  for (const s of sessions) s.on('error', () => undefined);
  const first = await run(killClientConnections, server(0));
  assert.equal(first.killed, 2);
  for (const s of sessions) await assert.rejects(s.query('SELECT 1'));
  assert.equal((await run(killClientConnections, server(0))).killed, 0);
  const dumps = await cluster.sql(0, "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'");
  assert.equal(Number(dumps[0].n), 2);
});

test('killClientConnections: sessions ending by themselves while it kills (a router fencing beside it) are no failure', async () => {
  // The kill of a session already gone fails with the server's ER_NO_SUCH_THREAD, kept in the classified failure.
  const gone = await withDb(cluster.addresses[0], cluster.access, (db) => db.query('KILL CONNECTION 4000000000').then(() => undefined, (err: unknown) => err));
  assert.equal(serverErrorCode(gone), 'ER_NO_SUCH_THREAD');
  for (let round = 0; round < 5; round++) {
    const sessions = await Promise.all(Array.from({ length: 30 }, () => appSession(0)));
    for (const s of sessions) s.on('error', () => undefined);
    const leaving = Promise.all(sessions.map((s, i) => new Promise((r) => setTimeout(r, i % 6)).then(() => s.destroy())));
    await run(killClientConnections, server(0));
    await leaving;
  }
});

test('promote detaches and makes writable; twice is the same', async () => {
  const first = await run(promote, server(1));
  assert.equal(first.changed, true);
  const s = await run(getServerState, server(1));
  assert.equal(s.replication, null);
  assert.equal(s.readOnly, false);
  assert.equal((await run(promote, server(1))).changed, false);
});

test('promote refuses a replica whose applier is broken, and changes nothing', async () => {
  // A row on the replica only, then the same key from the primary: the SQL thread stops on a duplicate.
  await cluster.sql(0, 'CREATE TABLE t.dup (id INT PRIMARY KEY)');
  await waitForReplicas(cluster);
  await cluster.sql(2, 'SET sql_log_bin = 0; INSERT INTO t.dup VALUES (7)');
  await cluster.sql(0, 'INSERT INTO t.dup VALUES (7)');
  for (let i = 0; i < 50 && !(await run(getServerState, server(2))).replication?.sqlErrno; i++) await new Promise((r) => setTimeout(r, 100));
  const err = await run(promote, server(2)).catch((e) => e);
  assert.ok(err instanceof ApplicationFailure);
  assert.equal(err.type, 'ApplierBroken');
  assert.equal(err.nonRetryable, true);
  const s = await run(getServerState, server(2));
  assert.equal(s.readOnly, true);
  assert.notEqual(s.replication, null);
  await cluster.sql(2, 'SET sql_log_bin = 0; DELETE FROM t.dup');
});

test('publishTopology writes the view on the primary, it replicates, and an older view is refused', async () => {
  const view = (viewId: number, primary: string): PublishedView => ({
    cluster: 'itest', viewId, primary,
    servers: cluster.addresses.map((address) => ({ address, status: address === primary ? 'PRIMARY' : 'SECONDARY', penalty: 0, capability: 'read-write', databases: { app: 'read-only' } })),
  });
  assert.equal((await run(publishTopology, { ...server(0), view: view(5, cluster.addresses[0]) })).changed, true);
  assert.equal((await run(publishTopology, { ...server(0), view: view(5, cluster.addresses[0]) })).changed, false);
  const stale = await run(publishTopology, { ...server(0), view: view(4, cluster.addresses[1]) }).catch((e) => e);
  assert.equal(stale.type, 'StaleView');
  await waitForReplicas(cluster);
  const rows = await cluster.sql(2, "SELECT view_id, primary_address FROM gtidflow.view WHERE cluster = 'itest'");
  assert.deepEqual(rows, [{ view_id: 5, primary_address: cluster.addresses[0] }]);
  assert.equal((await cluster.sql(1, "SELECT COUNT(*) AS n FROM gtidflow.servers WHERE cluster = 'itest'"))[0].n, 3);
  assert.equal((await cluster.sql(1, "SELECT capability FROM gtidflow.database_capabilities WHERE cluster = 'itest' AND database_name = 'app' LIMIT 1"))[0].capability, 'read-only');
});

test('server errors are typed: wrong password and unknown host are final, a closed port is retryable', async () => {
  const wrong = path.join(cluster.dir, 'wrong.password');
  fs.writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
  const badAccess = { ...cluster.access, admin: { user: cluster.accounts.admin.user, passwordFile: wrong } };
  const denied = await run(getServerState, { address: cluster.addresses[0], access: badAccess }).catch((e) => e);
  assert.equal(denied.type, 'AccessDenied');
  assert.equal(denied.nonRetryable, true);
  const unknown = await run(getServerState, { address: 'no-such-host.invalid:3306', access: cluster.access }).catch((e) => e);
  assert.equal(unknown.type, 'UnknownHost');
  assert.equal(unknown.nonRetryable, true);
  const closed = await run(getServerState, { address: '127.0.0.1:1', access: cluster.access }).catch((e) => e);
  assert.equal(closed.type, 'Unreachable');
  assert.equal(closed.nonRetryable, false);
  const missing = await run(getServerState, { address: cluster.addresses[0], access: { ...cluster.access, admin: { user: 'x', passwordFile: '/nonexistent' } } }).catch((e) => e);
  assert.equal(missing.type, 'Credentials');
  assert.equal((await run(probeServer, { address: '127.0.0.1:1', access: cluster.access })).reachable, false);
});

test('changeSource refuses a host the server cannot store; its error carries no password', async () => {
  await run(stopReplication, { ...server(2), ioOnly: false });
  // CHANGE MASTER with the password in it fails; run() checks the error for every password.
  const err = await run(changeSource, { ...server(2), source: `${'h'.repeat(300)}:3306` }).catch((e) => e);
  assert.ok(err instanceof ApplicationFailure);
  assert.match(err.message, /too long/i);
});
