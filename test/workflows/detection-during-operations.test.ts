import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { before, test } from 'node:test';
import { readRoutes } from '../../activities/router/haproxy';
import { sleep } from '../../client/local/ports';
import { followOperation, requestAddServer, requestOperation } from '../../client/operations';
import { rootConnection } from '../../client/local/mariadb';
import { atEnd } from '../harness/cleanup';
import { assertHealthy, conductorMemo, resetStack, startTestStack, TestStack, writeRows, writerSession } from '../harness/stack';

/** Safety rule 8: detection never sleeps; a failover preempts whatever else the cluster is doing. */
let stack: TestStack;
let worker: ChildProcess;

before(async () => {
  stack = await startTestStack(3);
  stack.spec.policies = { failover: 'auto', healthIntervalSeconds: 3600, probeIntervalMs: 1000, probeFailures: 3 };
  // A worker process, killed at the end: the cancelled provisioning script may still be sleeping in it.
  worker = stack.temporal.workerProcess();
  atEnd(async () => {
    worker.kill('SIGKILL');
  });
});

async function until<T>(what: string, deadline: number, check: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

test('kill -9 of the primary while a switchover waits for its candidate: a failover preempts it within seconds', async () => {
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
  const candidate = 1;
  // A row lock held on the candidate stalls its applier, so the switchover waits on it, the old primary fenced.
  const lock = await rootConnection(stack.cluster.servers[candidate].port);
  lock.on('error', () => undefined);
  await lock.query('START TRANSACTION');
  await lock.query('SELECT * FROM app.locks WHERE k = 1 FOR UPDATE');
  await stack.cluster.sql(0, 'UPDATE app.locks SET v = v + 1 WHERE k = 1');
  const started = await requestOperation(stack.temporal.client, stack.name, { kind: 'switchover', candidate: stack.cluster.addresses[candidate] });
  const steps: string[] = [];
  const switchover = followOperation(stack.temporal.client, started.workflowId, (step) => steps.push(step)).then(() => 'completed', (e: Error) => e.message);
  await until('the switchover to wait for its candidate', Date.now() + 20_000, async () => (steps.some((st) => st.startsWith('waiting for')) ? true : undefined));

  process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
  const killedAt = Date.now();
  // Before, the watch slept through the switchover: nothing happened until its catch-up timed out.
  await until('a failover to start', killedAt + 12_000, async () => ((await conductorMemo(stack)).operation?.kind === 'failover' ? true : undefined));
  await lock.query('ROLLBACK');
  await lock.end();
  assert.match(await switchover, /cancel/i);
  const memo = await until('the failover to end', Date.now() + 60_000, async () => {
    const m = await conductorMemo(stack);
    return m.operation === null && m.viewId === 2 ? m : undefined;
  });
  assert.match(memo.lastOperation?.message ?? '', /failover from/);
  await writeRows(stack, [4]);
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3, 4], dead: [0] });
});

/** A provisioning script this file alone runs, so its process can be looked for. */
const SCRIPT = 'sleep 60.25';
const scriptRunning = () => spawnSync('pgrep', ['-f', SCRIPT]).status === 0;

test('kill -9 of the primary while a server add provisions for a minute: failover within seconds, the add cancelled', async (t) => {
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
  const index = await stack.cluster.addServer();
  const address = stack.cluster.addresses[index];
  const started = await requestAddServer(stack.temporal.client, stack.name, { address, provision: `script:${SCRIPT}`, status: 'SECONDARY', penalty: 0 });
  const add = stack.temporal.client.workflow.getHandle(started.workflowId);
  // The provisioning script runs: its activity is pending on the add workflow.
  await until('the provisioning to start', Date.now() + 30_000, async () => {
    const pending = (await add.describe()).raw.pendingActivities ?? [];
    return pending.some((a) => a.activityType?.name === 'provision') ? true : undefined;
  });
  await sleep(1_000);

  const old = stack.cluster.addresses[0];
  process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
  const killedAt = Date.now();
  const memo = await until('a failover', killedAt + 15_000, async () => {
    const m = await conductorMemo(stack);
    return m.viewId === 2 && m.operation === null && m.primary !== old ? m : undefined;
  });
  const failedOverAt = Date.now();
  await until('a write through the writer endpoint', killedAt + 15_000, async () => {
    const conn = await writerSession(stack);
    try {
      await conn.query('INSERT INTO app.rows VALUES (4)');
      return true;
    } finally {
      await conn.end();
    }
  });
  const seconds = (Date.now() - killedAt) / 1000;
  t.diagnostic(`new primary recorded ${(failedOverAt - killedAt) / 1000} s, first write accepted ${seconds} s after the kill`);
  assert.ok(seconds <= 15, `a write accepted ${seconds} s after the kill`);
  assert.match(memo.lastOperation!.message, /failover from/);
  assert.equal(memo.servers.find((s) => s.address === old)?.status, 'FAULTY');

  // The add was cancelled, and the new server is no member: not recorded, not routed.
  const added = await followOperation(stack.temporal.client, started.workflowId, () => undefined).then(() => 'completed', (e: Error) => e.message);
  assert.match(added, /cancel/i);
  assert.equal((await add.describe()).status.name, 'CANCELLED');
  assert.deepEqual(memo.servers.map((s) => s.address), stack.cluster.addresses.slice(0, 3));
  const routes = await readRoutes({ router: stack.router.router });
  assert.ok(!routes.readers.includes(address) && !routes.writer.includes(address), 'the new server is not routed');
  // The copy itself stopped with its operation, rather than writing on into the new server.
  await until('the provisioning script to stop', Date.now() + 45_000, async () => (scriptRunning() ? undefined : true));
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3, 4], dead: [0, index] });
});
