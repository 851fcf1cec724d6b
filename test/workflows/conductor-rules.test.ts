import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { initialState } from '../../client/cluster-apply';
import { temporalCliPath } from '../../client/local/temporal';
import { sleep } from '../../client/local/ports';
import { readMemo } from '../../client/memo';
import type { ClusterSpec } from '../../client/spec';
import { acknowledge, addServer, changeServer, clusterWorkflowId, healthRound, holdCluster, releaseCluster, removeServer, requestOperation, stateQuery } from '../../workflows/api';
import type { cluster } from '../../workflows/cluster';
import type { ClusterState, OperationKind } from '../../workflows/model';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../workflows/search-attributes';
import { MemoryCluster, memoryActivities } from '../harness/memory-cluster';

/**
 * The conductor's own rules (refusal, one operation at a time, a failover
 * preempting, rollback, the block period), driven through its messages
 * against an in-memory cluster: what the operations do to real servers is
 * tested on real servers, elsewhere.
 */

// Dead servers and the faults a test sets fail activities: the worker's warnings about them are expected.
Runtime.install({ logger: new DefaultLogger('ERROR') });

const TASK_QUEUE = 'conductor-rules';
const CANCELLED = 'cancelled (a failover took precedence)';

let env: TestWorkflowEnvironment;
let worker: Worker;
let polling: Promise<void>;
/** The test's own cluster and conductor (tests run one after another). */
let memory: MemoryCluster;
let conductor: WorkflowHandle<typeof cluster>;

before(async () => {
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      // The dev server the project builds: nothing is downloaded.
      executable: { type: 'existing-path', path: temporalCliPath() },
      // The conductor sets the project's search attributes.
      extraArgs: SEARCH_ATTRIBUTE_FLAGS.flatMap((flag) => ['--search-attribute', flag]),
    },
  });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowsPath: require.resolve('../../workflows'),
    activities: memoryActivities(() => memory),
    // A held activity hears of its cancellation in a heartbeat's answer: soon, not in 30 s.
    defaultHeartbeatThrottleInterval: '100 milliseconds',
    maxHeartbeatThrottleInterval: '100 milliseconds',
  });
  polling = worker.run();
});

after(async () => {
  worker.shutdown();
  await polling;
  await env.teardown();
});

// A conductor left running would go on watching its cluster.
afterEach(() => conductor?.terminate('test over').catch(() => undefined));

/** A conductor of a new three-server cluster on a fresh memory cluster (plus `strangers`, not members), once bootstrapped. */
async function register(name: string, strangers: string[] = []): Promise<string[]> {
  const addresses = [1, 2, 3].map((i) => `${name}-${i}:3306`);
  memory = new MemoryCluster([...addresses, ...strangers]);
  const spec: ClusterSpec = {
    name,
    servers: addresses.map((address, i) => ({ address, status: i === 0 ? 'PRIMARY' : 'SECONDARY', penalty: 0 })),
    credentials: { admin: { user: 'admin', passwordEnv: 'UNUSED' }, replication: { user: 'repl', passwordEnv: 'UNUSED' } },
    router: { haproxy: { adminSocket: `memory:${name}`, writerBackend: 'writer', readerBackend: 'reader' } },
  };
  // The memory primary's transactions originate on server_id 1.
  const initial = initialState(spec, new Date().toISOString(), ['1']);
  conductor = await env.client.workflow.start<typeof cluster>('cluster', { args: [initial], workflowId: clusterWorkflowId(name), taskQueue: TASK_QUEUE });
  const bootstrapped = await until('the bootstrap', (s) => s.lastOperation?.kind === 'bootstrap' && !s.operation);
  assert.equal(bootstrapped.lastOperation?.outcome, 'completed', bootstrapped.lastOperation?.message);
  return addresses;
}

const state = () => conductor.query(stateQuery);

