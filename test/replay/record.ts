/**
 * Records the workflow histories the replay test replays against the
 * current code (test/workflows/replay.test.ts): a real cluster taken
 * through every kind of operation by the worker of one release, each
 * workflow's history saved under test/replay/histories/<version>/.
 *
 *   npm run record:histories -- <version>           this checkout's worker
 *   npm run record:histories -- <version> <commit>  that commit's worker (git archive)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { inspectCluster } from '../../client/inspect';
import { sleep } from '../../client/local/ports';
import { followOperation, requestAddServer, requestOperation, requestRejoin, requestRemoveServer, requestServerChange } from '../../client/operations';
import { acknowledge, clusterWorkflowId, healthScheduleId } from '../../workflows/api';
import { runCleanups } from '../harness/cleanup';
import { checkoutRelease } from '../harness/release';
import { conductorMemo, resetStack, startTestStack, writeRows } from '../harness/stack';

async function record(version: string, commit: string | undefined): Promise<void> {
  const out = path.join(__dirname, 'histories', version);
  const stack = await startTestStack(3);
  stack.spec.policies = { failover: 'auto', probeIntervalMs: 1000, probeFailures: 3, healthIntervalSeconds: 3600, rejoin: 'auto' };
  stack.temporal.workerProcess({}, commit ? checkoutRelease({ version, commit }) : undefined);
  const { client } = stack.temporal;
  const follow = async (what: string, started: Promise<{ workflowId: string }>) => {
    const result = await followOperation(client, (await started).workflowId, () => undefined);
    console.log(`${what}: ${result.summary}`);
  };
  const until = async (what: string, done: (memo: Awaited<ReturnType<typeof conductorMemo>>) => boolean) => {
    for (let deadline = Date.now() + 60_000; !done(await conductorMemo(stack)); await sleep(200)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    }
    console.log(what);
  };

  await resetStack(stack); // registration: the conductor and its bootstrap
  await writeRows(stack, [1, 2, 3]);
  const [first, second] = stack.cluster.addresses;
  await follow('switchover', requestOperation(client, stack.name, { kind: 'switchover', candidate: second }));
  await follow('switchover back', requestOperation(client, stack.name, { kind: 'switchover', candidate: first }));
  await follow('reconfigure', requestServerChange(client, stack.name, { address: second, penalty: 2 }));
  await follow('set-status FAULTY', requestServerChange(client, stack.name, { address: second, status: 'FAULTY' }));
  await follow('set-status SPARE (a rejoin)', requestServerChange(client, stack.name, { address: second, status: 'SPARE' }));
  const added = stack.cluster.addresses[await stack.cluster.addServer()];
  await follow('add', requestAddServer(client, stack.name, { address: added, provision: 'dump', status: 'SECONDARY', penalty: 0 }));
  await follow('remove', requestRemoveServer(client, stack.name, { address: added }));
  await inspectCluster(client, stack.spec);

  // The primary killed: detection fails over by itself; the operator acknowledges.
  process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
  await until('automatic failover', (m) => m.viewId > 6 && m.operation === null && m.primary !== first);
  await client.workflow.getHandle(clusterWorkflowId(stack.name)).executeUpdate(acknowledge);
  // The old primary back: a health round (from the schedule) finds it answering, and the rejoin policy brings it back.
  await stack.cluster.start(0);
  await client.schedule.getHandle(healthScheduleId(stack.name)).trigger();
  await until('health round and automatic rejoin', (m) => m.operation === null && m.servers[0].status === 'SECONDARY');
  await follow('failover by an operator', requestOperation(client, stack.name, { kind: 'failover', candidate: first }));
  await follow('set-status FAULTY', requestServerChange(client, stack.name, { address: second, status: 'FAULTY' }));
  await follow('rejoin', requestRejoin(client, stack.name, { address: second }));

  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const seen = new Set<string>();
  for await (const execution of client.workflow.list()) {
    // Newest first: an id's earlier runs (a conductor re-registered) are left out.
    if (seen.has(execution.workflowId)) continue;
    seen.add(execution.workflowId);
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const file = `${execution.workflowId.replace(/[^A-Za-z0-9-]+/g, '_')}.json`;
    fs.writeFileSync(path.join(out, file), historyToJSON(history));
  }
  console.log(`histories of ${version} in ${path.relative(process.cwd(), out)}: ${fs.readdirSync(out).length} files`);
}

const [version, commit] = process.argv.slice(2);
if (!version) {
  console.error('usage: record.ts <version> [<commit>]');
  process.exit(2);
}
record(version, commit).finally(runCleanups).then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
