import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { readRoutes } from '../../activities/router/haproxy';
import { getServerState } from '../../activities/server-state';
import { followOperation, requestOperation, requestServerChange } from '../../client/operations';
import type { ServerChange } from '../../workflows/logic/server-changes';
import { STATUSES, type ServerStatus } from '../../workflows/logic/status';
import { conductorMemo, resetStack, TestStack, writerSession } from '../harness/stack';
import { quietStack } from '../harness/quiet-stack';

/** Day-to-day changes of recorded servers: the status matrix, penalties, capabilities, update-only. */
const quiet = quietStack();
let stack: TestStack;

beforeEach(async () => {
  stack = quiet();
  await resetStack(stack);
});

const change = async (c: ServerChange & { updateOnly?: boolean }) => {
  const started = await requestServerChange(stack.temporal.client, stack.name, c);
  return followOperation(stack.temporal.client, started.workflowId, () => undefined);
};

/** Legal set-status steps that bring a replica from SECONDARY to each status. */
const PATH: Record<Exclude<ServerStatus, 'PRIMARY'>, ServerStatus[]> = { SECONDARY: [], SPARE: ['SPARE'], FAULTY: ['FAULTY'] };

test('set-status walks the matrix: every illegal transition is refused with a one-line reason and no change', async () => {
  const [primary, replica] = stack.cluster.addresses;
  const legal = new Set(['SECONDARY>SPARE', 'SECONDARY>FAULTY', 'SPARE>SECONDARY', 'SPARE>FAULTY', 'FAULTY>SPARE']);
  for (const from of STATUSES) {
    const address = from === 'PRIMARY' ? primary : replica;
    if (from !== 'PRIMARY') {
      await resetStack(stack);
      for (const status of PATH[from]) await change({ address, status });
    }
    for (const to of STATUSES) {
      if (to === from) continue;
      const before = await conductorMemo(stack);
      if (legal.has(`${from}>${to}`)) continue;
      const refusal = await requestServerChange(stack.temporal.client, stack.name, { address, status: to }).then(() => 'accepted', (e: Error) => e.message);
      assert.match(refusal, new RegExp(`^change refused: ${address}: cannot change ${from} to ${to}`), `${from} → ${to}`);
      assert.equal(refusal.split('\n').length, 1);
      const after = await conductorMemo(stack);
      assert.deepEqual(after.servers, before.servers, `${from} → ${to} changed nothing`);
      assert.equal(after.viewId, before.viewId);
    }
  }
  await assert.rejects(requestServerChange(stack.temporal.client, stack.name, { address: '127.0.0.1:1', status: 'SPARE' }), /change refused: 127\.0\.0\.1:1 is not a server of this cluster/);
});

test('a server set FAULTY leaves the reader backend; SPARE and back to SECONDARY rejoin it; each change is a view', async () => {
  const replica = stack.cluster.addresses[2];
  await change({ address: replica, status: 'FAULTY' });
  assert.ok(!(await readRoutes({ router: stack.router.router })).readers.includes(replica));
  await change({ address: replica, status: 'SPARE' });
  await change({ address: replica, status: 'SECONDARY' });
  assert.ok((await readRoutes({ router: stack.router.router })).readers.includes(replica));
  const memo = await conductorMemo(stack);
  assert.equal(memo.viewId, 4);
  assert.deepEqual(await stack.cluster.sql(1, `SELECT status FROM gtidflow.servers WHERE cluster = '${stack.name}' AND address = '${replica}'`), [{ status: 'SECONDARY' }]);
});

test('penalties and capabilities are recorded and published; a disabled server leaves the reader backend', async () => {
  const replica = stack.cluster.addresses[1];
  await change({ address: replica, penalty: 7 });
  await change({ address: replica, capability: 'read-only', database: 'app' });
  await change({ address: replica, capability: 'disabled' });
  assert.ok(!(await readRoutes({ router: stack.router.router })).readers.includes(replica));
  const memo = await conductorMemo(stack);
  assert.deepEqual(memo.servers.find((s) => s.address === replica), { address: replica, status: 'SECONDARY', penalty: 7, capability: 'disabled' });
  assert.deepEqual(await stack.cluster.sql(0, `SELECT penalty, capability FROM gtidflow.servers WHERE cluster = '${stack.name}' AND address = '${replica}'`), [{ penalty: 7, capability: 'disabled' }]);
  assert.deepEqual(await stack.cluster.sql(0, `SELECT capability FROM gtidflow.database_capabilities WHERE cluster = '${stack.name}' AND database_name = 'app'`), [{ capability: 'read-only' }]);
  await assert.rejects(change({ address: replica, penalty: -1 }), /write penalty must be a whole number/);
  await assert.rejects(change({ address: replica, capability: 'sometimes' as never }), /capability must be one of/);
});

