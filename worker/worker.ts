import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from '../activities';

export const TASK_QUEUE = 'gtidflow';

export interface WorkerOptions {
  address: string;
  namespace: string;
  taskQueue?: string;
}

/** The gtidflow worker: every workflow and activity on one task queue. */
export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  const connection = await NativeConnection.connect({ address: opts.address });
  return Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities,
  });
}
