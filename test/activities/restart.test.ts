import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { isMariadbRunning, rootConnection } from '../../client/local/mariadb';
import { sleep } from '../../client/local/ports';
import { untrack } from '../harness/cleanup';
import { startTestCluster, TestCluster, waitForReplicas } from '../harness/cluster';

/**
 * A killed AFTER_SYNC primary can hold, in its binlog, a transaction no
 * replica acknowledged. Restarted plainly, MariaDB's crash recovery commits
 * it (the server comes back diverged); every local server starts with
 * --init-rpl-role=SLAVE, which truncates it instead (DESIGN.md).
 */
let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster(2);
  await cluster.sql(0, 'CREATE TABLE IF NOT EXISTS app.rows (id INT PRIMARY KEY)');
  await waitForReplicas(cluster);
});

const binlogPos = async (i: number) => String((await cluster.sql(i, 'SELECT @@gtid_binlog_pos AS pos'))[0].pos);

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

test('a primary killed while a commit waits for the semi-sync ack comes back without that transaction', async () => {
  const semiSync = async () => String((await cluster.sql(0, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_status'"))[0]?.Value);
  await until('semi-sync primary side ON', 10_000, async () => ((await semiSync()) === 'ON' ? true : undefined));
  await cluster.sql(1, 'STOP SLAVE IO_THREAD');
  assert.equal(await semiSync(), 'ON', 'semi-sync still waits for an ack with no replica attached');

  const before = await binlogPos(0);
  const writer = await rootConnection(cluster.servers[0].port);
  writer.on('error', () => undefined);
  const insert = writer.query('INSERT INTO app.rows VALUES (1)').then(() => 'committed', (e: Error) => `failed: ${e.message}`);
  // In the binlog (synced), not committed: the commit waits for an ack that cannot come.
  const pos = await until('the insert reached the binlog', 5_000, async () => {
    const now = await binlogPos(0);
    return now !== before ? now : undefined;
  });
  const gtid = pos.split(',').find((g) => !before.split(',').includes(g))!;

  const { pid } = cluster.servers[0];
  process.kill(pid, 'SIGKILL');
  await until(`mariadbd ${pid} exited`, 10_000, async () => (isMariadbRunning(pid) ? undefined : true));
  untrack(pid);
  assert.match(await insert, /^failed/, 'the client never saw the commit');

  await cluster.start(0);
  const log = () => fs.readFileSync(path.join(cluster.servers[0].dir, 'error.log'), 'utf8').split('\n').slice(-30).join('\n');
  const rows = await cluster.sql(0, 'SELECT id FROM app.rows');
  assert.deepEqual(rows, [], `the unacknowledged row was recovered; error log:\n${log()}`);
  const after = await binlogPos(0);
  assert.ok(!after.split(',').includes(gtid), `gtid_binlog_pos ${after} still holds ${gtid}; error log:\n${log()}`);
  assert.match(log(), new RegExp(`Successfully truncated binlog file.* starting from GTID ${gtid}\\b`), 'crash recovery truncated it');
});
