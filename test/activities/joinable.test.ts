import assert from 'node:assert/strict';
import { before, beforeEach, test } from 'node:test';
import { checkJoinable } from '../../activities/joinable';
import { promote } from '../../activities/promote';
import { changeSource, stopReplication } from '../../activities/replication';
import { setReadOnly } from '../../activities/read-only';
import { checkServerConfig } from '../../activities/server-config';
import { getServerState } from '../../activities/server-state';
import { waitForGtid } from '../../activities/wait-for-gtid';
import { rootConnection } from '../../client/local/mariadb';
import { sleep } from '../../client/local/ports';
import { joinProblems } from '../../workflows/logic/joining';
import { activityRunner } from '../harness/activity';
import { resetTopology, startTestCluster, TestCluster, waitForReplicas } from '../harness/cluster';

let cluster: TestCluster;
let run: ReturnType<typeof activityRunner>;
const server = (i: number) => ({ address: cluster.addresses[i], access: cluster.access });

before(async () => {
  cluster = await startTestCluster(3);
  run = activityRunner(cluster);
  await cluster.sql(0, 'CREATE DATABASE IF NOT EXISTS t; CREATE TABLE t.j (id INT AUTO_INCREMENT PRIMARY KEY, origin VARCHAR(20))');
});

/** Each case starts from one history: server 0 primary. A case that promoted server 1 gets it rebuilt. */
beforeEach(async () => {
  for (const i of [0, 1, 2]) await cluster.sql(i, 'SET sql_log_bin = 0; TRUNCATE TABLE t.j');
  for (const i of [1, 2]) await cluster.sql(i, 'STOP SLAVE; RESET SLAVE ALL; RESET MASTER; SET GLOBAL gtid_slave_pos = ""');
  await cluster.sql(0, 'STOP SLAVE; RESET SLAVE ALL; RESET MASTER; SET GLOBAL gtid_slave_pos = ""; SET GLOBAL read_only = 0');
  await resetTopology(cluster);
  await cluster.sql(0, "INSERT INTO t.j (origin) VALUES ('start')");
  await waitForReplicas(cluster);
});

/** Fails over from server 0 to server 1 while server 0 is frozen (SIGSTOP: a partitioned host). */
async function failoverWhileFrozen(): Promise<void> {
  process.kill(cluster.servers[0].pid, 'SIGSTOP');
  try {
    for (const i of [1, 2]) await run(stopReplication, { ...server(i), ioOnly: false });
    await run(promote, server(1));
    await run(changeSource, { ...server(2), source: cluster.addresses[1] });
    await cluster.sql(1, "INSERT INTO t.j (origin) VALUES ('new primary')");
  } finally {
    process.kill(cluster.servers[0].pid, 'SIGCONT');
  }
}

test('a clean demoted primary is joinable', async () => {
  await run(setReadOnly, { ...server(0), readOnly: true });
  const { executed } = await run(getServerState, server(0));
  assert.equal((await run(waitForGtid, { ...server(1), gtid: executed, timeoutSeconds: 10 })).reached, true);
  for (const i of [1, 2]) await run(stopReplication, { ...server(i), ioOnly: false });
  await run(promote, server(1));
  await cluster.sql(1, "INSERT INTO t.j (origin) VALUES ('new primary')");
  const result = await run(checkJoinable, { ...server(0), source: cluster.addresses[1] });
  assert.equal(result.joinable, true, result.reason);
  assert.equal(result.divergent, '');
});

test('an old primary that took a write while isolated is reported diverged, its transaction named', async () => {
  await failoverWhileFrozen();
  // The frozen primary comes back still writable and takes a write nobody else has.
  await cluster.sql(0, "INSERT INTO t.j (origin) VALUES ('isolated')");
  const { executed } = await run(getServerState, server(0));
  const result = await run(checkJoinable, { ...server(0), source: cluster.addresses[1] });
  assert.equal(result.joinable, false);
  assert.equal(result.divergent, executed);
  assert.match(result.reason, new RegExp(`has transactions ${cluster.addresses[1]} lacks: ${executed}`));
});

test('an old primary further ahead than the new one is diverged too', async () => {
  await failoverWhileFrozen();
  await cluster.sql(0, "INSERT INTO t.j (origin) VALUES ('isolated 1'), ('isolated 2')");
  await cluster.sql(0, "INSERT INTO t.j (origin) VALUES ('isolated 3')");
  const result = await run(checkJoinable, { ...server(0), source: cluster.addresses[1] });
  assert.equal(result.joinable, false);
  assert.match(result.divergent, /^0-1-\d+$/);
});

test('a divergence positions cannot show (the new primary went further) is caught by the source refusing it (1236)', async () => {
  await failoverWhileFrozen();
  await cluster.sql(1, "INSERT INTO t.j (origin) VALUES ('new primary again')");
  await cluster.sql(0, "INSERT INTO t.j (origin) VALUES ('isolated')");
  await run(setReadOnly, { ...server(0), readOnly: true });
  await run(changeSource, { ...server(0), source: cluster.addresses[1], demotedPrimary: true });
  let result = await run(checkJoinable, { ...server(0), source: cluster.addresses[1] });
  for (let i = 0; i < 50 && result.joinable; i++) {
    await sleep(100);
    result = await run(checkJoinable, { ...server(0), source: cluster.addresses[1] });
  }
  assert.equal(result.joinable, false);
  assert.match(result.reason, /refused/);
  // Nothing of the new primary's was applied on the diverged server.
  assert.deepEqual((await cluster.sql(0, "SELECT COUNT(*) AS n FROM t.j WHERE origin LIKE 'new primary%'"))[0].n, 0);
});

test('a replica streaming from its primary under writes is joinable every time (read the server before its source)', async () => {
  let writing = true;
  const writes = (async () => {
    const conn = await rootConnection(cluster.servers[0].port);
    try {
      while (writing) await conn.query("INSERT INTO t.j (origin) VALUES ('load')");
    } finally {
      await conn.end();
    }
  })();
  try {
    const refused: string[] = [];
    for (let i = 0; i < 30; i++) {
      const check = await run(checkJoinable, { ...server(1), source: cluster.addresses[0] });
      if (!check.joinable) refused.push(check.reason);
    }
    assert.deepEqual(refused, []);
  } finally {
    writing = false;
    await writes;
  }
});

test('checkServerConfig reports the settings joinProblems judges, by MariaDB names', async () => {
  const config = await run(checkServerConfig, server(0));
  assert.deepEqual(config, {
    address: cluster.addresses[0], flavor: 'mariadb', serverId: cluster.servers[0].serverId, logBin: true, logReplicaUpdates: true,
    replicaUpdatesSetting: 'log_slave_updates', binlogFormat: 'ROW', gtidStrict: true, gtidSetting: 'gtid_strict_mode',
  });
  assert.deepEqual(joinProblems(config, 'mariadb', [cluster.servers[1].serverId]), []);
  await cluster.sql(0, 'SET GLOBAL gtid_strict_mode = 0');
  try {
    const lax = await run(checkServerConfig, server(0));
    assert.equal(lax.gtidStrict, false);
    assert.deepEqual(joinProblems(lax, 'mariadb', []), ['gtid_strict_mode must be ON']);
  } finally {
    await cluster.sql(0, 'SET GLOBAL gtid_strict_mode = 1');
  }
});
