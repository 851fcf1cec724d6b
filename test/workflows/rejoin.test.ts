import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { sleep } from '../../client/local/ports';
import { readRoutes } from '../../activities/router/haproxy';
import { getServerState } from '../../activities/server-state';
import { followOperation, requestOperation, requestRejoin, requestServerChange } from '../../client/operations';
import { sourceAddress } from '../../workflows/logic/address';
import { assertHealthy, conductorMemo, resetStack, TestStack, writeRows } from '../harness/stack';
import { healthScheduleId } from '../../workflows/api';
import { quietStack } from '../harness/quiet-stack';

/** A returning old primary: back as SECONDARY with every row, or refused when it diverged (then re-provisioned). */
const quiet = quietStack();
let stack: TestStack;

beforeEach(async () => {
  stack = quiet();
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
});

const follow = async (started: Promise<{ workflowId: string }>) => followOperation(stack.temporal.client, (await started).workflowId, () => undefined);
const failover = () => follow(requestOperation(stack.temporal.client, stack.name, { kind: 'failover' }));
const rejoin = (reprovision = false) => follow(requestRejoin(stack.temporal.client, stack.name, { address: stack.cluster.addresses[0], reprovision }));

test('kill -9, failover, restart the old primary: rejoin brings it back as SECONDARY with every row', async () => {
  process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
  await failover();
  await writeRows(stack, [4]);
  await stack.cluster.start(0);
  const result = await rejoin();
  assert.match(result.summary, /rejoined as SECONDARY/);
  assert.equal((await conductorMemo(stack)).servers[0].status, 'SECONDARY');
  await writeRows(stack, [5]);
  await assertHealthy(stack, { viewId: 3, rows: [1, 2, 3, 4, 5] });
});

test('an old primary that took a write while isolated is refused with the transaction named; --reprovision brings it back', async () => {
  const old = stack.cluster.servers[0];
  process.kill(old.pid, 'SIGSTOP');
  try {
    await failover();
    await writeRows(stack, [4]);
  } finally {
    process.kill(old.pid, 'SIGCONT');
  }
  // The thawed old primary takes a write nobody else has (as root: read_only does not stop it).
  await stack.cluster.sql(0, 'INSERT INTO app.rows VALUES (1000)');
  const [{ gtid }] = await stack.cluster.sql(0, 'SELECT @@global.gtid_binlog_pos AS gtid');
  await assert.rejects(rejoin(), new RegExp(`rejoin refused, ${stack.cluster.addresses[0]} stays FAULTY: .*${gtid}`));
  assert.equal((await conductorMemo(stack)).servers[0].status, 'FAULTY');

  await rejoin(true);
  assert.equal((await conductorMemo(stack)).servers[0].status, 'SECONDARY');
  await writeRows(stack, [5]);
  await assertHealthy(stack, { viewId: 3, rows: [1, 2, 3, 4, 5] });
});

test('with the rejoin policy auto, a health round that finds the old primary answering brings it back by itself', async () => {
  stack.spec.policies = { failover: 'off', healthIntervalSeconds: 3600, rejoin: 'auto' };
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
  process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
  await failover();
  await stack.cluster.start(0);
  await stack.temporal.client.schedule.getHandle(healthScheduleId(stack.name)).trigger();
  for (let i = 0; i < 100 && (await conductorMemo(stack)).servers[0].status !== 'SECONDARY'; i++) await sleep(200);
  assert.equal((await conductorMemo(stack)).servers[0].status, 'SECONDARY');
  await assertHealthy(stack, { viewId: 3, rows: [1, 2, 3] });
  stack.spec.policies = { failover: 'off', healthIntervalSeconds: 3600 };
});

test('rejoin of a server that is not FAULTY is refused, nothing changes', async () => {
  await assert.rejects(requestRejoin(stack.temporal.client, stack.name, { address: stack.cluster.addresses[1] }), /rejoin refused: .* is SECONDARY, not FAULTY/);
  assert.equal((await conductorMemo(stack)).viewId, 1);
});

const setStatus = (address: string, status: 'SPARE' | 'FAULTY', updateOnly = false) =>
  follow(requestServerChange(stack.temporal.client, stack.name, { address, status, updateOnly }));
const readers = async () => (await readRoutes({ router: stack.router.router })).readers;

test('set-status SPARE of a FAULTY server that diverged is refused with the transactions named; it stays FAULTY, unrouted', async () => {
  const replica = stack.cluster.addresses[2];
  await setStatus(replica, 'FAULTY');
  // Out of the cluster, it takes a write of its own (as root, its replication stopped): a GTID of its server id the primary lacks.
  await stack.cluster.sql(2, 'STOP SLAVE; SET SESSION sql_log_bin = 1; INSERT INTO app.rows VALUES (1000)');
  const [{ gtid }] = await stack.cluster.sql(2, 'SELECT @@global.gtid_binlog_pos AS gtid');
  const refusal = await setStatus(replica, 'SPARE').then(() => 'accepted', (e: Error) => e.message);
  assert.match(refusal, new RegExp(`/rejoin/\\d+ failed: rejoin refused, ${replica} stays FAULTY: .*${gtid}`));
  assert.equal(refusal.split('\n').length, 1);
  const memo = await conductorMemo(stack);
  assert.equal(memo.servers[2].status, 'FAULTY');
  assert.equal(memo.viewId, 2);
  assert.ok(!(await readers()).includes(replica), 'the diverged server is not in the reader backend');

  // --update-only records what the operator says, and touches neither the server nor the routes.
  await setStatus(replica, 'SPARE', true);
  assert.equal((await conductorMemo(stack)).servers[2].status, 'SPARE');
  assert.ok(!(await readers()).includes(replica));
  assert.equal((await getServerState({ address: replica, access: stack.cluster.access })).replication?.sqlRunning, false);
});

test('set-status SPARE of a FAULTY server that did not diverge runs the rejoin checks: read-only, replicating, caught up, routed', async () => {
  const [primary, , replica] = stack.cluster.addresses;
  await setStatus(replica, 'FAULTY');
  // While it was FAULTY its replication was stopped and it was left writable, without a write of its own.
  await stack.cluster.sql(2, 'STOP SLAVE; SET GLOBAL read_only = 0');
  await writeRows(stack, [4]);
  const started = await requestServerChange(stack.temporal.client, stack.name, { address: replica, status: 'SPARE' });
  assert.match(started.workflowId, /\/rejoin\//);
  const result = await followOperation(stack.temporal.client, started.workflowId, () => undefined);
  assert.equal(result.summary, `${replica} rejoined as SPARE`);
  const memo = await conductorMemo(stack);
  assert.equal(memo.servers[2].status, 'SPARE');
  assert.equal(memo.viewId, 3);
  assert.ok((await readers()).includes(replica), 'the SPARE serves reads');
  const state = await getServerState({ address: replica, access: stack.cluster.access });
  assert.equal(state.readOnly, true);
  assert.equal(state.replication && sourceAddress(state.replication), primary);
  await assertHealthy(stack, { viewId: 3, rows: [1, 2, 3, 4] });
});
