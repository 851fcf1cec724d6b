import assert from 'node:assert/strict';
import { after, beforeEach, test } from 'node:test';
import { getServerState } from '../../activities/server-state';
import { rootConnection } from '../../client/local/mariadb';
import { sleep } from '../../client/local/ports';
import { followOperation, requestOperation, requestServerChange } from '../../client/operations';
import { gtidContains } from '../../workflows/logic/gtid';
import { assertHealthy, conductorMemo, resetStack, TestStack, writeRows } from '../harness/stack';
import { quietStack } from '../harness/quiet-stack';

/**
 * Failovers from hard states (safety rules 2, 3, 9): an applier stopped or
 * broken holding acknowledged rows, a replica that wrote on its own, a
 * replica dying after the promotion. Detection is off: the test asks.
 */
const quiet = quietStack();
let stack: TestStack;

beforeEach(async () => {
  stack = quiet();
  setPenalties([0, 0, 0]);
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
});

after(() => setPenalties([0, 0, 0]));

function setPenalties(penalties: number[]): void {
  stack.spec.servers.forEach((s, i) => (s.penalty = penalties[i]));
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const address = (i: number) => stack.cluster.addresses[i];
const rowsOn = async (i: number) => (await stack.cluster.sql(i, 'SELECT id FROM app.rows ORDER BY id')).map((r) => Number(r.id));
const killPrimary = () => process.kill(stack.cluster.servers[0].pid, 'SIGKILL');

const failover = async (options: { acceptLoss?: string } = {}) => {
  const started = await requestOperation(stack.temporal.client, stack.name, { kind: 'failover', ...options });
  return followOperation(stack.temporal.client, started.workflowId, () => undefined);
};

test('received but not applied is owed: a stopped applier is started and its replica elected with every acknowledged row', async () => {
  await stack.cluster.sql(1, 'STOP SLAVE SQL_THREAD');
  await stack.cluster.sql(2, 'STOP SLAVE IO_THREAD');
  // Semi-sync: each row is acknowledged once server 1 has received it, though it applies nothing.
  const acknowledged = range(100, 50);
  await writeRows(stack, acknowledged);
  killPrimary();
  const result = await failover();
  assert.equal(result.primary, address(1));
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3, ...acknowledged], dead: [0] });
});

test('a broken applier holding acknowledged rows: refused with the GTIDs at stake; --accept-loss with that exact set goes on', async () => {
  // A row written on server 1 alone, outside replication: applying the primary's insert of 200 fails there.
  await stack.cluster.sql(1, 'SET SESSION sql_log_bin = 0; INSERT INTO app.rows VALUES (200)');
  await stack.cluster.sql(2, 'STOP SLAVE IO_THREAD');
  await writeRows(stack, [200, 201, 202]);
  while (!(await getServerState({ address: address(1), access: stack.cluster.access })).replication?.sqlErrno) await sleep(50);
  killPrimary();

  const refusal = await failover().then(() => 'completed', (e: Error) => e.message);
  const named = /failover refused: (\S+) was received by 127\.0\.0\.1:\d+ \(SQL thread error: .*Duplicate entry.*\) but is applied nowhere a new primary can get it from: promoting now would lose it; repair the applier or rejoin the server, or accept the loss with --accept-loss (\S+)$/.exec(refusal);
  assert.ok(named, refusal);
  assert.equal(named[1], named[2]);
  assert.equal(refusal.split('\n').length, 1);
  const memo = await conductorMemo(stack);
  assert.deepEqual([memo.primary, memo.viewId], [address(0), 1], 'a refused failover records nothing');

  const wrongSet = await failover({ acceptLoss: '0-1-1' }).then(() => 'completed', (e: Error) => e.message);
  assert.match(wrongSet, /failover refused: .* --accept-loss /, 'only the exact set is accepted');

  const accepted = await failover({ acceptLoss: named[1] });
  assert.equal(accepted.primary, address(2));
  assert.match(accepted.summary, new RegExp(`accepted loss of ${named[1]}`));
  assert.deepEqual(await rowsOn(2), [1, 2, 3]);
  await writeRows(stack, [300]);
  assert.deepEqual(await rowsOn(2), [1, 2, 3, 300]);
});

