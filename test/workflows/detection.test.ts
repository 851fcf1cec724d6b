import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { before, beforeEach, test } from 'node:test';
import { getServerState } from '../../activities/server-state';
import { readRoutes } from '../../activities/router/haproxy';
import { acknowledge, clusterWorkflowId } from '../../workflows/api';
import { freePort, sleep } from '../../client/local/ports';
import { clusterStatus } from '../../client/status';
import { atEnd } from '../harness/cleanup';
import { assertHealthy, conductorMemo, resetStack, startTestStack, TestStack, writeRows, writerSession } from '../harness/stack';

/** Detection with no operator command: the conductor's watch decides, with a quorum. */
let stack: TestStack;
let worker: ChildProcess;
let metricsPort: number;

before(async () => {
  stack = await startTestStack(3);
  stack.spec.policies = { failover: 'auto', probeIntervalMs: 500, probeFailures: 3, blockSeconds: 600 };
  metricsPort = await freePort();
  worker = stack.temporal.workerProcess({ GTIDFLOW_METRICS_PORT: String(metricsPort) });
  atEnd(async () => {
    worker.kill('SIGKILL');
  });
});

beforeEach(async () => {
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
});

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const newPrimary = () => until('an automatic failover', 30_000, async () => {
  const memo = await conductorMemo(stack);
  return memo.viewId === 2 && memo.operation === null ? memo.primary : undefined;
});

async function writesSucceed(ids: number[]): Promise<void> {
  await until('a write through the writer endpoint', 15_000, async () => {
    const conn = await writerSession(stack);
    try {
      await conn.query('INSERT INTO app.rows VALUES (?)', [ids[0]]);
      return true;
    } finally {
      await conn.end();
    }
  });
  await writeRows(stack, ids.slice(1));
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name) && l.includes('outcome="completed"'))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

test('kill -9 of the primary: the manager fails over by itself, writes succeed again, the counter moves', async () => {
  const before = await metric('gtidflow_failovers');
  process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
  const primary = await newPrimary();
  assert.notEqual(primary, stack.cluster.addresses[0]);
  await writesSucceed([4, 5]);
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3, 4, 5], dead: [0] });
  assert.match((await conductorMemo(stack)).lastOperation!.message, /failover from/);
  await until('the failover counter to move', 10_000, async () => ((await metric('gtidflow_failovers')) > before ? true : undefined));
});

test('SIGSTOP of the primary: failover; after SIGCONT the old primary is read-only, out of the writer backend, FAULTY', async () => {
  const frozen = stack.cluster.servers[0].pid;
  process.kill(frozen, 'SIGSTOP');
  try {
    await newPrimary();
    await writesSucceed([4]);
  } finally {
    process.kill(frozen, 'SIGCONT');
  }
  const old = stack.cluster.addresses[0];
  await until('the thawed old primary to be fenced', 20_000, async () =>
    ((await getServerState({ address: old, access: stack.cluster.access })).readOnly ? true : undefined));
  const routes = await readRoutes({ router: stack.router.router });
  assert.ok(!routes.writer.includes(old), 'the old primary is out of the writer backend');
  assert.equal((await conductorMemo(stack)).servers.find((s) => s.address === old)?.status, 'FAULTY');
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3, 4] });
});

// A primary whose process is gone (stopped, restarted) is failed over as soon as the replicas agree (safety rule 1's fast
// form); only a silent one waits for the threshold of failed probes.
test('a primary silent for less than the threshold (frozen 1.5 s): no failover', async () => {
  process.kill(stack.cluster.servers[0].pid, 'SIGSTOP');
  await sleep(1_500);
  process.kill(stack.cluster.servers[0].pid, 'SIGCONT');
  await sleep(8_000);
  const memo = await conductorMemo(stack);
  assert.equal(memo.viewId, 1);
  assert.equal(memo.lastOperation?.kind, 'bootstrap', 'no operation since the registration bootstrapped the cluster');
});

test('no second automatic failover within the block period; an acknowledgement re-arms it', async () => {
  process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
  const second = await newPrimary();
  const index = stack.cluster.addresses.indexOf(second);
  process.kill(stack.cluster.servers[index].pid, 'SIGKILL');
  const warning = await until('a warning', 20_000, async () => (await clusterStatus(stack.temporal.client, stack.name)).warnings.find((w) => w.code === 'failover-withheld' && w.text.includes('no automatic failover')));
  assert.match(warning.text, /unless acknowledged/);
  assert.equal((await conductorMemo(stack)).viewId, 2);
  await stack.temporal.client.workflow.getHandle(clusterWorkflowId(stack.name)).executeUpdate(acknowledge);
  await until('the second failover', 30_000, async () => ((await conductorMemo(stack)).viewId === 3 ? true : undefined));
  await writesSucceed([4]);
});
