import { randomInt } from 'node:crypto';
import { waitForGtid } from '../../activities/wait-for-gtid';
import { getServerState } from '../../activities/server-state';
import { WriterLoad } from '../harness/writer';
import { type Checksum, checkRound } from './checks';
import { FAULT_NAMES, FAULTS, type FaultName, type FaultResult } from './faults';
import { heal, type HealResult } from './heal';
import { ManagerPartition } from './partition';
import { seededRng, type Rng } from './random';
import { formatRound, formatSummary, summarize, type ChaosSummary, type RoundRecord } from './report';
import { ChaosSandbox } from './sandbox';

export interface ChaosOptions {
  rounds: number;
  seed: number;
  /** Faults to run in this order (cycled) instead of drawn at random. */
  faults?: FaultName[];
  log?: (line: string) => void;
}

/** Ids of round n are n × ROUND_IDS onwards: a late commit of one round never passes for another's. */
const ROUND_IDS = 1_000_000;

/** The application's table, made on the recorded primary as root (it replicates), each row with the server that committed it. */
async function createTable(sandbox: ChaosSandbox): Promise<void> {
  const { primary } = await sandbox.status();
  await sandbox.root(primary, 'CREATE TABLE IF NOT EXISTS app.writes (id INT PRIMARY KEY, server_id INT NOT NULL)');
  const { executed } = await getServerState({ address: primary, access: sandbox.access });
  for (const address of sandbox.servers.filter((a) => a !== primary)) {
    await waitForGtid({ address, access: sandbox.access, gtid: executed, timeoutSeconds: 30 });
  }
}

async function runRound(sandbox: ChaosSandbox, partition: ManagerPartition, rng: Rng, round: number, fault: FaultName, previous?: Checksum):
Promise<{ record: RoundRecord; checksum?: Checksum }> {
  const started = Date.now();
  const problems: string[] = [];
  const before = await sandbox.status();
  const from = round * ROUND_IDS;
  // An insert may wait 30 s, longer than the semi-sync timeout (10 s) and any SIGSTOP: an OK a thawed old primary sends late still reaches the client.
  const load = new WriterLoad(() => sandbox.appConnection(), from, { retryPauseMs: 50, queryTimeoutMs: 30_000 });
  let result: FaultResult;
  let healed: HealResult;
  try {
    await load.acknowledgedCount(20, 60_000).catch((err: Error) => problems.push(`before the fault: ${err.message}`));
    try {
      result = await FAULTS[fault]({ sandbox, partition, rng, primary: before.primary, viewId: before.viewId, now: () => load.now() });
    } catch (err) {
      result = { at: load.now(), detail: 'the fault failed' };
      problems.push(`fault ${fault}: ${(err as Error).message}`);
    }
    problems.push(...(result.problems ?? []));
    await partition.end();
    healed = await heal(sandbox, result.pending);
    problems.push(...healed.problems);
    await load.acknowledgedAfter(load.now(), 30_000).catch((err: Error) => problems.push(`after the heal: ${err.message}`));
  } finally {
    await load.stop();
  }

  const views = (await sandbox.history()).filter((v) => v.viewId > before.viewId);
  const check = await checkRound({ sandbox, writes: load.writes, from, to: from + ROUND_IDS, primaries: [before.primary, ...views.map((v) => v.primary)], previous });
  problems.push(...check.problems);
  // The longest wait for an acknowledged write from the fault on: for a killed primary, the time to the first accepted write.
  const resumed = load.writes.some((w) => w.ok && w.end >= result.at);
  return {
    checksum: check.checksum,
    record: {
      round, fault, detail: result.detail + (healed.rejoined.length ? `; rejoined ${healed.rejoined.join(', ')}` : ''),
      failovers: views.filter((v) => v.operation.startsWith('failover')).length,
      acknowledged: load.acknowledged().length, lost: check.lost, divergent: healed.divergent, splitBrain: check.splitBrain,
      firstWriteMs: resumed ? load.longestGap(result.at) : null, converged: check.converged, problems,
      seconds: (Date.now() - started) / 1000,
    },
  };
}

/**
 * The fault schedule: `rounds` rounds on a sandbox of its own, each one
 * fault drawn from the seed (or taken from `faults`), healed by operator
 * commands, then checked (checks.ts). The sandbox is removed when every
 * check passed, kept for a look otherwise.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosSummary> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const rng = seededRng(opts.seed);
  const sandbox = new ChaosSandbox();
  const partition = new ManagerPartition(sandbox);
  log(`chaos: seed ${opts.seed}, ${opts.rounds} rounds, sandbox in ${sandbox.home} (GTIDFLOW_HOME=${sandbox.home} npx gtidflow sandbox down stops it)`);
  const records: RoundRecord[] = [];
  try {
    await sandbox.up();
    await sandbox.readServerIds();
    await createTable(sandbox);
    let checksum: Checksum | undefined;
    for (let round = 1; round <= opts.rounds; round++) {
      const fault = opts.faults ? opts.faults[(round - 1) % opts.faults.length] : rng.pick(FAULT_NAMES);
      const started = Date.now();
      const done = await runRound(sandbox, partition, rng, round, fault, checksum).catch(async (err: Error) => {
        // The harness itself failed (a command that did not answer): the round fails, the next one starts healed.
        await partition.end().catch(() => undefined);
        const healed = await heal(sandbox).catch((e: Error) => ({ problems: [`heal: ${e.message}`] }));
        const record: RoundRecord = {
          round, fault, detail: 'round aborted', failovers: 0, acknowledged: 0, lost: 0, divergent: [], splitBrain: 0,
          firstWriteMs: null, converged: false, problems: [`round aborted: ${err.stack ?? err.message}`, ...healed.problems], seconds: (Date.now() - started) / 1000,
        };
        return { record, checksum: undefined };
      });
      checksum = done.checksum ?? checksum;
      records.push(done.record);
      log(formatRound(done.record));
    }
  } finally {
    await partition.close();
    const ok = records.length === opts.rounds && summarize(opts.seed, records).ok;
    await sandbox.down(ok);
    if (!ok) log(`sandbox kept in ${sandbox.home} (logs: *.log, servers/s*/error.log)`);
  }
  return summarize(opts.seed, records);
}

if (require.main === module) {
  const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : randomInt(2 ** 31);
  const rounds = Number(process.env.CHAOS_ROUNDS ?? 50);
  const faults = process.env.CHAOS_FAULTS ? (process.env.CHAOS_FAULTS.split(',') as FaultName[]) : undefined;
  const unknown = faults?.filter((f) => !FAULT_NAMES.includes(f));
  if (unknown?.length) {
    console.error(`unknown fault ${unknown.join(', ')}: one of ${FAULT_NAMES.join(', ')}`);
    process.exit(2);
  }
  runChaos({ rounds, seed, faults }).then((summary) => {
    console.log(formatSummary(summary));
    process.exit(summary.ok ? 0 : 1);
  }, (err) => {
    console.error(err);
    process.exit(1);
  });
}
