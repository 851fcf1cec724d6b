import * as os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from '../activities';
import { clusterActivities } from '../activities/clusters';
import { TASK_QUEUE } from '../workflows/api';
import { buildId } from './build';

export interface WorkerOptions {
  address: string;
  namespace: string;
  taskQueue?: string;
}

export interface RunningWorker {
  worker: Worker;
  /** Closes the worker's connection; call after the worker has stopped. */
  close(): Promise<void>;
}

/** The gtidflow worker: every workflow and activity on one task queue. */
export async function createWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const connection = await NativeConnection.connect({ address: opts.address });
  // The activities that ask other workflows (a shard move its conductors) use a client of their own.
  const clientConnection = await Connection.connect({ address: opts.address });
  const client = new Client({ connection: clientConnection, namespace: opts.namespace });
  const build = buildId();
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities: { ...activities, ...clusterActivities(client) },
    // The build id shows on every workflow task this worker completes (the Web UI's event details) and in its identity;
    // versioning itself is by patched() and replay tests (README: Upgrades), not by routing.
    identity: `gtidflow ${build} ${process.pid}@${os.hostname()}`,
    workerDeploymentOptions: { useWorkerVersioning: false, version: { deploymentName: 'gtidflow', buildId: build } },
    // A worker that dies holding a workflow's sticky queue delays its next task by this much (default 10 s): a
    // conductor whose watch came back on another worker hears of a dead primary 1 s later.
    stickyQueueScheduleToStartTimeout: '1 second',
  });
  return { worker, close: async () => { await clientConnection.close(); await connection.close(); } };
}
