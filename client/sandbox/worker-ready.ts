import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { isRunning } from '../local/processes';
import { sleep } from '../local/ports';

/** Waits until a worker polls the task queue, so the first operation does not sit queued. */
export async function waitForWorker(client: Client, taskQueue: string, pid: number, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { pollers } = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    if (pollers && pollers.length > 0) return;
    if (!isRunning(pid, 'gtidflow.js')) throw new Error(`the worker exited; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`the worker did not poll ${taskQueue} within 60 s; see ${logFile}`);
    await sleep(250);
  }
}
