import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { before, test } from 'node:test';
import { getServerState } from '../../activities/server-state';
import { sleep } from '../../client/local/ports';
import { clusterStatus } from '../../client/status';
import { clusterWorkflowId } from '../../workflows/api';
import { atEnd } from '../harness/cleanup';
import { conductorMemo, resetStack, startTestStack, TestStack, writeRows } from '../harness/stack';
import { startTcpProxy, TcpProxy } from '../harness/tcp-proxy';

/**
 * The manager alone cut off from the primary: its connections go through a
 * proxy the test cuts, while replicas and HAProxy still reach the primary.
 * One observer is not a quorum: no failover, a warning instead.
 */
let stack: TestStack;
let proxy: TcpProxy;
let worker: ChildProcess;

before(async () => {
  stack = await startTestStack(3);
  stack.spec.policies = { failover: 'auto', probeIntervalMs: 500, probeFailures: 3, blockSeconds: 600 };
  proxy = await startTcpProxy(stack.cluster.servers[0].port);
  worker = stack.temporal.workerProcess({ GTIDFLOW_CONNECT_VIA: `${stack.cluster.addresses[0]}=127.0.0.1:${proxy.port}` });
  atEnd(async () => {
    worker.kill('SIGKILL');
  });
  await resetStack(stack);
});

/** How many times the conductor has started its watch (the monitorPrimary activity) so far. */
async function watchesStarted(): Promise<number> {
  const history = await stack.temporal.client.workflow.getHandle(clusterWorkflowId(stack.name)).fetchHistory();
  return (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'monitorPrimary').length;
}

test('manager-only partition: no failover for 30 s, a warning in gtidflow status, gone when the path heals', async () => {
  const watchesBefore = await watchesStarted();
  await proxy.cut();
  const start = Date.now();
  let warned = false;
  while (Date.now() - start < 30_000) {
    const status = await clusterStatus(stack.temporal.client, stack.name);
    assert.equal(status.viewId, 1, 'no failover');
    assert.ok(!status.operation || status.operation.kind === 'health', `no operation but health rounds: ${JSON.stringify(status.operation)}`);
    warned ||= status.warnings.some((w) => w.code === 'manager-cut-off' && /unreachable from the manager only/.test(w.text));
    await sleep(1_000);
  }
  assert.ok(warned, 'gtidflow status showed the warning');
  // The warning is raised once, not again every few probes (each time restarting the watch).
  assert.ok((await watchesStarted()) - watchesBefore <= 2, `${(await watchesStarted()) - watchesBefore} watches started during the partition`);
  // The primary was never in doubt for anyone else: replicas still stream from it, writes go through.
  for (const address of stack.cluster.addresses.slice(1)) {
    const state = await getServerState({ address, access: stack.cluster.access });
    assert.equal(state.replication?.ioRunning, true, `${address} still replicates`);
  }
  await writeRows(stack, [1]);

  await proxy.restore();
  for (let i = 0; i < 40 && (await conductorMemo(stack)).warnings.length > 0; i++) await sleep(250);
  assert.deepEqual((await conductorMemo(stack)).warnings, []);
  assert.equal((await conductorMemo(stack)).viewId, 1);
});
