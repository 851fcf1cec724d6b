import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, beforeEach, test } from 'node:test';
import type * as mysql from 'mysql2/promise';
import { getServerState } from '../../activities/server-state';
import { clusterWorkflowId } from '../../workflows/api';
import { rootConnection } from '../../client/local/mariadb';
import { sleep } from '../../client/local/ports';
import { readPassword } from '../../client/local/secrets';
import { followOperation, requestOperation } from '../../client/operations';
import { waitForReplicas } from '../harness/cluster';
import { assertHealthy, conductorMemo, resetStack, startTestStack, TestStack, writeRows, writerSession } from '../harness/stack';

let stack: TestStack;

before(async () => {
  stack = await startTestStack(3);
  await stack.temporal.runWorker();
});

beforeEach(async () => {
  stack.spec.hooks = undefined;
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
});

const operate = async (kind: 'switchover' | 'failover', options: { candidate?: string; updateOnly?: boolean } = {}) => {
  const started = await requestOperation(stack.temporal.client, stack.name, { kind, ...options });
  return followOperation(stack.temporal.client, started.workflowId, () => undefined);
};

test('switchover: one writable server, the others replicate from it, the writer follows, view 2, no row lost', async () => {
  const result = await operate('switchover');
  const primary = await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3] });
  assert.equal(result.primary, primary);
  assert.notEqual(primary, stack.cluster.addresses[0]);
  const memo = await conductorMemo(stack);
  assert.equal(memo.servers.find((s) => s.address === stack.cluster.addresses[0])?.status, 'SECONDARY');
  await writeRows(stack, [4]);
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3, 4] });
});

test('switchover to a named candidate', async () => {
  const result = await operate('switchover', { candidate: stack.cluster.addresses[2] });
  assert.equal(result.primary, stack.cluster.addresses[2]);
  assert.equal(await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3] }), stack.cluster.addresses[2]);
});

test('failover after kill -9 of the primary: a new primary with every row, the old one FAULTY', async () => {
  process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
  const result = await operate('failover');
  assert.notEqual(result.primary, stack.cluster.addresses[0]);
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3], dead: [0] });
  const memo = await conductorMemo(stack);
  assert.equal(memo.servers.find((s) => s.address === stack.cluster.addresses[0])?.status, 'FAULTY');
  await writeRows(stack, [4]);
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3, 4], dead: [0] });
});

test('while an operation runs, a second one is refused, not interleaved', async () => {
  stack.spec.hooks = { beforeFailover: ['sleep 3'], afterFailover: [], afterSwitchover: [] };
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
  const started = await requestOperation(stack.temporal.client, stack.name, { kind: 'failover' });
  await assert.rejects(requestOperation(stack.temporal.client, stack.name, { kind: 'switchover' }), /switchover refused: .*busy with failover #2/);
  await assert.rejects(requestOperation(stack.temporal.client, stack.name, { kind: 'failover' }), /failover refused: .*busy with failover #2/);
  await followOperation(stack.temporal.client, started.workflowId, () => undefined);
  const children = [];
  const conductor = await stack.temporal.client.workflow.getHandle(clusterWorkflowId(stack.name)).describe();
  const query = `ParentRunId = '${conductor.runId}'`;
  for await (const wf of stack.temporal.client.workflow.list({ query })) children.push(wf.workflowId);
  assert.deepEqual(children.sort(), [`${clusterWorkflowId(stack.name)}/bootstrap/1`, `${clusterWorkflowId(stack.name)}/failover/2`]);
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3] });
});

