import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { followOperation, requestAddServer, requestOperation, requestRejoin } from '../../client/operations';
import { loadAgentConfig } from '../../agent/config';
import { testAgents, TestAgents } from '../harness/agents';
import { assertHealthy, conductorMemo, resetStack, startTestStack, TestStack, writeRows } from '../harness/stack';

/**
 * Physical clones through the host agents (mariadb-backup streamed from a
 * donor's agent to the target's): a new server, and a diverged old primary
 * re-provisioned with its errant transactions saved first.
 */
let stack: TestStack;
let agents: TestAgents;

/** The tests run in order, each from where the previous one left the cluster. */
before(async () => {
  stack = await startTestStack(3, 'clone');
  stack.spec.agents = true;
  stack.spec.policies = { failover: 'off', healthIntervalSeconds: 3600 };
  await stack.temporal.runWorker();
  agents = testAgents(stack.cluster, stack.temporal.address);
  for (const i of stack.cluster.servers.keys()) await agents.start(i);
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
});

const run = async (started: Promise<{ workflowId: string }>) => followOperation(stack.temporal.client, (await started).workflowId, () => undefined);
const served = (i: number) => {
  const ledger = path.join(loadAgentConfig(agents.configFile(i)).workDir, 'served-transfers');
  return fs.existsSync(ledger) ? fs.readFileSync(ledger, 'utf8').trim().split('\n').length : 0;
};

test('server add --provision clone: copied from a replica by its agent, caught up, SECONDARY with every row', async () => {
  const joining = await stack.cluster.addServer();
  await agents.start(joining);
  const result = await run(requestAddServer(stack.temporal.client, stack.name, {
    address: stack.cluster.addresses[joining], provision: 'clone', status: 'SECONDARY', penalty: 0,
  }));
  stack.cluster.adoptPids();
  assert.match(result.summary, /added as SECONDARY/);
  assert.equal(served(0), 0, 'the primary served no copy');
  assert.equal(served(1) + served(2), 1, 'one replica served one copy');
  await writeRows(stack, [4]);
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3, 4] });
});

test('rejoin --reprovision of a diverged old primary: errant transactions saved to a file on its host, then cloned, every row and none of its own', async () => {
  const [oldPrimary] = stack.cluster.addresses;
  await run(requestOperation(stack.temporal.client, stack.name, { kind: 'failover', candidate: stack.cluster.addresses[1] }));
  // The fenced old primary takes a write the cluster never gets: it diverged.
  await stack.cluster.sql(0, 'SET GLOBAL read_only = 0; INSERT INTO app.rows VALUES (999); SET GLOBAL read_only = 1');
  const errant = String((await stack.cluster.sql(0, 'SELECT @@gtid_binlog_pos AS p'))[0].p);
  await assert.rejects(run(requestRejoin(stack.temporal.client, stack.name, { address: oldPrimary })), /stays FAULTY/);

  const result = await run(requestRejoin(stack.temporal.client, stack.name, { address: oldPrimary, reprovision: true }));
  stack.cluster.adoptPids();
  const file = /saved to (\S+) on its host/.exec(result.summary)?.[1];
  assert.ok(file, result.summary);
  assert.ok(result.summary.includes(errant), `${result.summary} names ${errant}`);
  assert.match(fs.readFileSync(file, 'utf8'), /INSERT INTO `app`\.`rows`[\s\S]*@1=999/);
  const rows = (await stack.cluster.sql(0, 'SELECT id FROM app.rows ORDER BY id')).map((r) => r.id);
  assert.deepEqual(rows, [1, 2, 3, 4]);
  assert.equal((await conductorMemo(stack)).servers.find((s) => s.address === oldPrimary)?.status, 'SECONDARY');
});
