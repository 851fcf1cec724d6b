import assert from 'node:assert/strict';
import { before, beforeEach, test } from 'node:test';
import { readRoutes } from '../../activities/router/haproxy';
import { getServerState } from '../../activities/server-state';
import { sleep } from '../../client/local/ports';
import { clusterStatus } from '../../client/status';
import { conductorMemo, resetStack, startTestStack, TestStack } from '../harness/stack';
import { healthScheduleId } from '../../workflows/api';

/** Health rounds, started through the cluster's real Temporal Schedule, repair what is safe and report the rest. */
let stack: TestStack;

before(async () => {
  stack = await startTestStack(3);
  stack.spec.policies = { failover: 'off' };
  await stack.temporal.runWorker();
});

beforeEach(async () => {
  await resetStack(stack);
});

/** Triggers the schedule now and waits for the conductor to record the round. */
async function healthRound() {
  const before = (await conductorMemo(stack)).health?.at;
  await stack.temporal.client.schedule.getHandle(healthScheduleId(stack.name)).trigger();
  for (let i = 0; i < 100; i++) {
    const memo = await conductorMemo(stack);
    if (memo.health && memo.health.at !== before) return memo;
    await sleep(100);
  }
  throw new Error('no health round was recorded');
}

const problems = (memo: Awaited<ReturnType<typeof healthRound>>) => memo.health!.findings.map((f) => `${f.server} ${f.text}${f.repair ? ` [${f.repair}]` : ''}`);
/** Each finding as `server code`: what a script decides on. */
const codes = (memo: Awaited<ReturnType<typeof healthRound>>) => memo.health!.findings.map((f) => `${f.server} ${f.code}`);

test('a stopped replica, a writable replica, semi-sync on a replica and a missing published view are repaired', async () => {
  const [primary, r1, r2] = stack.cluster.addresses;
  await stack.cluster.sql(1, 'STOP SLAVE; SET GLOBAL read_only = 0');
  await stack.cluster.sql(2, 'SET GLOBAL rpl_semi_sync_master_enabled = 1');
  // Registration published view 1: take it away to see it republished.
  await stack.cluster.sql(0, 'DELETE FROM gtidflow.view');
  const memo = await healthRound();
  const found = problems(memo);
  for (const code of [`${primary} view-not-published`, `${r1} replica-writable`, `${r1} replication-stopped`, `${r2} replica-semi-sync-primary-side`]) assert.ok(codes(memo).includes(code), codes(memo).join('\n'));
  assert.ok(found.includes(`${r1} a replica is writable [set-read-only]`), found.join('\n'));
  assert.ok(found.includes(`${r1} replication stopped (IO error 0) [start-replication]`), found.join('\n'));
  assert.ok(found.includes(`${r2} the primary side of semi-sync is on on a replica [semi-sync-replica-side]`), found.join('\n'));
  assert.ok(found.some((f) => f.startsWith(`${primary} published view none differs from recorded view 1`)), found.join('\n'));
  const s1 = await getServerState({ address: r1, access: stack.cluster.access });
  assert.equal(s1.readOnly, true);
  assert.equal(s1.replication?.sqlRunning, true);
  assert.equal((await getServerState({ address: r2, access: stack.cluster.access })).semiSync.primaryEnabled, false);
  assert.deepEqual(await stack.cluster.sql(0, `SELECT view_id FROM gtidflow.view WHERE cluster = '${stack.name}'`), [{ view_id: 1 }]);
  // Repaired: the next round finds nothing but what it cannot know about.
  assert.deepEqual(problems(await healthRound()), []);
});

/**
 * How many executions of a workflow type started since `since` (an ISO
 * time): counting all of them raced the last test's round, which
 * visibility may list only a moment after it started.
 */
async function executionsSince(type: string, since: string): Promise<number> {
  let n = 0;
  for await (const _ of stack.temporal.client.workflow.list({ query: `WorkflowType = '${type}' AND StartTime >= '${since}'` })) n++;
  return n;
}

