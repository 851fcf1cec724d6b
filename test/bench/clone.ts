import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { followOperation, requestAddServer } from '../../client/operations';
import { sleep } from '../../client/local/ports';
import { waitForGtid } from '../../activities/wait-for-gtid';
import { getServerState } from '../../activities/server-state';
import { testAgents } from '../harness/agents';
import { atEnd, runCleanups } from '../harness/cleanup';
import { resetStack, startTestStack, TestStack } from '../harness/stack';
import { tempDir } from '../harness/tempdir';

/**
 * npm run bench:clone — how fast a new server gets a copy of a data set of
 * CLONE_BENCH_MB (default 1024) MB, on one machine: `server add --provision
 * clone` through the host agents (the whole operation, and its copy step,
 * receiveClone, read from the operation's history), `server add --provision
 * dump` into another new server, and the physical floor: a plain
 * `mariadb-backup --backup --stream=mbstream | mbstream -x` of the same
 * replica, then `mariadb-backup --prepare`. MB/s is the donor's copied size
 * (its datadir without binlogs and relay logs) over the seconds taken.
 * CLONE_BENCH_ACTIVITIES=1 also prints each operation's activities with
 * their scheduled → completed times.
 */
const TARGET_MB = Number(process.env.CLONE_BENCH_MB ?? 1024);
/** Rows of ~1 KB (a page holds ~15), 16 MB per transaction: replicated, in the binlogs, without one giant event group. */
const ROW_BYTES = 992;
const BATCH_ROWS = 16_384;
const MB = 1024 * 1024;

