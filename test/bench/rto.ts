import { sleep } from '../../client/local/ports';
import { runCleanups } from '../harness/cleanup';
import { conductorMemo, resetStack, startTestStack } from '../harness/stack';
import { missingRows, report, WriterLoad } from './writer-load';

/**
 * npm run bench:rto — automatic failover as an application sees it: a
 * client writes numbered rows through the writer endpoint (semi-sync on),
 * the primary is killed, nobody runs a command. Reports kill → first
 * accepted write, and how many acknowledged rows are missing afterwards
 * (must be 0). Default detection settings; 10 runs (BENCH_RUNS).
 */
async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 10);
  const stack = await startTestStack(3, 'bench');
  await stack.temporal.runWorker();
  const rto: number[] = [];
  let missing = 0;
  for (let run = 0; run < runs; run++) {
    await resetStack(stack);
    const load = new WriterLoad(stack, 1);
    await sleep(1_500);
    const killedAt = load.now();
    process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
    const first = await load.acknowledgedAfter(killedAt, 120_000);
    await load.stop();
    while ((await conductorMemo(stack)).viewId !== 2) await sleep(50);
    const acked = load.acknowledged();
    const lost = await missingRows(stack, acked, [0]);
    missing += lost;
    rto.push(first.end - killedAt);
    console.log(`run ${run + 1}: kill to first accepted write ${(first.end - killedAt).toFixed(0)} ms, ${acked.length} rows acknowledged, ${lost} missing`);
  }
  report('RTO (kill to first accepted write)', ' ms', rto);
  console.log(`acknowledged rows missing afterwards, all runs: ${missing}`);
  await runCleanups();
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
