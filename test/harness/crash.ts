import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { before, test } from 'node:test';
import { sleep } from '../../client/local/ports';
import { followOperation, requestOperation } from '../../client/operations';
import { atEnd } from './cleanup';
import { assertHealthy, resetStack, startTestStack, TestStack, writeRows } from './stack';

/**
 * Crash safety for one operation: the worker process is killed (SIGKILL)
 * right after each of its activities in turn; a new worker must finish the
 * job and leave the cluster whole.
 */
export function crashTestFile(kind: 'switchover' | 'failover'): { stack: () => TestStack; completedActivities: (id: string) => Promise<number> } {
  let stack: TestStack;
  let worker: ChildProcess | undefined;
  const restartWorker = () => {
    worker?.kill('SIGKILL');
    worker = stack.temporal.workerProcess();
  };

  before(async () => {
    stack = await startTestStack(3);
    restartWorker();
    atEnd(async () => {
      worker?.kill('SIGKILL');
    });
  });

  const completedActivities = async (workflowId: string): Promise<number> => {
    try {
      const history = await stack.temporal.client.workflow.getHandle(workflowId).fetchHistory();
      return history.events?.filter((e) => e.activityTaskCompletedEventAttributes).length ?? 0;
    } catch {
      return 0;
    }
  };

  /** Runs the operation, killing the worker once `killAfter` activities have completed (never, if 0). */
  const runWithCrash = async (killAfter: number): Promise<number> => {
    await resetStack(stack);
    await writeRows(stack, [1, 2, 3]);
    if (kind === 'failover') process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
    const started = await requestOperation(stack.temporal.client, stack.name, { kind });
    if (killAfter > 0) {
      while ((await completedActivities(started.workflowId)) < killAfter) await sleep(20);
      restartWorker();
    }
    await followOperation(stack.temporal.client, started.workflowId, () => undefined);
    await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3], dead: kind === 'failover' ? [0] : [] });
    return completedActivities(started.workflowId);
  };

  test(`${kind}: a worker killed after each activity in turn, a new worker finishes it`, async (t) => {
    const activities = await runWithCrash(0);
    assert.ok(activities >= 8, `${kind} ran ${activities} activities`);
    for (let k = 1; k < activities; k++) {
      await t.test(`killed after activity ${k} of ${activities}`, async () => {
        await runWithCrash(k);
      });
    }
  });

  return { stack: () => stack, completedActivities };
}
