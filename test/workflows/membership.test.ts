import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { provision } from '../../activities/provision';
import { changeSource } from '../../activities/replication';
import { readRoutes } from '../../activities/router/haproxy';
import { getServerState } from '../../activities/server-state';
import { followOperation, requestAddServer, requestRemoveServer } from '../../client/operations';
import type { AddServerRequest, RemoveServerRequest } from '../../workflows/api';
import { assertHealthy, conductorMemo, resetStack, startTestStack, TestStack, writeRows } from '../harness/stack';

/** Adding and removing servers through the conductor, on real servers behind a real HAProxy. */
let stack: TestStack;

before(async () => {
  stack = await startTestStack(3);
  stack.spec.policies = { failover: 'off', healthIntervalSeconds: 3600 };
  await stack.temporal.runWorker();
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
});

const follow = async (started: Promise<{ workflowId: string }>) => followOperation(stack.temporal.client, (await started).workflowId, () => undefined);
const add = (request: AddServerRequest) => follow(requestAddServer(stack.temporal.client, stack.name, request));
const remove = (request: RemoveServerRequest) => follow(requestRemoveServer(stack.temporal.client, stack.name, request));

test('server add --provision dump: a new empty server gets the data, replicates, serves reads; remove takes it out', async () => {
  const index = await stack.cluster.addServer();
  const address = stack.cluster.addresses[index];
  const added = await add({ address, provision: 'dump', status: 'SECONDARY', penalty: 0 });
  assert.equal(added.summary, `${address} added as SECONDARY`);
  assert.ok((await readRoutes({ router: stack.router.router })).readers.includes(address));
  await writeRows(stack, [4]);
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3, 4] });
  assert.deepEqual((await conductorMemo(stack)).servers.map((s) => s.address), stack.cluster.addresses);

  await remove({ address });
  const routes = await readRoutes({ router: stack.router.router });
  assert.ok(!routes.readers.includes(address) && !routes.writer.includes(address));
  const state = await getServerState({ address, access: stack.cluster.access });
  assert.equal(state.replication?.ioRunning, false);
  assert.equal(state.replication?.sqlRunning, false);
  const memo = await conductorMemo(stack);
  assert.equal(memo.viewId, 3);
  assert.ok(!memo.servers.some((s) => s.address === address));
});

test('server add --provision none for a server already replicating; the primary cannot be removed; bad input changes nothing', async () => {
  const index = await stack.cluster.addServer();
  const address = stack.cluster.addresses[index];
  // The operator's own tools made it a replica already: a copy of a replica, then replication from the primary.
  await provision({ address, access: stack.cluster.access, source: stack.cluster.addresses[1], method: 'dump' });
  await changeSource({ address, access: stack.cluster.access, source: stack.cluster.addresses[0] });
  await add({ address, provision: 'none', status: 'SPARE', penalty: 5 });
  const memo = await conductorMemo(stack);
  assert.deepEqual(memo.servers.find((s) => s.address === address), { address, status: 'SPARE', penalty: 5, capability: 'read-write' });
  await assert.rejects(remove({ address: stack.cluster.addresses[0] }), /remove refused: .* is the primary: promote another server first/);
  await assert.rejects(add({ address, provision: 'none', status: 'SECONDARY', penalty: 0 }), /add refused: .* is already a server/);
  await assert.rejects(add({ address: '127.0.0.1:2', provision: 'none', status: 'PRIMARY' as AddServerRequest['status'], penalty: 0 }), /add refused: a new server is SECONDARY or SPARE/);
  await assert.rejects(add({ address: '127.0.0.1:2', provision: 'none', status: 'SECONDARY', penalty: 0 }), /failed: 127\.0\.0\.1:2: connect ECONNREFUSED/);
  assert.equal((await conductorMemo(stack)).viewId, memo.viewId);
});

test('server add/remove --update-only record the change and touch no server', async () => {
  const index = await stack.cluster.addServer();
  const address = stack.cluster.addresses[index];
  const before = await getServerState({ address, access: stack.cluster.access });
  await add({ address, provision: 'dump', status: 'SECONDARY', penalty: 0, updateOnly: true });
  assert.ok((await conductorMemo(stack)).servers.some((s) => s.address === address));
  const after = await getServerState({ address, access: stack.cluster.access });
  assert.deepEqual({ ...after, semiSync: undefined }, { ...before, semiSync: undefined });
  await remove({ address, updateOnly: true });
  assert.ok(!(await conductorMemo(stack)).servers.some((s) => s.address === address));
});