/** The primary dies while `op` runs: a failover preempts it (held at its promotion), and `op` is recorded cancelled. */
async function primaryDiesDuring(primary: string, op: { id: number; kind: OperationKind }) {
  const promotion = memory.hold('promote');
  memory.kill(primary);
  await promotion.reached;
  const preempted = await state();
  assert.equal(preempted.operation?.kind, 'failover');
  assert.deepEqual(preempted.lastOperation, { ...preempted.lastOperation, ...op, outcome: 'failed', message: CANCELLED });
  return { promotion, preempted };
}

async function until(what: string, ready: (s: ClusterState) => boolean, timeoutMs = 20_000): Promise<ClusterState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await state();
    if (ready(s)) return s;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms; ${JSON.stringify({ operation: s.operation, lastOperation: s.lastOperation, warnings: s.warnings })}`);
    await sleep(50);
  }
}

const ended = (id: number) => until(`operation #${id} recorded`, (s) => s.lastOperation?.id === id && !s.operation);

/** What an operation changes when it changes the cluster. */
const recorded = (s: ClusterState) => ({ viewId: s.viewId, primary: s.primary, servers: s.servers, operationCount: s.operationCount });
const statusOf = (s: ClusterState, address: string) => s.servers.find((r) => r.address === address)?.status;

/** The line a conductor refused a message with. */
async function refusal(update: Promise<unknown>): Promise<string> {
  const err = await update.then(() => assert.fail('the conductor accepted it'), (e: unknown) => e);
  assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
  const line = err.cause?.message ?? '';
  assert.doesNotMatch(line, /\n/);
  return line;
}

test('refused on the recorded state, one line each: a switchover to a stranger, an illegal status change, removing the primary', async () => {
  const [primary, replica] = await register('refusal');
  const before = await state();
  assert.equal(await refusal(conductor.executeUpdate(requestOperation, { args: [{ kind: 'switchover', candidate: 'stranger:3306' }] })),
    'stranger:3306 is not a server of this cluster');
  assert.equal(await refusal(conductor.executeUpdate(changeServer, { args: [{ address: replica, status: 'PRIMARY' }] })),
    `${replica}: cannot change SECONDARY to PRIMARY by set-status: only by promote`);
  assert.equal(await refusal(conductor.executeUpdate(removeServer, { args: [{ address: primary }] })),
    `${primary} is the primary: promote another server first`);
  assert.deepEqual(recorded(await state()), recorded(before));
});

test('while a switchover is held, another switchover and a server change are refused as busy and a health round is ignored; released, it completes', async () => {
  const [primary, candidate, other] = await register('queueing');
  const catchUp = memory.hold('waitForGtid', candidate);
  const started = await conductor.executeUpdate(requestOperation, { args: [{ kind: 'switchover', candidate }] });
  await catchUp.reached;

  const busy = `cluster queueing is busy with switchover #${started.id}; try again when it ends`;
  assert.equal(await refusal(conductor.executeUpdate(requestOperation, { args: [{ kind: 'switchover', candidate: other }] })), busy);
  assert.equal(await refusal(conductor.executeUpdate(changeServer, { args: [{ address: other, penalty: 5 }] })), busy);
  await conductor.signal(healthRound);
  const held = await state();
  assert.deepEqual(held.operation, { ...held.operation, id: started.id, kind: 'switchover' });
  assert.equal(held.viewId, 1);

  catchUp.release();
  const done = await ended(started.id);
  assert.equal(done.lastOperation?.outcome, 'completed', done.lastOperation?.message);
  assert.equal(done.viewId, 2);
  assert.equal(done.primary, candidate);
  assert.equal(statusOf(done, primary), 'SECONDARY');
  // The health round signalled before the switchover ended was dropped, not queued behind it.
  assert.equal(done.operationCount, started.id);
  assert.equal(done.health, null);
  assert.deepEqual(memory.router, { writer: candidate, readers: [primary, other].sort() });
  assert.deepEqual(memory.server(primary), { ...memory.server(primary), readOnly: true, source: candidate });
  assert.deepEqual(memory.published, { ...memory.published, viewId: 2, primary: candidate });
});

