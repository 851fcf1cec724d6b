import { followOperation, requestOperation } from '../../client/operations';
import { runCleanups } from '../harness/cleanup';
import { resetStack, startTestStack } from '../harness/stack';
import { operationSteps } from './steps';
import { missingRows, report, WriterLoad } from './writer-load';

/**
 * npm run bench:switchover — the window in which writes through the writer
 * endpoint fail or block during a switchover: the longest gap between two
 * acknowledged writes while the operation runs. 10 runs (BENCH_RUNS).
 */
async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 10);
  const stack = await startTestStack(3, 'bench');
  await stack.temporal.runWorker();
  const windows: number[] = [];
  const durations: number[] = [];
  let lost = 0;
  for (let run = 0; run < runs; run++) {
    await resetStack(stack);
    const load = new WriterLoad(stack, 1);
    await new Promise((r) => setTimeout(r, 500));
    const from = load.now();
    const requestedWall = Date.now();
    const started = await requestOperation(stack.temporal.client, stack.name, { kind: 'switchover' });
    await followOperation(stack.temporal.client, started.workflowId, () => undefined);
    const to = load.now();
    await load.acknowledgedAfter(to);
    await load.stop();
    const window = load.longestGap(from);
    windows.push(window);
    durations.push(to - from);
    // Every acknowledged row must be on every member afterwards.
    const ids = load.acknowledged();
    lost += await missingRows(stack, ids, []);
    console.log(`run ${run + 1}: write window ${window.toFixed(0)} ms, switchover ${(to - from).toFixed(0)} ms, ${ids.length} rows acknowledged`);
    console.log(`  ms after the request: ${await operationSteps(stack, 'switchover', requestedWall)}`);
  }
  report('switchover write window', ' ms', windows);
  report('switchover workflow duration', ' ms', durations);
  console.log(`acknowledged rows missing afterwards, all runs: ${lost}`);
  await runCleanups();
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