test('a switchover whose candidate dies mid-way leaves the old primary writable and routed', async () => {
  const candidate = 1;
  // A row lock held on the candidate stalls its applier on the next update, so the switchover waits on it...
  const lock: mysql.Connection = await rootConnection(stack.cluster.servers[candidate].port);
  lock.on('error', () => undefined);
  await lock.query('START TRANSACTION');
  await lock.query('SELECT * FROM app.locks WHERE k = 1 FOR UPDATE');
  const writer = await writerSession(stack);
  await writer.query('UPDATE app.locks SET v = v + 1 WHERE k = 1');
  await writer.end();
  const started = await requestOperation(stack.temporal.client, stack.name, { kind: 'switchover', candidate: stack.cluster.addresses[candidate] });
  const steps: string[] = [];
  let settled = false;
  const outcome = followOperation(stack.temporal.client, started.workflowId, (s) => steps.push(s))
    .then(() => 'completed', (e: Error) => e.message)
    .finally(() => (settled = true));
  while (!settled && !steps.some((s) => s.startsWith('waiting for'))) await sleep(50);
  // ...and dies while it waits.
  process.kill(stack.cluster.servers[candidate].pid, 'SIGKILL');
  assert.match(await outcome, /switchover aborted, 127\.0\.0\.1:\d+ is primary again/);
  assert.ok(steps.some((s) => s.startsWith('rolling back')), steps.join('; '));
  const primary = await assertHealthy(stack, { viewId: 1, rows: [1, 2, 3], dead: [candidate] });
  assert.equal(primary, stack.cluster.addresses[0]);
});

test('hooks: a failing before-failover hook aborts with nothing changed; after-failover hooks get the facts on stdin', async () => {
  const seen = path.join(stack.cluster.dir, 'after-failover.json');
  stack.spec.hooks = { beforeFailover: ['echo no failover now >&2; exit 3'], afterFailover: [], afterSwitchover: [] };
  await resetStack(stack);
  await assert.rejects(operate('failover'), /failover aborted: before-failover hook "echo no failover now >&2; exit 3" exited 3: no failover now/);
  assert.equal(await assertHealthy(stack, { viewId: 1, rows: [] }), stack.cluster.addresses[0]);

  stack.spec.hooks = { beforeFailover: ['true'], afterFailover: [`cat > ${seen}`], afterSwitchover: [] };
  await resetStack(stack);
  const result = await operate('failover');
  const event = JSON.parse(fs.readFileSync(seen, 'utf8'));
  assert.deepEqual(event, { event: 'after-failover', cluster: stack.name, oldPrimary: stack.cluster.addresses[0], newPrimary: result.primary, viewId: 2 });
});

test('--update-only records the new primary and view and touches no server', async () => {
  const serverFacts = () => Promise.all(stack.cluster.addresses.map(async (address) => {
    const s = await getServerState({ address, access: stack.cluster.access });
    return { address, readOnly: s.readOnly, source: s.replication?.sourcePort ?? null, executed: s.executed, semiSync: s.semiSync.primaryEnabled };
  }));
  await waitForReplicas(stack.cluster);
  const before = await serverFacts();
  const promoted = await operate('switchover', { candidate: stack.cluster.addresses[2], updateOnly: true });
  assert.equal(promoted.primary, stack.cluster.addresses[2]);
  const failed = await operate('failover', { candidate: stack.cluster.addresses[1], updateOnly: true });
  assert.equal(failed.primary, stack.cluster.addresses[1]);
  const memo = await conductorMemo(stack);
  assert.equal(memo.viewId, 3);
  assert.deepEqual(memo.servers.map((s) => s.status), ['SECONDARY', 'PRIMARY', 'FAULTY']);
  assert.deepEqual(await serverFacts(), before);
  // The status matrix holds in update-only too: a FAULTY server is never promoted.
  await assert.rejects(operate('switchover', { candidate: stack.cluster.addresses[2], updateOnly: true }), /cannot change FAULTY to PRIMARY/);
  assert.equal((await conductorMemo(stack)).viewId, 3);
});

/** Every payload of a history as text: payload data is bytes, which JSON.stringify would print as numbers. */
function historyText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(historyText).join(' ');
  if (value && typeof value === 'object') return Object.entries(value).map(([k, v]) => `${k}: ${historyText(v)}`).join(' ');
  return String(value);
}

test('no password appears in any workflow history', async () => {
  const secrets = Object.values(stack.cluster.accounts).map(readPassword);
  let withReferences = 0;
  for await (const wf of stack.temporal.client.workflow.list()) {
    const text = historyText(await stack.temporal.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
    for (const secret of secrets) assert.ok(!text.includes(secret), `a password appears in the history of ${wf.workflowId}`);
    // The check reads real payloads: the ones that reach servers carry the references instead.
    if (text.includes('passwordFile')) withReferences++;
  }
  assert.ok(withReferences >= 10, `${withReferences} histories carry credential references`);
});