test('a healthy round is one execution, the schedule\'s healthTick, and no operation of the conductor; one that finds something to repair runs one health operation', async () => {
  const last = (await conductorMemo(stack)).lastOperation;
  const healthy = new Date().toISOString();
  assert.deepEqual(problems(await healthRound()), []);
  await sleep(1_000);
  assert.equal(await executionsSince('health', healthy), 0, 'a healthy round started no health operation');
  // At least: the Schedule's own interval may also fire meanwhile, a healthy round of one execution too.
  assert.ok(await executionsSince('healthTick', healthy) >= 1, 'the round ran as the schedule\'s healthTick');
  await stack.cluster.sql(1, 'STOP SLAVE');
  const repairing = new Date().toISOString();
  const repaired = await healthRound();
  assert.ok(codes(repaired).includes(`${stack.cluster.addresses[1]} replication-stopped`), codes(repaired).join('\n'));
  await sleep(1_000);
  assert.equal(await executionsSince('health', repairing), 1, 'the repair ran as one health operation');
  assert.deepEqual((await conductorMemo(stack)).lastOperation, last, 'health operations are no operator\'s last operation');
});

test('errant transactions on a replica are reported, not repaired', async () => {
  const r2 = stack.cluster.addresses[2];
  await stack.cluster.sql(2, 'CREATE DATABASE IF NOT EXISTS local_only');
  const memo = await healthRound();
  const found = problems(memo);
  assert.ok(found.some((f) => f.startsWith(`${r2} errant transactions 0-3-`) && !f.includes('[')), found.join('\n'));
  assert.ok(codes(memo).includes(`${r2} errant-transactions`), codes(memo).join('\n'));
});

test('an unreachable replica is marked FAULTY, in a new view, and leaves the reader backend', async () => {
  const r2 = stack.cluster.addresses[2];
  process.kill(stack.cluster.servers[2].pid, 'SIGKILL');
  const memo = await healthRound();
  assert.ok(problems(memo).includes(`${r2} does not answer [mark-faulty]`));
  assert.ok(codes(memo).includes(`${r2} replica-unreachable`), codes(memo).join('\n'));
  assert.equal(memo.viewId, 2);
  assert.equal(memo.servers.find((s) => s.address === r2)?.status, 'FAULTY');
  assert.ok(!(await readRoutes({ router: stack.router.router })).readers.includes(r2));
});

test('semi-sync: never turned on where no replica is attached (it would block writes), turned on once one is; status says when writes are asynchronous', async () => {
  const primary = stack.cluster.addresses[0];
  await stack.cluster.sql(1, 'STOP SLAVE');
  await stack.cluster.sql(2, 'STOP SLAVE');
  await stack.cluster.sql(0, 'SET GLOBAL rpl_semi_sync_master_enabled = 0');
  const memo = await healthRound();
  const found = problems(memo);
  assert.ok(codes(memo).includes(`${primary} primary-async`), codes(memo).join('\n'));
  assert.ok(found.includes(`${primary} the primary runs asynchronously: acknowledged writes may be lost in a failover (semi-sync off) [semi-sync-primary-side]`), found.join('\n'));
  assert.equal((await getServerState({ address: primary, access: stack.cluster.access })).semiSync.primaryEnabled, false, 'no replica was attached');
  const status = await clusterStatus(stack.temporal.client, stack.name);
  assert.ok(status.warnings.some((w) => w.code === 'primary-async' && w.text.startsWith('the primary runs asynchronously: acknowledged writes may be lost')), JSON.stringify(status.warnings));
  // What `gtidflow status --json` prints: each finding's code beside its server and text.
  assert.ok(status.health?.findings.some((f) => f.code === 'primary-async' && f.server === primary && f.text.includes('(semi-sync off)')), JSON.stringify(status.health));
  // The same round restarted the replicas: the next one turns semi-sync on, with the policy's wait point.
  await healthRound();
  const semiSync = (await getServerState({ address: primary, access: stack.cluster.access })).semiSync;
  assert.deepEqual([semiSync.primaryEnabled, semiSync.waitPoint, semiSync.timeoutMs], [true, 'AFTER_SYNC', 10000]);
});