const seconds = (ms: number) => ms / 1000;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  const stack = await startTestStack(3, 'bench');
  stack.spec.agents = true;
  stack.spec.policies = { failover: 'off', healthIntervalSeconds: 3600 };
  await stack.temporal.runWorker();
  const agents = testAgents(stack.cluster, stack.temporal.address);
  for (const i of stack.cluster.servers.keys()) await agents.start(i);
  await resetStack(stack);
  const { cluster } = stack;
  const donor = 1;

  // The data set, on the primary, replicated to both replicas.
  const loadStart = Date.now();
  await cluster.sql(0, 'CREATE TABLE app.bench (id BIGINT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(1024) CHARACTER SET ascii NOT NULL) ENGINE=InnoDB');
  const wanted = Math.ceil((TARGET_MB * MB) / (ROW_BYTES + 30));
  const batchRows = Math.min(BATCH_ROWS, wanted);
  const batches = Math.ceil(wanted / batchRows);
  for (let b = 0; b < batches; b++) {
    await cluster.sql(0, `INSERT INTO app.bench (pad) SELECT REPEAT(MD5(seq + ${b * batchRows}), ${ROW_BYTES / 32}) FROM app.seq_1_to_${batchRows}`);
    if ((b + 1) % 8 === 0 || b + 1 === batches) process.stdout.write(`\rloading: ${b + 1}/${batches} batches of ${batchRows} rows, ${fmt(seconds(Date.now() - loadStart))} s`);
  }
  process.stdout.write('\n');
  const primaryLoaded = Date.now() - loadStart;
  await waitForReplicas(stack);
  const loaded = Date.now() - loadStart;
  const rows = Number((await cluster.sql(0, 'SELECT COUNT(*) AS n FROM app.bench'))[0].n);
  const donorDir = path.join(cluster.servers[donor].dir, 'data');
  const copied = copiedBytes(donorDir);
  const dataMb = copied / MB;
  console.log(`data set: ${rows} rows in app.bench; loaded on the primary in ${fmt(seconds(primaryLoaded))} s, on both replicas after ${fmt(seconds(loaded))} s ` +
    `(${fmt(TARGET_MB / seconds(loaded))} MB/s of rows)`);
  console.log(`datadir of the donor ${cluster.addresses[donor]}: ${fmt(dataMb)} MB copied by a clone, ${fmt(totalBytes(donorDir) / MB)} MB with its binlogs and relay logs; ` +
    `app/bench.ibd ${fmt(fs.statSync(path.join(donorDir, 'app', 'bench.ibd')).size / MB)} MB`);

  // (3) The physical floor first, on the same replica: what mariadb-backup and mbstream alone take.
  const floorDir = tempDir('clone-floor');
  atEnd(async () => fs.rmSync(floorDir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(floorDir, 'copy'));
  const socket = cluster.servers[donor].socket;
  const backupStart = Date.now();
  await sh(`mariadb-backup --backup --stream=mbstream --socket=${socket} --user=root --datadir=${donorDir} --target-dir=${floorDir}/scratch ` +
    `2>${floorDir}/backup.log | mbstream -x -C ${floorDir}/copy`, `${floorDir}/backup.log`);
  const floorBackup = Date.now() - backupStart;
  const prepareStart = Date.now();
  await sh(`mariadb-backup --prepare --target-dir=${floorDir}/copy 2>${floorDir}/prepare.log`, `${floorDir}/prepare.log`);
  const floorPrepare = Date.now() - prepareStart;
  console.log(`physical floor: backup | mbstream -x ${fmt(seconds(floorBackup))} s, prepare ${fmt(seconds(floorPrepare))} s`);
  fs.rmSync(floorDir, { recursive: true, force: true });

  // (1) server add --provision clone, through the agents.
  const cloned = await cluster.addServer();
  await agents.start(cloned);
  const clone = await addServer(stack, cloned, 'clone', cluster.addresses[donor]);
  cluster.adoptPids();
  const copy = activityTimes(clone.history, 'receiveClone');
  const prepare = activityTimes(clone.history, 'prepareClone');
  const install = activityTimes(clone.history, 'installClone');
  console.log(`  the copy: ${fmt(Number(copy.result.bytes) / MB)} MB streamed (mbstream bytes, the agent's count) in ${fmt(seconds(copy.ms), 2)} s`);

  // (2) server add --provision dump, into another new server, from the same donor.
  const dumped = await cluster.addServer();
  await agents.start(dumped);
  const dump = await addServer(stack, dumped, 'dump', cluster.addresses[donor]);
  const load = activityTimes(dump.history, 'provision');

  const count = async (i: number) => Number((await cluster.sql(i, 'SELECT COUNT(*) AS n FROM app.bench'))[0].n);
  for (const i of [cloned, dumped]) {
    const n = await count(i);
    if (n !== rows) throw new Error(`${cluster.addresses[i]} has ${n} rows of app.bench, the primary ${rows}`);
  }

  const table: [string, number, string][] = [
    ['physical floor: backup --stream | mbstream -x', floorBackup, ''],
    ['physical floor: prepare', floorPrepare, ''],
    ['physical floor: both', floorBackup + floorPrepare, ''],
    ['clone: receiveClone (the copy)', copy.ms, attempts(copy)],
    ['clone: prepareClone', prepare.ms, attempts(prepare)],
    ['clone: installClone (swap, restart)', install.ms, attempts(install)],
    ['clone: whole server add', clone.ms, ''],
    ['dump: provision (dump | load)', load.ms, attempts(load)],
    ['dump: whole server add', dump.ms, ''],
  ];
  console.log(`\ndata set ${fmt(dataMb)} MB (the donor's datadir without binlogs), ${rows} rows; MB/s = ${fmt(dataMb)} MB / seconds`);
  console.log(`${'measure'.padEnd(48)} ${'seconds'.padStart(9)} ${'MB/s'.padStart(8)}`);
  for (const [name, ms, note] of table) console.log(`${name.padEnd(48)} ${fmt(seconds(ms), 2).padStart(9)} ${fmt(dataMb / seconds(ms)).padStart(8)}${note && `  (${note})`}`);
  console.log(`clone vs dump (whole server add): ${fmt(dump.ms / clone.ms, 2)}x; clone copy vs the floor's copy: ${fmt(floorBackup / copy.ms, 2)} of its speed; ` +
    `clone copy+prepare vs the floor's: ${fmt((floorBackup + floorPrepare) / (copy.ms + prepare.ms), 2)}`);
  await runCleanups();
}

