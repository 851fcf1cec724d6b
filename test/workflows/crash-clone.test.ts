import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { loadAgentConfig, stagingDir } from '../../agent/config';
import { sleep } from '../../client/local/ports';
import { followOperation, requestAddServer } from '../../client/operations';
import { testAgents, TestAgents } from '../harness/agents';
import { atEnd } from '../harness/cleanup';
import { assertHealthy, conductorMemo, resetStack, startTestStack, TestStack, writeRows } from '../harness/stack';

/**
 * Crash safety of a clone through the host agents: the target's agent, or
 * the worker, killed (SIGKILL) during the copy and right after the swap;
 * started again, the clone finishes, the server ends SECONDARY with every
 * row, and a copy that was already swapped in is never copied again.
 */
let stack: TestStack;
let agents: TestAgents;
let worker: ChildProcess;
let rows = 3;

before(async () => {
  stack = await startTestStack(3, 'crashclone');
  stack.spec.agents = true;
  stack.spec.policies = { failover: 'off', healthIntervalSeconds: 3600 };
  worker = stack.temporal.workerProcess();
  atEnd(async () => void worker.kill('SIGKILL'));
  agents = testAgents(stack.cluster, stack.temporal.address);
  for (const i of stack.cluster.servers.keys()) await agents.start(i);
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
});

/** Copies served by the cluster's agents so far. */
const served = () => stack.cluster.servers.reduce((sum, _s, i) => {
  const ledger = path.join(loadAgentConfig(agents.configFile(i)).workDir, 'served-transfers');
  return sum + (fs.existsSync(ledger) ? fs.readFileSync(ledger, 'utf8').trim().split('\n').length : 0);
}, 0);

async function until(what: string, check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 60_000) throw new Error(`${what} did not happen within 60 s`);
    await sleep(10);
  }
}

/** Adds a new server by clone; `crash` runs once the operation started, given the target's index; the copies it took. */
async function cloneWithCrash(crash: (target: number) => Promise<void>): Promise<number> {
  const target = await stack.cluster.addServer();
  await agents.start(target);
  const before = served();
  const view = (await conductorMemo(stack)).viewId;
  const { workflowId } = await requestAddServer(stack.temporal.client, stack.name, { address: stack.cluster.addresses[target], provision: 'clone', status: 'SECONDARY', penalty: 0 });
  await crash(target);
  await followOperation(stack.temporal.client, workflowId, () => undefined);
  stack.cluster.adoptPids();
  await writeRows(stack, [++rows]);
  await assertHealthy(stack, { viewId: view + 1, rows: Array.from({ length: rows }, (_, i) => i + 1) });
  return served() - before;
}

const datadirOf = (i: number) => loadAgentConfig(agents.configFile(i)).datadir;
/** The copy is arriving: mbstream has written into staging. */
const copying = (i: number) => () => fs.existsSync(stagingDir(loadAgentConfig(agents.configFile(i)))) && fs.readdirSync(stagingDir(loadAgentConfig(agents.configFile(i)))).length > 0;
/** The copy was swapped in: the datadir is the prepared copy. */
const swapped = (i: number) => () => fs.existsSync(path.join(datadirOf(i), 'gtidflow-prepared'));

test('the target\'s agent killed during the copy: started again, the copy starts over and the clone finishes', async () => {
  const copies = await cloneWithCrash(async (target) => {
    await until('the copy to start', copying(target));
    agents.kill(target);
    await agents.start(target);
  });
  assert.equal(copies, 2, 'the cut copy, then a whole one');
});

test('the target\'s agent killed right after the swap: started again, mariadbd runs on the copy, nothing copied again', async () => {
  const copies = await cloneWithCrash(async (target) => {
    await until('the swap', swapped(target));
    agents.kill(target);
    await agents.start(target);
  });
  assert.equal(copies, 1);
});

test('the worker killed during the copy and again right after the swap: a new worker finishes the clone, one copy', async () => {
  const restartWorker = () => {
    worker.kill('SIGKILL');
    worker = stack.temporal.workerProcess();
  };
  const copies = await cloneWithCrash(async (target) => {
    await until('the copy to start', copying(target));
    restartWorker();
    await until('the swap', swapped(target));
    restartWorker();
  });
  assert.equal(copies, 1);
});
