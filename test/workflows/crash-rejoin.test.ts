import assert from 'node:assert/strict';
import { followOperation, requestRejoin } from '../../client/operations';
import { crashTestFile } from '../harness/crash';
import { assertHealthy, conductorMemo, failoverNow } from '../harness/stack';

/** Crash safety of rejoin: the old primary of a failover comes back while the worker is killed after each step. */
crashTestFile({
  name: 'rejoin',
  prepare: async (stack) => {
    process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
    await followOperation(stack.temporal.client, (await failoverNow(stack)).workflowId, () => undefined);
    await stack.cluster.start(0);
  },
  start: (stack) => requestRejoin(stack.temporal.client, stack.name, { address: stack.cluster.addresses[0] }),
  check: async (stack) => {
    assert.equal((await conductorMemo(stack)).servers[0].status, 'SECONDARY');
    await assertHealthy(stack, { viewId: 3, rows: [1, 2, 3] });
  },
});
