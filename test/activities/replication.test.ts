import assert from 'node:assert/strict';
import { before, beforeEach, test } from 'node:test';
import { monitorPrimary } from '../../activities/monitor';
import { changeSource, freezeReplica, resetReplication, startReplication, stopReplication } from '../../activities/replication';
import { setReadOnly } from '../../activities/read-only';
import { setSemiSync } from '../../activities/semi-sync';
import { getServerState } from '../../activities/server-state';
import { waitForGtid } from '../../activities/wait-for-gtid';
import { gtidContains } from '../../workflows/logic/gtid';
import { activityRunner } from '../harness/activity';
import { startTcpProxy } from '../harness/tcp-proxy';
import { resetTopology, startTestCluster, TestCluster, waitForReplicas } from '../harness/cluster';

let cluster: TestCluster;
let run: ReturnType<typeof activityRunner>;
const server = (i: number) => ({ address: cluster.addresses[i], access: cluster.access });
const state = (i: number) => run(getServerState, server(i));
// gtid_binlog_pos moves when the applier's binlog group is flushed, a moment before InnoDB's commit is visible
// (seen under a load of 13 on 2 cores): rows a wait has reached are looked for until that moment has passed.
async function appliedIds(i: number, sql: string, count: number): Promise<unknown[]> {
  const ids = async () => (await cluster.sql(i, sql)).map((r) => r.id);
  for (const deadline = Date.now() + 2_000; (await ids()).length < count && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
  return ids();
}

before(async () => {
  cluster = await startTestCluster(3);
  run = activityRunner(cluster);
  await cluster.sql(0, 'CREATE DATABASE IF NOT EXISTS t');
});

beforeEach(async () => {
  await resetTopology(cluster);
});

test('setReadOnly: twice in a row gives the same end state, the second changes nothing', async () => {
  assert.deepEqual(await run(setReadOnly, { ...server(1), readOnly: false }), { address: cluster.addresses[1], changed: true, readOnly: false });
  assert.equal((await state(1)).readOnly, false);
  assert.deepEqual(await run(setReadOnly, { ...server(1), readOnly: false }), { address: cluster.addresses[1], changed: false, readOnly: false });
  assert.equal((await run(setReadOnly, { ...server(1), readOnly: true })).changed, true);
  assert.equal((await state(1)).readOnly, true);
});

test('setSemiSync: the primary side on exactly the primary, idempotent', async () => {
  assert.equal((await run(setSemiSync, { ...server(0), primary: true })).changed, false);
  await run(changeSource, { ...server(2), source: cluster.addresses[1] });
  assert.equal((await run(setSemiSync, { ...server(1), primary: true })).changed, true);
  assert.equal((await run(setSemiSync, { ...server(1), primary: true })).changed, false);
  const s = await state(1);
  assert.equal(s.semiSync.primaryEnabled, true);
  assert.equal(s.semiSync.replicaEnabled, false);
  assert.equal((await run(setSemiSync, { ...server(1), primary: false })).changed, true);
  assert.equal((await state(1)).semiSync.primaryEnabled, false);
});

test('setSemiSync: the primary side waits for a replica (it would block the next write), sets the policy, or goes off', async () => {
  const alone = await run(setSemiSync, { ...server(2), primary: true });
  assert.deepEqual(alone, { address: cluster.addresses[2], changed: true, waitingForReplica: true });
  assert.deepEqual([(await state(2)).semiSync.primaryEnabled, (await state(2)).semiSync.replicaEnabled], [false, false]);
  const policy = { waitPoint: 'AFTER_COMMIT' as const, timeoutMs: 2500 };
  assert.equal((await run(setSemiSync, { ...server(0), primary: true, policy })).changed, true);
  const s0 = (await state(0)).semiSync;
  assert.deepEqual([s0.primaryEnabled, s0.waitPoint, s0.timeoutMs], [true, 'AFTER_COMMIT', 2500]);
  assert.equal((await run(setSemiSync, { ...server(0), primary: true, policy })).changed, false);
  assert.equal((await run(setSemiSync, { ...server(0), primary: true, policy: 'off' })).changed, true);
  assert.deepEqual([(await state(0)).semiSync.primaryEnabled, (await state(0)).semiSync.replicaEnabled], [false, false]);
  assert.equal((await run(setSemiSync, { ...server(0), primary: true })).changed, true);
  assert.deepEqual([(await state(0)).semiSync.waitPoint, (await state(0)).semiSync.timeoutMs], ['AFTER_SYNC', 10000]);
});

test('setSemiSync turns the replica side on for a replica already streaming: it acknowledges at once, no write waits out the timeout', async () => {
  // An asynchronous replica set as an operator had it: the replicas stream with the replica side off.
  for (const i of [1, 2]) await cluster.sql(i, 'SET GLOBAL rpl_semi_sync_slave_enabled = 0; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD');
  await cluster.sql(0, 'SET GLOBAL rpl_semi_sync_master_timeout = 3000');
  for (const i of [1, 2]) assert.equal((await run(setSemiSync, { ...server(i), primary: false })).changed, true);
  for (const i of [1, 2]) assert.equal((await state(i)).replication?.ioRunning, true);
  const started = Date.now();
  await cluster.sql(0, 'CREATE TABLE IF NOT EXISTS t.acked (id INT PRIMARY KEY); REPLACE INTO t.acked VALUES (1)');
  assert.ok(Date.now() - started < 2_000, `the write waited ${Date.now() - started} ms for an acknowledgement`);
  const clients = async () => Number((await cluster.sql(0, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'"))[0].Value);
  // Each restarted IO thread registers with the primary a moment after it runs.
  for (const deadline = Date.now() + 2_000; (await clients()) < 2 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await clients(), 2);
  await cluster.sql(0, 'SET GLOBAL rpl_semi_sync_master_timeout = 10000');
});

test('stopReplication / startReplication: IO only, all, each twice', async () => {
  const io = await run(stopReplication, { ...server(1), ioOnly: true });
  assert.equal(io.changed, true);
  assert.equal(io.replication?.ioRunning, false);
  assert.equal(io.replication?.sqlRunning, true);
  assert.equal((await run(stopReplication, { ...server(1), ioOnly: true })).changed, false);
  const all = await run(stopReplication, { ...server(1), ioOnly: false });
  assert.equal(all.changed, true);
  assert.equal(all.replication?.sqlRunning, false);
  assert.equal((await run(stopReplication, { ...server(1), ioOnly: false })).changed, false);
  assert.equal((await run(startReplication, server(1))).changed, true);
  assert.equal((await run(startReplication, server(1))).changed, false);
  const s = await state(1);
  assert.equal(s.replication?.sqlRunning, true);
});

test('resetReplication: forgets the source; twice is the same', async () => {
  assert.equal((await run(resetReplication, server(2))).changed, true);
  assert.equal((await state(2)).replication, null);
  assert.equal((await run(resetReplication, server(2))).changed, false);
  await assert.rejects(run(startReplication, server(2)), /has no replication source/);
});

test('changeSource + waitForGtid move a replica between sources with no lost rows', async () => {
  await cluster.sql(0, 'CREATE TABLE t.move (id INT PRIMARY KEY)');
  await cluster.sql(0, 'INSERT INTO t.move VALUES (1), (2), (3)');
  await waitForReplicas(cluster);
  // Server 2 replicates from server 1 (a chain), then rows keep coming on the primary.
  assert.equal((await run(changeSource, { ...server(2), source: cluster.addresses[1] })).changed, true);
  assert.equal((await run(changeSource, { ...server(2), source: cluster.addresses[1] })).changed, false);
  await cluster.sql(0, 'INSERT INTO t.move VALUES (4), (5)');
  const target = (await state(0)).executed;
  const waited = await run(waitForGtid, { ...server(2), gtid: target, timeoutSeconds: 20 });
  assert.equal(waited.reached, true);
  const s2 = await state(2);
  assert.equal(s2.replication?.sourcePort, cluster.servers[1].port);
  assert.deepEqual(await appliedIds(2, 'SELECT id FROM t.move ORDER BY id', 5), [1, 2, 3, 4, 5]);
});

test('changeSource from a half-done state (replication stopped, not repointed) completes the step', async () => {
  await run(stopReplication, { ...server(2), ioOnly: false });
  const result = await run(changeSource, { ...server(2), source: cluster.addresses[0] });
  assert.equal(result.changed, true);
  assert.equal(result.replication?.sqlRunning, true);
  assert.equal((await run(changeSource, { ...server(2), source: cluster.addresses[0] })).changed, false);
});

test('changeSource makes a writable server read-only before it replicates, even when already pointed there', async () => {
  await run(setReadOnly, { ...server(2), readOnly: false });
  const repointed = await run(changeSource, { ...server(2), source: cluster.addresses[0] });
  assert.equal(repointed.changed, true);
  assert.equal((await state(2)).readOnly, true);
  await run(setReadOnly, { ...server(1), readOnly: false });
  await run(changeSource, { ...server(1), source: cluster.addresses[2] });
  const s1 = await state(1);
  assert.equal(s1.readOnly, true);
  assert.equal(s1.replication?.sourcePort, cluster.servers[2].port);
});

test('freezeReplica: a stopped applier is started before the IO thread stops, so what was received is applied; twice changes nothing', async () => {
  await cluster.sql(0, 'CREATE TABLE IF NOT EXISTS t.frozen (id INT PRIMARY KEY)');
  await waitForReplicas(cluster);
  await cluster.sql(1, 'STOP SLAVE SQL_THREAD');
  await cluster.sql(0, 'INSERT INTO t.frozen VALUES (1), (2)');
  const target = (await state(0)).executed;
  while (!gtidContains('mariadb', (await state(1)).replication?.received ?? '', target)) await new Promise((r) => setTimeout(r, 20));
  const frozen = await run(freezeReplica, server(1));
  assert.equal(frozen.changed, true);
  assert.equal(frozen.replication?.ioRunning, false);
  assert.equal(frozen.replication?.sqlRunning, true);
  assert.equal((await run(waitForGtid, { ...server(1), gtid: target, timeoutSeconds: 10 })).reached, true);
  assert.deepEqual(await appliedIds(1, 'SELECT id FROM t.frozen ORDER BY id', 2), [1, 2]);
  assert.equal((await run(freezeReplica, server(1))).changed, false);
});

test('a frozen primary: the replicas\' silence is the quorum while their IO threads still count as connected (even where the failed probes take less time than the silence); the freeze ends one in well under the 2 s a STOP alone takes, and nothing from the thawed primary arrives', async () => {
  await cluster.sql(0, 'CREATE TABLE IF NOT EXISTS t.thawed (id INT PRIMARY KEY)');
  await waitForReplicas(cluster);
  const frozen = cluster.servers[0].pid;
  process.kill(frozen, 'SIGSTOP');
  try {
    const verdict = await run(monitorPrimary, { cluster: 'replication', primary: cluster.addresses[0], replicas: cluster.addresses.slice(1), faulty: [], access: cluster.access, intervalMs: 1_000, threshold: 2 });
    assert.equal(verdict.kind, 'primary-dead', JSON.stringify(verdict));
    assert.match((verdict as { reason: string }).reason, /2 of 2 reachable replica\(s\) lost it/);
    // slave_net_timeout outlasts the detection: the replicas did not drop the connection, they heard nothing on it.
    assert.equal((await state(1)).replication?.ioRunning, true, 'replica 1 still counts as connected');
    const freezing = Date.now();
    const result = await run(freezeReplica, server(1));
    assert.ok(Date.now() - freezing < 1_500, `the freeze took ${Date.now() - freezing} ms: the IO thread was stopped, not killed first`);
    assert.equal(result.changed, true);
    assert.equal(result.replication?.ioRunning || result.replication?.ioConnecting, false);
  } finally {
    process.kill(frozen, 'SIGCONT');
  }
  const received = (await state(1)).replication?.received;
  await cluster.sql(0, 'INSERT INTO t.thawed VALUES (1)');
  await waitForGtid({ address: cluster.addresses[2], access: cluster.access, gtid: (await state(0)).executed, timeoutSeconds: 10 });
  assert.equal((await state(1)).replication?.received, received, 'the frozen replica received nothing from the thawed primary');
});

test('a live, idle primary the manager alone cannot reach, its replicas asking for a heartbeat only every 30 s: not dead by their silence, the manager is cut off', async () => {
  const heartbeat = (seconds: number) => Promise.all([1, 2].map((i) => cluster.sql(i, `STOP SLAVE; CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD = ${seconds}; START SLAVE`)));
  await heartbeat(30);
  const proxy = await startTcpProxy(cluster.servers[0].port);
  const via = process.env.GTIDFLOW_CONNECT_VIA;
  process.env.GTIDFLOW_CONNECT_VIA = `${cluster.addresses[0]}=127.0.0.1:${proxy.port}`;
  proxy.hang();
  try {
    const verdict = await run(monitorPrimary, { cluster: 'replication', primary: cluster.addresses[0], replicas: cluster.addresses.slice(1), faulty: [], access: cluster.access, intervalMs: 1_000, threshold: 2 });
    assert.equal(verdict.kind, 'warning', JSON.stringify(verdict));
    assert.match((verdict as { warning: { text: string } }).warning.text, /0 of 2 reachable replica\(s\) lost it/);
  } finally {
    proxy.answer();
    if (via === undefined) delete process.env.GTIDFLOW_CONNECT_VIA;
    else process.env.GTIDFLOW_CONNECT_VIA = via;
    await heartbeat(0.5);
  }
});

test('freezeReplica leaves a replica whose threads are both stopped as it is (starting it would discard its relay log)', async () => {
  await run(stopReplication, { ...server(2), ioOnly: false });
  const frozen = await run(freezeReplica, server(2));
  assert.equal(frozen.changed, false);
  assert.equal(frozen.replication?.sqlRunning, false);
});

test('freezeReplica leaves a broken applier its IO thread, so its relay log stays applicable once repaired', async () => {
  await cluster.sql(0, 'CREATE TABLE IF NOT EXISTS t.broken (id INT PRIMARY KEY)');
  await waitForReplicas(cluster);
  await cluster.sql(1, 'SET SESSION sql_log_bin = 0; INSERT INTO t.broken VALUES (1)');
  await cluster.sql(0, 'INSERT INTO t.broken VALUES (1)');
  while (!(await state(1)).replication?.sqlErrno) await new Promise((r) => setTimeout(r, 20));
  const broken = await run(freezeReplica, server(1));
  assert.equal(broken.changed, false);
  assert.equal(broken.replication?.ioRunning, true, 'its relay log stays applicable once the applier is repaired');
  await cluster.sql(1, 'SET SESSION sql_log_bin = 0; DELETE FROM t.broken');
});

test('waitForGtid: a position nobody has times out with reached=false', async () => {
  const start = Date.now();
  const result = await run(waitForGtid, { ...server(1), gtid: '0-1-999999', timeoutSeconds: 2 });
  assert.equal(result.reached, false);
  assert.ok(Date.now() - start >= 1900, 'returned before its timeout');
});