test('a shard move\'s hold: the memo shows it, a switchover and a health round are refused meanwhile, another holder waits; released (twice is the same), it is gone and a switchover runs', async () => {
  const [primary, candidate] = await register('holding');
  const move = 'shard move shards/move/s1/1';
  assert.deepEqual(await conductor.executeUpdate(holdCluster, { args: [{ holder: move, seconds: 60 }] }), { viewId: 1, primary });
  const memo = (await readMemo(env.client, 'holding'))!;
  assert.equal(memo.hold?.holder, move);
  assert.ok(Date.parse(memo.hold!.until) > Date.now() + 50_000, memo.hold!.until);
  const held = `cluster holding is held by ${move} for a few seconds; try again when it ends`;
  assert.equal(await refusal(conductor.executeUpdate(requestOperation, { args: [{ kind: 'switchover', candidate }] })), held);
  await conductor.signal(healthRound);
  // The same holder may hold again (it extends); another waits for the release.
  await conductor.executeUpdate(holdCluster, { args: [{ holder: move, seconds: 60 }] });
  const other = conductor.executeUpdate(holdCluster, { args: [{ holder: 'shard move shards/move/s2/1', seconds: 5 }] });
  await sleep(300);
  assert.equal(await Promise.race([other.then(() => 'granted'), sleep(200).then(() => 'waiting')]), 'waiting');

  assert.equal(await conductor.executeUpdate(releaseCluster, { args: [{ holder: move }] }), true);
  assert.equal(await conductor.executeUpdate(releaseCluster, { args: [{ holder: move }] }), false);
  await other;
  assert.equal(await conductor.executeUpdate(releaseCluster, { args: [{ holder: 'shard move shards/move/s2/1' }] }), true);
  assert.equal((await readMemo(env.client, 'holding'))!.hold, null);
  const s = await state();
  assert.equal(s.operationCount, 1, 'the health round signalled while held was dropped');
  const started = await conductor.executeUpdate(requestOperation, { args: [{ kind: 'switchover', candidate }] });
  assert.equal((await ended(started.id)).primary, candidate);
});

test('the primary dies while a server is being added: the addition is cancelled and a failover runs', async () => {
  const newcomer = 'preemption-4:3306';
  const [primary, next] = await register('preemption', [newcomer]);
  const catchUp = memory.hold('waitForGtid', newcomer);
  const added = await conductor.executeUpdate(addServer, { args: [{ address: newcomer, provision: 'none', status: 'SECONDARY', penalty: 0 }] });
  await catchUp.reached;

  const { promotion, preempted } = await primaryDiesDuring(primary, { id: added.id, kind: 'addServer' });
  assert.ok(!preempted.servers.some((s) => s.address === newcomer));

  promotion.release();
  const done = await ended(preempted.operation!.id);
  assert.equal(done.lastOperation?.outcome, 'completed', done.lastOperation?.message);
  assert.equal(done.viewId, 2);
  assert.equal(done.primary, next);
  assert.equal(statusOf(done, primary), 'FAULTY');
  assert.ok(done.lastAutomaticFailoverAt);
  assert.equal(memory.router.writer, next);
});

test('a switchover whose catch-up fails rolls back: the old primary stays primary, writable and routed', async () => {
  const [primary, candidate, other] = await register('rollback');
  const before = await state();
  memory.failNext('waitForGtid', candidate);
  const started = await conductor.executeUpdate(requestOperation, { args: [{ kind: 'switchover', candidate }] });

  const done = await ended(started.id);
  assert.equal(done.lastOperation?.outcome, 'failed');
  assert.match(done.lastOperation!.message, new RegExp(`^switchover aborted, ${primary} is primary again: `));
  assert.deepEqual(recorded(done), { ...recorded(before), operationCount: started.id });
  assert.deepEqual(memory.server(primary), { ...memory.server(primary), readOnly: false, source: null });
  assert.deepEqual(memory.server(candidate), { ...memory.server(candidate), readOnly: true, source: primary });
  assert.deepEqual(memory.router, { writer: primary, readers: [candidate, other].sort() });
});