/** server add through the conductor, each step printed with the seconds since the request; the operation's history for its activities. */
async function addServer(stack: TestStack, i: number, provision: 'clone' | 'dump', donor: string) {
  const address = stack.cluster.addresses[i];
  console.log(`\nserver add ${address} --provision ${provision} --donor ${donor}`);
  const start = Date.now();
  const started = await requestAddServer(stack.temporal.client, stack.name, { address, provision, donor, status: 'SECONDARY', penalty: 0 });
  const result = await followOperation(stack.temporal.client, started.workflowId, (line) => console.log(`  ${fmt(seconds(Date.now() - start)).padStart(7)} s  ${line}`));
  const ms = Date.now() - start;
  console.log(`  ${fmt(seconds(ms)).padStart(7)} s  ${result.summary}`);
  const history = await stack.temporal.client.workflow.getHandle(started.workflowId).fetchHistory();
  if (process.env.CLONE_BENCH_ACTIVITIES) for (const line of activityLines(history)) console.log(`    ${line}`);
  return { ms, history };
}

type History = Awaited<ReturnType<ReturnType<TestStack['temporal']['client']['workflow']['getHandle']>['fetchHistory']>>;

/** Scheduled → completed of the activity of that type in the history (every attempt included), and its last attempt's number. */
function activityTimes(history: History, type: string): { ms: number; attempt: number; result: Record<string, unknown> } {
  const events = history.events ?? [];
  const time = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type);
  if (!scheduled) throw new Error(`no ${type} activity in the operation's history`);
  const id = Number(scheduled.eventId);
  const startedEvent = events.find((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) === id);
  const completed = events.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? -1) === id);
  if (!completed) throw new Error(`the ${type} activity did not complete`);
  const payload = completed.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data;
  const result = payload ? (JSON.parse(Buffer.from(payload).toString()) as Record<string, unknown>) : {};
  return { ms: time(completed) - time(scheduled), attempt: startedEvent?.activityTaskStartedEventAttributes?.attempt ?? 1, result };
}

/** Every activity of the operation in order: type, scheduled → completed, attempts (CLONE_BENCH_ACTIVITIES=1 prints them). */
function activityLines(history: History): string[] {
  const events = history.events ?? [];
  const time = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
  const first = events.length ? time(events[0]) : 0;
  return events.filter((e) => e.activityTaskScheduledEventAttributes).map((scheduled) => {
    const id = Number(scheduled.eventId);
    const ended = events.find((e) => [e.activityTaskCompletedEventAttributes, e.activityTaskFailedEventAttributes, e.activityTaskTimedOutEventAttributes]
      .some((a) => a && Number(a.scheduledEventId) === id));
    const startedEvent = events.find((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) === id);
    const attempt = startedEvent?.activityTaskStartedEventAttributes?.attempt ?? 1;
    const name = scheduled.activityTaskScheduledEventAttributes!.activityType?.name ?? '?';
    return `${fmt(seconds(time(scheduled) - first), 2).padStart(7)} s  ${name.padEnd(22)} ${ended ? `${fmt(seconds(time(ended) - time(scheduled)), 2)} s` : 'not ended'}${attempt > 1 ? `, ${attempt} attempts` : ''}`;
  });
}

const attempts = ({ attempt }: { attempt: number }) => (attempt > 1 ? `${attempt} attempts` : '');

/** Every replica has applied what the primary executed (a 1 GB load takes them a while: no 20 s limit). */
async function waitForReplicas(stack: TestStack): Promise<void> {
  const { cluster } = stack;
  const { executed } = await getServerState({ address: cluster.addresses[0], access: cluster.access });
  for (const address of cluster.addresses.slice(1)) {
    for (;;) {
      const reached = await waitForGtid({ address, access: cluster.access, gtid: executed, timeoutSeconds: 30 });
      if (reached.reached) break;
      await sleep(100);
    }
  }
}

/** Runs a shell pipeline; its failure carries the tail of the log it wrote to. */
function sh(command: string, log: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', ['-o', 'pipefail', '-c', command], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
      reject(new Error(`${command} exited ${code}: ${tail}`));
    });
  });
}

/** What a physical copy takes, as the agent counts it: everything but binlogs and relay logs. */
function copiedBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) total += copiedBytes(file);
    else if (entry.isFile() && !/^(binlog|relay-bin|.*-bin)\.(\d+|index)$/.test(entry.name)) total += fs.statSync(file).size;
  }
  return total;
}

function totalBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    total += entry.isDirectory() ? totalBytes(file) : entry.isFile() ? fs.statSync(file).size : 0;
  }
  return total;
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
