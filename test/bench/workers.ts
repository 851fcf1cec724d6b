import type { ChildProcess } from 'node:child_process';
import { sleep } from '../../client/local/ports';
import { clusterWorkflowId } from '../../workflows/api';
import { runCleanups } from '../harness/cleanup';
import { conductorMemo, resetStack, startTestStack } from '../harness/stack';
import { missingRows, report, WriterLoad } from './writer-load';

/**
 * npm run bench:workers — gtidflow as it runs when one machine is not
 * enough: two worker processes on one task queue. The worker that runs a
 * cluster's watch is killed (kill -9), then 2 s later the cluster's
 * primary: the watch must come back on the other worker and fail over.
 * Reports kill of the primary → first accepted write, and the rows lost
 * (must be 0). 5 runs (BENCH_RUNS).
 */
async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const stack = await startTestStack(3, 'bench');
  let workers: ChildProcess[] = [stack.temporal.workerProcess(), stack.temporal.workerProcess()];
  const rto: number[] = [];
  let missing = 0;
  for (let run = 0; run < runs; run++) {
    await resetStack(stack);
    const load = new WriterLoad(stack, 1);
    const watcher = await watchingWorker(stack, workers);
    process.kill(watcher.pid!, 'SIGKILL');
    await sleep(2_000);
    const killedAt = load.now();
    process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
    const first = await load.acknowledgedAfter(killedAt, 120_000);
    await load.stop();
    while ((await conductorMemo(stack)).viewId !== 2) await sleep(50);
    const lost = await missingRows(stack, load.acknowledged(), [0]);
    missing += lost;
    rto.push(first.end - killedAt);
    console.log(`run ${run + 1}: watch's worker killed 2 s before the primary; primary kill to first accepted write ${(first.end - killedAt).toFixed(0)} ms, ${lost} missing`);
    // The killed worker's place is taken by a new process, as a supervisor would.
    workers = [...workers.filter((w) => w !== watcher), stack.temporal.workerProcess()];
  }
  report('RTO with the watching worker lost (primary kill to first accepted write)', ' ms', rto);
  console.log(`acknowledged rows missing afterwards, all runs: ${missing}`);
  await runCleanups();
}

/** The worker process running the conductor's watch (its identity names its pid), once the watch runs. */
async function watchingWorker(stack: Awaited<ReturnType<typeof startTestStack>>, workers: ChildProcess[]): Promise<ChildProcess> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
    const { raw } = await stack.temporal.client.workflow.getHandle(clusterWorkflowId(stack.name)).describe();
    const monitor = raw.pendingActivities?.find((a) => a.activityType?.name === 'monitorPrimary' && a.lastWorkerIdentity);
    const pid = Number(/ (\d+)@/.exec(monitor?.lastWorkerIdentity ?? '')?.[1]);
    const worker = workers.find((w) => w.pid === pid);
    if (worker) return worker;
  }
  throw new Error('no worker of this bench runs the watch');
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
