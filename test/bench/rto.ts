import { sleep } from '../../client/local/ports';
import { runCleanups } from '../harness/cleanup';
import { conductorMemo, resetStack, startTestStack } from '../harness/stack';
import { operationSteps } from './steps';
import { missingRows, report, WriterLoad } from './writer-load';

/**
 * npm run bench:rto — automatic failover as an application sees it: a
 * client writes numbered rows through the writer endpoint (semi-sync on),
 * the primary is killed, nobody runs a command. Reports kill → first
 * accepted write, and how many acknowledged rows are missing afterwards
 * (must be 0). Default detection settings; 10 runs (BENCH_RUNS).
 * npm run bench:freeze — the same with the primary frozen (SIGSTOP): its
 * host keeps the connections open and silent, as a hung server's would.
 */
const FAULTS = { kill: { signal: 'SIGKILL', name: 'kill' }, freeze: { signal: 'SIGSTOP', name: 'freeze' } } as const;

async function main(fault: (typeof FAULTS)[keyof typeof FAULTS]): Promise<void> {
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
    const killedWall = Date.now();
    process.kill(stack.cluster.servers[0].pid, fault.signal);
    const first = await load.acknowledgedAfter(killedAt, 120_000);
    await load.stop();
    while ((await conductorMemo(stack)).viewId !== 2) await sleep(50);
    const steps = await operationSteps(stack, 'failover', killedWall);
    const acked = load.acknowledged();
    const lost = await missingRows(stack, acked, [0]);
    missing += lost;
    rto.push(first.end - killedAt);
    console.log(`run ${run + 1}: ${fault.name} to first accepted write ${(first.end - killedAt).toFixed(0)} ms, ${acked.length} rows acknowledged, ${lost} missing`);
    console.log(`  ms after the ${fault.name}: ${steps}`);
  }
  report(`RTO (${fault.name} to first accepted write)`, ' ms', rto);
  console.log(`acknowledged rows missing afterwards, all runs: ${missing}`);
  await runCleanups();
}

const fault = FAULTS[(process.argv[2] ?? 'kill') as keyof typeof FAULTS];
if (!fault) {
  console.error(`usage: rto.ts [${Object.keys(FAULTS).join('|')}]`);
  process.exit(2);
}
main(fault).then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