test('a switchover held before its promotion, preempted by the primary dying: cancelled, no rollback, the failover moves the primary', async () => {
  const [primary, candidate] = await register('preempted');
  const catchUp = memory.hold('waitForGtid', candidate);
  const started = await conductor.executeUpdate(requestOperation, { args: [{ kind: 'switchover', candidate }] });
  await catchUp.reached;

  const { promotion, preempted } = await primaryDiesDuring(primary, { id: started.id, kind: 'switchover' });
  // A preempted switchover leaves the fencing to the failover: the old primary was not opened again.
  assert.equal(memory.server(primary).readOnly, true);

  promotion.release();
  const done = await ended(preempted.operation!.id);
  assert.equal(done.lastOperation?.outcome, 'completed', done.lastOperation?.message);
  assert.equal(done.viewId, 2);
  assert.equal(done.primary, candidate);
  assert.equal(statusOf(done, primary), 'FAULTY');
  assert.equal(memory.router.writer, candidate);
});

test('after an automatic failover, a second death is withheld with a warning until acknowledged', async () => {
  const [first, second, third] = await register('block');
  memory.kill(first);
  const failedOver = await until('the first failover', (s) => s.lastOperation?.kind === 'failover' && !s.operation);
  assert.equal(failedOver.lastOperation?.outcome, 'completed', failedOver.lastOperation?.message);
  assert.equal(failedOver.primary, second);

  memory.kill(second);
  const withheld = await until('the failover withheld', (s) => s.warnings.some((w) => w.code === 'failover-withheld'));
  const [warning] = withheld.warnings;
  assert.equal(warning.server, second);
  assert.match(warning.text, /no automatic failover: an automatic failover ran at .* unless acknowledged/);
  assert.deepEqual(recorded(withheld), recorded(failedOver));
  assert.equal(withheld.operation, null);
  assert.deepEqual((await readMemo(env.client, 'block'))?.warnings, withheld.warnings);

  assert.equal(await conductor.executeUpdate(acknowledge), 'automatic failover of block re-armed');
  const done = await until('the second failover', (s) => s.lastOperation?.kind === 'failover' && s.lastOperation.id > failedOver.lastOperation!.id && !s.operation);
  assert.equal(done.lastOperation?.outcome, 'completed', done.lastOperation?.message);
  assert.equal(done.viewId, 3);
  assert.equal(done.primary, third);
  assert.deepEqual(done.warnings, []);
});

test('the old primary dies as its switchover promotes the candidate: the failover meant for it does not run against the new primary', async () => {
  const [primary, candidate] = await register('race');
  const promotion = memory.hold('promote', candidate);
  const started = await conductor.executeUpdate(requestOperation, { args: [{ kind: 'switchover', candidate }] });
  await promotion.reached;
  // The promotion and the death at one moment: the death is seen before the switchover says it promoted.
  promotion.release();
  memory.kill(primary);
  const done = await until('the conductor idle', (s) => !s.operation && (s.lastOperation?.id ?? 0) >= started.id, 30_000);
  assert.equal(done.primary, candidate, `${done.lastOperation?.kind} #${done.lastOperation?.id}: ${done.lastOperation?.message}`);
  assert.equal(memory.router.writer, candidate);
});

test('a failover that cannot run (update-only, no candidate) does not leave the switchover it preempted fenced', async () => {
  const [, candidate] = await register('unfenced');
  const catchUp = memory.hold('waitForGtid', candidate);
  await conductor.executeUpdate(requestOperation, { args: [{ kind: 'switchover', candidate }] });
  await catchUp.reached;
  // Refusing it up front would do too.
  const failover = await conductor.executeUpdate(requestOperation, { args: [{ kind: 'failover', updateOnly: true }] }).catch(() => undefined);
  catchUp.release();
  const done = await until('the conductor idle', (s) => !s.operation && (s.lastOperation?.id ?? 0) >= (failover?.id ?? 0));
  assert.equal(memory.server(done.primary).readOnly, false, `${done.lastOperation?.kind} #${done.lastOperation?.id}: ${done.lastOperation?.message}`);
  assert.equal(memory.router.writer, done.primary);
});
