import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { provision } from '../../activities/provision';
import { changeSource } from '../../activities/replication';
import { getServerState } from '../../activities/server-state';
import { waitForGtid } from '../../activities/wait-for-gtid';
import { activityRunner } from '../harness/activity';
import { startTestCluster, TestCluster } from '../harness/cluster';

let cluster: TestCluster;
let run: ReturnType<typeof activityRunner>;
const server = (i: number) => ({ address: cluster.addresses[i], access: cluster.access });

before(async () => {
  cluster = await startTestCluster(2);
  run = activityRunner(cluster);
  await cluster.sql(0, 'CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))');
  await cluster.sql(0, "INSERT INTO shop.orders VALUES (1, 'tea'), (2, 'cake'), (3, 'jam')");
});

test('provision by dump copies a replica onto an empty server, which then replicates with no lost rows', async () => {
  const target = await cluster.addServer();
  const first = await run(provision, { ...server(target), source: cluster.addresses[1], method: 'dump' });
  assert.equal(first.changed, true);
  const source = await run(getServerState, server(1));
  assert.equal(first.executed, source.executed, 'the copy carries the source GTID position');

  await run(changeSource, { ...server(target), source: cluster.addresses[0] });
  await cluster.sql(0, "INSERT INTO shop.orders VALUES (4, 'bread')");
  const primary = await run(getServerState, server(0));
  assert.equal((await run(waitForGtid, { ...server(target), gtid: primary.executed, timeoutSeconds: 20 })).reached, true);
  assert.deepEqual((await cluster.sql(target, 'SELECT id FROM shop.orders ORDER BY id')).map((r) => r.id), [1, 2, 3, 4]);
  const after = await run(getServerState, server(target));
  assert.equal(after.replication?.sqlRunning, true);
  assert.equal(after.replication?.sqlErrno, 0);

  // Already replicating from there: a second run touches nothing.
  assert.equal((await run(provision, { ...server(target), source: cluster.addresses[0], method: 'dump' })).changed, false);
});

test("provision by the operator's script runs it with source, target and a client defaults file", async () => {
  const target = await cluster.addServer();
  const seen = path.join(cluster.dir, 'script-saw');
  // The operator's tool, in shell: dump the source and load it, as they might with their own flags.
  const script = `echo "$GTIDFLOW_SOURCE $GTIDFLOW_TARGET" > ${seen}; ` +
    'mariadb-dump --defaults-extra-file="$GTIDFLOW_CLIENT_DEFAULTS" -h "${GTIDFLOW_SOURCE%:*}" -P "${GTIDFLOW_SOURCE##*:}" --single-transaction --gtid --master-data=1 --all-databases ' +
    '| mariadb --defaults-extra-file="$GTIDFLOW_CLIENT_DEFAULTS" -h "${GTIDFLOW_TARGET%:*}" -P "${GTIDFLOW_TARGET##*:}" --init-command="SET sql_log_bin=0"';
  const result = await run(provision, { ...server(target), source: cluster.addresses[1], method: `script:${script}` });
  assert.equal(result.changed, true);
  assert.equal(fs.readFileSync(seen, 'utf8').trim(), `${cluster.addresses[1]} ${cluster.addresses[target]}`);
  assert.equal((await cluster.sql(target, 'SELECT COUNT(*) AS n FROM shop.orders'))[0].n, 4);

  const failing = await run(provision, { ...server(target), source: cluster.addresses[1], method: 'script:echo broken >&2; exit 3' }).catch((e) => e);
  assert.equal(failing.type, 'ProvisionFailed');
  assert.match(failing.message, /exited 3: broken/);
});

test('clone is refused on MariaDB with a clear reason', async () => {
  const target = await cluster.addServer();
  const err = await run(provision, { ...server(target), source: cluster.addresses[0], method: 'clone' }).catch((e) => e);
  assert.equal(err.type, 'Unsupported');
  assert.match(err.message, /mariadb has no CLONE INSTANCE: a clone needs host agents/);
});
