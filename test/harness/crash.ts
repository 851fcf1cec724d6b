import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { before, test } from 'node:test';
import { sleep } from '../../client/local/ports';
import { followOperation } from '../../client/operations';
import { atEnd } from './cleanup';
import { resetStack, startTestStack, TestStack, writeRows } from './stack';

/** One operation to crash: made ready on a reset stack, started, then checked once finished. */
export interface CrashScenario {
  name: string;
  prepare?(stack: TestStack): Promise<void>;
  start(stack: TestStack): Promise<{ workflowId: string }>;
  check(stack: TestStack): Promise<void>;
}

/**
 * Crash safety for one operation: the worker process is killed (SIGKILL)
 * right after each of its activities in turn; a new worker must finish the
 * job and leave the cluster whole.
 */
export function crashTestFile(scenario: CrashScenario): { stack: () => TestStack; completedActivities: (id: string) => Promise<number> } {
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
    await scenario.prepare?.(stack);
    const { workflowId } = await scenario.start(stack);
    if (killAfter > 0) {
      while ((await completedActivities(workflowId)) < killAfter) await sleep(20);
      restartWorker();
    }
    await followOperation(stack.temporal.client, workflowId, () => undefined);
    await scenario.check(stack);
    return completedActivities(workflowId);
  };

  test(`${scenario.name}: a worker killed after each activity in turn, a new worker finishes it`, async (t) => {
    const activities = await runWithCrash(0);
    assert.ok(activities >= 5, `${scenario.name} ran ${activities} activities`);
    for (let k = 1; k < activities; k++) {
      await t.test(`killed after activity ${k} of ${activities}`, async () => {
        await runWithCrash(k);
      });
    }
  });

  return { stack: () => stack, completedActivities };
}
