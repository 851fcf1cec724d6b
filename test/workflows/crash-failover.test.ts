import { test } from 'node:test';
import { sleep } from '../../client/local/ports';
import { followOperation, requestOperation } from '../../client/operations';
import { crashTestFile } from '../harness/crash';
import { assertHealthy, resetStack, writeRows } from '../harness/stack';

const { stack, completedActivities } = crashTestFile({
  name: 'failover',
  prepare: async (s) => {
    process.kill(s.cluster.servers[0].pid, 'SIGKILL');
  },
  start: (s) => requestOperation(s.temporal.client, s.name, { kind: 'failover' }),
  check: async (s) => {
    await assertHealthy(s, { viewId: 2, rows: [1, 2, 3], dead: [0] });
  },
});

test('the Temporal server restarted mid-failover: the failover resumes and completes', async () => {
  const s = stack();
  await resetStack(s);
  await writeRows(s, [1, 2, 3]);
  process.kill(s.cluster.servers[0].pid, 'SIGKILL');
  const started = await requestOperation(s.temporal.client, s.name, { kind: 'failover' });
  while ((await completedActivities(started.workflowId)) < 4) await sleep(20);
  await s.temporal.restart();
  await followOperation(s.temporal.client, started.workflowId, () => undefined);
  await assertHealthy(s, { viewId: 2, rows: [1, 2, 3], dead: [0] });
});
