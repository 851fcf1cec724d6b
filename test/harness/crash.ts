import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { before, test } from 'node:test';
import { sleep } from '../../client/local/ports';
import { followOperation } from '../../client/operations';
import { atEnd } from './cleanup';
import { conductorMemo, resetStack, startTestStack, TestStack, writeRows } from './stack';
import { assertWrites, WriterLoad } from './writer';

/** One operation to crash: made ready on a reset stack, started under load, then checked once finished. */
export interface CrashScenario {
  name: string;
  /** Set-up the operation needs, before the client starts writing. */
  prepare?(stack: TestStack): Promise<void>;
  /** What happens to the cluster while the client writes, just before the operation starts (a primary killed). */
  fault?(stack: TestStack): Promise<void>;
  start(stack: TestStack): Promise<{ workflowId: string }>;
  check(stack: TestStack): Promise<void>;
}

export interface CaseResult {
  workflowId: string;
  /** What the writing client saw. */
  writes: string;
}

/** Ids of run n start at n × RUN_IDS: a late commit from an earlier run can never pass for one of this run. */
const RUN_IDS = 1_000_000;

/**
 * Crash safety for one operation: the worker process is killed (SIGKILL)
 * right after each of its activities in turn; a new worker must finish the
 * job and leave the cluster whole. All along, a client writes through the
 * writer endpoint as the application account (test/harness/writer.ts):
 * afterwards every row it was acknowledged is on every member, and only the
 * old or the new primary ever committed one.
 */
export function crashTestFile(scenario: CrashScenario): {
  stack: () => TestStack;
  completedActivities: (id: string) => Promise<number>;
  runCase: (interrupt?: (workflowId: string) => Promise<void>) => Promise<CaseResult>;
} {
  let stack: TestStack;
  let worker: ChildProcess | undefined;
  let runs = 0;
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

  /**
   * One case on a reset stack: the client writes from before the fault
   * until the operation has finished and a write went through again;
   * `interrupt` (a crash) runs once the operation has started.
   */
  const runCase = async (interrupt?: (workflowId: string) => Promise<void>): Promise<CaseResult> => {
    await resetStack(stack);
    await writeRows(stack, [1, 2, 3]);
    await scenario.prepare?.(stack);
    const primaryBefore = (await conductorMemo(stack)).primary;
    // A steady few hundred writes a second: a write in every step's window, without a backlog that
    // a server being added or rejoined needs many seconds to apply.
    const load = new WriterLoad(stack, ++runs * RUN_IDS, { pauseMs: 2, retryPauseMs: 50 });
    let workflowId: string;
    try {
      await load.acknowledgedCount(20);
      await scenario.fault?.(stack);
      ({ workflowId } = await scenario.start(stack));
      await interrupt?.(workflowId);
      await followOperation(stack.temporal.client, workflowId, () => undefined);
      await load.acknowledgedAfter(load.now());
    } finally {
      await load.stop();
    }
    await scenario.check(stack);
    const writes = await assertWrites(stack, load, primaryBefore, (await conductorMemo(stack)).primary);
    return { workflowId, writes };
  };

  /** Kills the worker once `killAfter` activities of the operation have completed (never, if 0). */
  const runWithCrash = async (killAfter: number): Promise<{ activities: number; writes: string }> => {
    const { workflowId, writes } = await runCase(async (id) => {
      if (killAfter === 0) return;
      while ((await completedActivities(id)) < killAfter) await sleep(20);
      restartWorker();
    });
    return { activities: await completedActivities(workflowId), writes };
  };

  test(`${scenario.name}: a worker killed after each activity in turn, a new worker finishes it`, async (t) => {
    const { activities, writes } = await runWithCrash(0);
    t.diagnostic(`no crash: ${writes}`);
    assert.ok(activities >= 5, `${scenario.name} ran ${activities} activities`);
    for (let k = 1; k < activities; k++) {
      await t.test(`killed after activity ${k} of ${activities}`, async (sub) => {
        sub.diagnostic((await runWithCrash(k)).writes);
      });
    }
  });

  return { stack: () => stack, completedActivities, runCase };
}
