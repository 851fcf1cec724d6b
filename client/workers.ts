import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { TASK_QUEUE } from '../workflows/api';

/** The workers polling gtidflow's task queue now, by identity (which names each one's build id). */
export async function pollingWorkers(client: Client, taskQueue = TASK_QUEUE): Promise<string[]> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (pollers ?? []).map((p) => p.identity ?? '(no identity)');
}