test('a replica that wrote on its own (same seq, its own server id) is diverged: never elected, FAULTY; the acknowledged row survives', async () => {
  // Server 2 is preferred by penalty: before errant checks it was elected and row 1000 was lost.
  setPenalties([0, 10, 0]);
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
  await stack.cluster.sql(2, 'STOP SLAVE IO_THREAD');
  await stack.cluster.sql(2, 'INSERT INTO app.rows VALUES (900)'); // root ignores read_only: a local write, server 2's own GTID
  await writeRows(stack, [1000]); // acknowledged by server 1: the primary's GTID with the same seq
  killPrimary();
  const result = await failover();
  assert.equal(result.primary, address(1));
  const memo = await conductorMemo(stack);
  assert.deepEqual(memo.servers.map((s) => s.status), ['FAULTY', 'PRIMARY', 'FAULTY']);
  assert.deepEqual(await rowsOn(1), [1, 2, 3, 1000]);
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3, 1000], dead: [0] });
});

test('a replica dying after the promotion becomes FAULTY: the failover rolls forward, writes routed to the new primary', async () => {
  // Server 1 (preferred) falls behind; server 2 holds everything and is its catch-up source.
  setPenalties([0, 0, 5]);
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
  await stack.cluster.sql(1, 'STOP SLAVE IO_THREAD');
  await writeRows(stack, [10]);
  await stack.cluster.sql(0, 'UPDATE app.locks SET v = v + 1 WHERE k = 1');
  // A row lock on server 1 holds its catch-up until server 2 is gone.
  const lock = await rootConnection(stack.cluster.servers[1].port);
  lock.on('error', () => undefined);
  await lock.query('START TRANSACTION');
  await lock.query('SELECT * FROM app.locks WHERE k = 1 FOR UPDATE');
  const target = (await getServerState({ address: address(2), access: stack.cluster.access })).executed;
  killPrimary();

  const started = await requestOperation(stack.temporal.client, stack.name, { kind: 'failover' });
  const outcome = followOperation(stack.temporal.client, started.workflowId, () => undefined).then((r) => r, (e: Error) => e);
  for (;;) {
    const s1 = await getServerState({ address: address(1), access: stack.cluster.access });
    if (s1.replication?.sourcePort === stack.cluster.servers[2].port && gtidContains('mariadb', s1.replication.received, target)) break;
    await sleep(20);
  }
  process.kill(stack.cluster.servers[2].pid, 'SIGKILL');
  await lock.query('ROLLBACK');
  await lock.end();

  const result = await outcome;
  assert.ok(!(result instanceof Error), String(result));
  assert.equal(result.primary, address(1));
  const memo = await conductorMemo(stack);
  assert.deepEqual(memo.servers.map((s) => s.status), ['FAULTY', 'PRIMARY', 'FAULTY']);
  await writeRows(stack, [11]);
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3, 10, 11], dead: [0, 2] });
});

test('a FAULTY replica still streaming from the primary acknowledged rows: owed, the failover refuses rather than lose them', async () => {
  // Recorded FAULTY by an operator's update-only change, server 2 still replicates and acknowledges.
  const change = await requestServerChange(stack.temporal.client, stack.name, { address: address(2), status: 'FAULTY', updateOnly: true });
  await followOperation(stack.temporal.client, change.workflowId, () => undefined);
  await stack.cluster.sql(1, 'STOP SLAVE IO_THREAD');
  await writeRows(stack, [500, 501]);
  killPrimary();
  const refusal = await failover().then((r) => `completed: ${r.primary}`, (e: Error) => e.message);
  assert.match(refusal, new RegExp(`failover refused: \\S+ was received by ${address(2).replace(/\./g, '\\.')} \\(FAULTY\\) but is applied nowhere a new primary can get it from`));
  assert.deepEqual(await rowsOn(2), [1, 2, 3, 500, 501], 'the acknowledged rows are still there to be saved');
});
