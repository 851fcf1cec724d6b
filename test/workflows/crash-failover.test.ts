import { test } from 'node:test';
import { sleep } from '../../client/local/ports';
import { crashTestFile } from '../harness/crash';
import { assertHealthy, failoverNow } from '../harness/stack';

/** The primary is killed while the client writes: every write it acknowledged must survive on the new primary. */
const { stack, completedActivities, runCase } = crashTestFile({
  name: 'failover',
  fault: async (s) => {
    process.kill(s.cluster.servers[0].pid, 'SIGKILL');
  },
  start: failoverNow,
  check: async (s) => {
    await assertHealthy(s, { viewId: 2, rows: [1, 2, 3], dead: [0] });
  },
});

test('the Temporal server restarted mid-failover: the failover resumes and completes', async (t) => {
  const { writes } = await runCase(async (workflowId) => {
    while ((await completedActivities(workflowId)) < 4) await sleep(20);
    await stack().temporal.restart();
  });
  t.diagnostic(writes);
});
