import type { Client } from '@temporalio/client';
import { isRunning } from '../local/processes';
import { sleep } from '../local/ports';
import { pollingWorkers } from '../workers';

/** Waits until a worker polls the task queue, so the first operation does not sit queued. */
export async function waitForWorker(client: Client, taskQueue: string, pid: number, mark: string, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if ((await pollingWorkers(client, taskQueue)).length > 0) return;
    if (!isRunning(pid, mark)) throw new Error(`the worker exited; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`the worker did not poll ${taskQueue} within 60 s; see ${logFile}`);
    await sleep(250);
  }
}