test('--update-only changes the recorded state and the published topology, and leaves servers and routing as they were', async () => {
  const replica = stack.cluster.addresses[2];
  const facts = () => Promise.all(stack.cluster.addresses.map(async (address) => {
    const s = await getServerState({ address, access: stack.cluster.access });
    return { address, readOnly: s.readOnly, source: s.replication?.sourcePort ?? null, io: s.replication?.ioRunning ?? null, semiSync: s.semiSync.primaryEnabled };
  }));
  const before = await facts();
  const routesBefore = await readRoutes({ router: stack.router.router });
  await change({ address: replica, status: 'FAULTY', updateOnly: true });
  assert.equal((await conductorMemo(stack)).servers.find((s) => s.address === replica)?.status, 'FAULTY');
  assert.deepEqual(await stack.cluster.sql(0, `SELECT status FROM gtidflow.servers WHERE cluster = '${stack.name}' AND address = '${replica}'`), [{ status: 'FAULTY' }]);
  assert.deepEqual(await facts(), before);
  assert.deepEqual(await readRoutes({ router: stack.router.router }), routesBefore);
});

test('changes back to back: a change that returned has ended, so the next one is never refused as busy', async () => {
  const replica = stack.cluster.addresses[1];
  for (let penalty = 1; penalty <= 10; penalty++) await change({ address: replica, penalty });
  const memo = await conductorMemo(stack);
  assert.equal(memo.servers.find((s) => s.address === replica)?.penalty, 10);
});

/** What an application write through the writer endpoint got: 'ok' or the server's message. */
async function appWrite(id: number): Promise<string> {
  const conn = await writerSession(stack);
  try {
    return await conn.query('INSERT INTO app.rows VALUES (?)', [id]).then(() => 'ok', (err: Error) => err.message);
  } finally {
    await conn.end();
  }
}

/** Drops any freeze trigger left on any server, outside the binlogs (resetStack's deletes run as root, which a freeze refuses). */
async function dropFreezes(): Promise<void> {
  for (const i of stack.cluster.servers.keys()) {
    const left = await stack.cluster.sql(i, "SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'app' AND TRIGGER_NAME LIKE 'gtidflow\\_freeze\\_%'");
    for (const { n } of left) await stack.cluster.sql(i, `SET SESSION sql_log_bin = 0; DROP TRIGGER IF EXISTS app.\`${String(n)}\``);
  }
}

test('capability set --database app read-only on the primary refuses application writes to app with one line, open sessions too; a switchover keeps it; read-write lifts it; update-only only records', async () => {
  const [primary, replica, other] = stack.cluster.addresses;
  const frozen = /^gtidflow: app is read-only \(capability read-only\)$/;
  try {
    await change({ address: other, capability: 'disabled', database: 'app' });
    assert.equal(await appWrite(1), 'ok', 'a per-database capability of a replica is only published');
    const open = await writerSession(stack);
    try {
      await change({ address: primary, capability: 'read-only', database: 'app' });
      const refusal = await open.query('INSERT INTO app.rows VALUES (2)').then(() => 'ok', (err: Error) => err.message);
      assert.match(refusal, frozen, 'a session opened before the change is refused');
      const [rows] = await open.query('SELECT COUNT(*) AS n FROM app.rows');
      assert.equal(Number((rows as { n: number }[])[0].n), 1, 'reads still work');
    } finally {
      await open.end();
    }
    assert.match(await appWrite(3), frozen);
    assert.deepEqual(await stack.cluster.sql(0, `SELECT address, capability FROM gtidflow.database_capabilities WHERE cluster = '${stack.name}' AND database_name = 'app' ORDER BY address = '${primary}' DESC`),
      [{ address: primary, capability: 'read-only' }, { address: other, capability: 'disabled' }]);

    // The freeze is in the data: on the new primary it refuses the same way.
    const started = await requestOperation(stack.temporal.client, stack.name, { kind: 'switchover', candidate: replica });
    await followOperation(stack.temporal.client, started.workflowId, () => undefined);
    assert.equal((await conductorMemo(stack)).primary, replica);
    assert.match(await appWrite(4), frozen);

    await change({ address: replica, capability: 'read-write', database: 'app' });
    assert.equal(await appWrite(5), 'ok', 'read-write on the primary lifts the freeze');
    assert.deepEqual(await stack.cluster.sql(1, "SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'app'"), [{ n: 0 }]);

    await change({ address: replica, capability: 'read-only', database: 'app', updateOnly: true });
    assert.equal(await appWrite(6), 'ok', '--update-only records the capability and leaves the servers as they were');
    assert.deepEqual(await stack.cluster.sql(1, `SELECT capability FROM gtidflow.database_capabilities WHERE cluster = '${stack.name}' AND database_name = 'app' AND address = '${replica}'`), [{ capability: 'read-only' }]);
  } finally {
    await dropFreezes();
  }
});
