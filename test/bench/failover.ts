import { followOperation, requestOperation } from '../../client/operations';
import { runCleanups } from '../harness/cleanup';
import { resetStack, startTestStack } from '../harness/stack';
import { missingRows, report, WriterLoad } from './writer-load';

/**
 * npm run bench:failover — from the start of the failover workflow (the
 * primary already killed) to the first write accepted through the writer
 * endpoint on the new primary. 10 runs (BENCH_RUNS).
 */
async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 10);
  const stack = await startTestStack(3, 'bench');
  await stack.temporal.runWorker();
  const firstWrite: number[] = [];
  const durations: number[] = [];
  let lost = 0;
  for (let run = 0; run < runs; run++) {
    await resetStack(stack);
    const load = new WriterLoad(stack, 1);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    const from = load.now();
    const started = await requestOperation(stack.temporal.client, stack.name, { kind: 'failover' });
    await followOperation(stack.temporal.client, started.workflowId, () => undefined);
    const to = load.now();
    const first = await load.acknowledgedAfter(from);
    await load.stop();
    firstWrite.push(first.end - from);
    durations.push(to - from);
    const ids = load.acknowledged();
    lost += await missingRows(stack, ids, [0]);
    console.log(`run ${run + 1}: first write after ${(first.end - from).toFixed(0)} ms, failover ${(to - from).toFixed(0)} ms, ${ids.length} rows acknowledged`);
  }
  report('failover start to first accepted write', ' ms', firstWrite);
  report('failover workflow duration', ' ms', durations);
  console.log(`acknowledged rows missing afterwards, all runs: ${lost}`);
  await runCleanups();
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
