import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { before, test } from 'node:test';
import { sleep } from '../../client/local/ports';
import { atEnd } from '../harness/cleanup';
import { conductorMemo, resetStack, startTestStack, TestStack } from '../harness/stack';
import { startTcpProxy, TcpProxy } from '../harness/tcp-proxy';

/**
 * A primary that logs the manager in and then answers nothing (a hung
 * server, a half-dead path): each probe must fail within the probe
 * interval, so that the failures add up to the threshold and the replicas
 * are asked. A probe waiting on its queries for longer than the watch's
 * heartbeat timeout restarted the watch, its count back at 0, for ever.
 */
let stack: TestStack;
let proxy: TcpProxy;
let worker: ChildProcess;

before(async () => {
  stack = await startTestStack(3, 'hang');
  stack.spec.policies = { failover: 'auto', probeIntervalMs: 1000, probeFailures: 3, blockSeconds: 600, healthIntervalSeconds: 10 * 365 * 86400 };
  proxy = await startTcpProxy(stack.cluster.servers[0].port);
  worker = stack.temporal.workerProcess({ GTIDFLOW_CONNECT_VIA: `${stack.cluster.addresses[0]}=127.0.0.1:${proxy.port}` });
  atEnd(async () => void worker.kill('SIGKILL'));
  await resetStack(stack);
});

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check()); await sleep(200)) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
  }
}

test('a primary that logs the manager in and answers nothing: the probes fail in time, the replicas are asked, the manager is cut off (no failover)', async () => {
  const warned = async () => (await conductorMemo(stack)).warnings.some((w) => w.code === 'manager-cut-off');
  // The watch is running (its held session open) before the server hangs.
  await sleep(2_000);
  proxy.hang();
  try {
    await until('the manager-cut-off warning', 15_000, warned);
    assert.equal((await conductorMemo(stack)).viewId, 1, 'the replicas still hear the primary: no failover');
  } finally {
    proxy.answer();
  }
  await until('the warning to clear', 15_000, async () => !(await warned()));
});
