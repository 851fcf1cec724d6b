import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { sleep } from '../../client/local/ports';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import { gtidflow, upNewSandbox, type CliResult } from '../harness/cli';
import { asRoot } from '../harness/hold';
import { sandboxCommands } from '../harness/sandbox';
import { tempDir } from '../harness/tempdir';
import { WriterLoad, type Write } from '../harness/writer';

/**
 * npm run bench:shard-move — a database shard moved back and forth between
 * the two clusters of `sandbox up --clusters 2` (a sandbox of its own in a
 * temp GTIDFLOW_HOME, down and removed at the end), through the real CLI
 * (`gtidflow shard move bench --to … --cleanup`), under a light write load
 * through the shard's own endpoint. For each move: the CLI's wall time and
 * its split (check, copy, catch-up, hold, frozen, cleanup) read from the
 * move's workflow history; the write-freeze window the client saw (the
 * longest gap between two acknowledged writes around the cut-over) and its
 * failed attempts; the window the move recorded ("writes frozen N ms").
 * After each move every acknowledged id must be on the destination's
 * primary once (exit 1 if one is lost).
 *
 * SHARD_MOVE_ROWS (100000) rows of ~100 bytes in appbench.items, made by
 * INSERT … SELECT doubling as the app account on the primary;
 * SHARD_MOVE_PAUSE_MS (20) between two writes of the load (~50 writes/s);
 * SHARD_MOVE_RUNS (5) moves, sandbox → sandbox-2, then back, and so on;
 * SHARD_MOVE_ONEWAY=1: each move a new shard (appbench1, appbench2, …)
 * from sandbox to sandbox-2 instead; SHARD_MOVE_TIMEOUT_S (600) for one
 * move, which is also cancelled when its catch-up connection stays stopped
 * on an error for 30 s; SHARD_MOVE_VERBOSE=1 prints each move's CLI output.
 */
const ROWS = Number(process.env.SHARD_MOVE_ROWS ?? 100_000);
const PAUSE_MS = Number(process.env.SHARD_MOVE_PAUSE_MS ?? 20);
const RUNS = Number(process.env.SHARD_MOVE_RUNS ?? 5);
const ONEWAY = Boolean(process.env.SHARD_MOVE_ONEWAY);
const VERBOSE = Boolean(process.env.SHARD_MOVE_VERBOSE);
/** A move running longer is stopped (shard cancel) and the bench fails; so is one whose catch-up connection stays broken for STUCK_MS. */
const TIMEOUT_MS = Number(process.env.SHARD_MOVE_TIMEOUT_S ?? 600) * 1000;
const STUCK_MS = 30_000;
/** The target for the write-freeze window a client sees. */
const TARGET_MS = 1000;
/** id 4 + server_id 4 + pad 92 bytes. */
const PAD = 92;
const CLUSTERS = ['sandbox', 'sandbox-2'] as const;
const CLI = path.join(__dirname, '..', '..', 'client', 'gtidflow.js');

const home = tempDir('bench-shard-move');
const env = { GTIDFLOW_HOME: home, TEMPORAL_ADDRESS: '' };
let endpoints: SandboxEndpoints;

const fmtS = (ms: number) => (ms / 1000).toFixed(2);
const fmtMs = (ms: number) => ms.toFixed(0);

const { json, primaryPort, serverPorts, appConnection } = sandboxCommands(env, () => endpoints);

/** The shard moved, its database and table, and its own endpoint. */
interface Subject {
  shard: string;
  database: string;
  table: string;
  endpoint: { host: string; port: number };
}

/** One move's figures. */
interface MoveFigures {
  from: string;
  to: string;
  wallMs: number;
  clientWindowMs: number;
  longestGapMs: number;
  failed: number;
  recordedMs?: number;
  lost: number;
  duplicated: number;
  unknown: number;
}

async function main(): Promise<void> {
  const load1 = os.loadavg()[0];
  console.log(`bench:shard-move: ${RUNS} moves of a database shard (${ROWS} rows of ~${PAD + 8} bytes) ` +
    (ONEWAY ? `from sandbox to sandbox-2, a new shard each time (SHARD_MOVE_ONEWAY)` : `back and forth between ${CLUSTERS.join(' and ')}`) +
    `, each with --cleanup, under one client writing through the shard endpoint with a ${PAUSE_MS} ms pause between writes`);
  console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the start; sandbox in ${home}`);

  const upStart = Date.now();
  endpoints = await upNewSandbox(env, 3, ['--clusters', '2']);
  console.log(`sandbox up --clusters 2: ${fmtS(Date.now() - upStart)} s`);

  const connection = await Connection.connect({ address: endpoints.temporal.address });
  const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE || 'default' });
  let subject!: Subject;
  let acknowledged = new Set<number>();
  let attempted = new Set<number>();
  let nextId = ROWS + 1;
  const figures: MoveFigures[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      if (i === 0 || ONEWAY) {
        subject = await addShard(ONEWAY ? `bench${i + 1}` : 'bench', ONEWAY ? `appbench${i + 1}` : 'appbench');
        [acknowledged, attempted, nextId] = [new Set(), new Set(), ROWS + 1];
      }
      const { shard, table, endpoint } = subject;
      const from = ONEWAY ? CLUSTERS[0] : CLUSTERS[i % 2];
      const to = ONEWAY ? CLUSTERS[1] : CLUSTERS[(i + 1) % 2];
      const load = new WriterLoad(() => appConnection(endpoint.port, subject.database), nextId, { table, pauseMs: PAUSE_MS, queryTimeoutMs: 30_000 });
      await load.acknowledgedCount(25);
      const epochOf = (t: number) => performance.timeOrigin + load.t0 + t;
      const t0 = load.now();
      const moved = await watchedMove(shard, to).catch(async (err: Error) => {
        await load.stop();
        throw err;
      });
      const t1 = load.now();
      // Writes on the destination for a second more: the window around the cut-over is closed by an acknowledged write.
      await load.acknowledgedAfter(t1);
      await sleep(1000);
      await load.stop();
      nextId = Math.max(...load.writes.map((w) => w.id)) + 1;
      for (const w of load.writes) (w.ok ? acknowledged : attempted).add(w.id);
      if (VERBOSE || moved.code !== 0) console.log(moved.stdout + moved.stderr);
      if (moved.code !== 0) throw new Error(`move ${i + 1} (${from} → ${to}) exited ${moved.code}: ${moved.stderr.trim()}`);

      const workflowId = /started: (\S+)/.exec(moved.stdout)?.[1];
      const recorded = /writes frozen (\d+) ms/.exec(moved.stdout);
      const copied = /copied (\d+) bytes/.exec(moved.stdout);
      const history = workflowId ? await client.workflow.getHandle(workflowId).fetchHistory() : undefined;
      const split = history ? moveSplit(history) : undefined;

      // The client's view: the longest gap between two acknowledged writes that overlaps the cut-over (from the history), and the whole move's.
      const during = load.writes.filter((w) => w.end >= t0 && w.start <= t1);
      const cut = split ? { from: split.frozenFrom - epochOf(0), to: split.frozenTo - epochOf(0) } : { from: t0, to: t1 };
      const around = gapAround(load.writes, cut.from, cut.to);
      const longestGap = load.longestGap(t0);
      const failedDuring = during.filter((w) => !w.ok);

      // Every acknowledged id (every move's of this shard so far) on the destination's primary, once; the bulk rows all there.
      const dstPort = await primaryPort(to);
      const check = await asRoot(dstPort, async (c) => {
        const [loadRows] = await c.query(`SELECT id, server_id, COUNT(*) AS n FROM ${table} WHERE id > ? GROUP BY id, server_id`, [ROWS]);
        const [bulk] = await c.query(`SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM ${table} WHERE id <= ?`, [ROWS]);
        return { rows: loadRows as { id: number; server_id: number; n: number }[], bulk: (bulk as { n: number; d: number }[])[0] };
      });
      const count = new Map<number, number>();
      for (const r of check.rows) count.set(Number(r.id), (count.get(Number(r.id)) ?? 0) + Number(r.n));
      const lost = [...acknowledged].filter((id) => !count.has(id));
      const duplicated = [...count].filter(([, n]) => n > 1).map(([id]) => id);
      const unknown = [...count.keys()].filter((id) => !acknowledged.has(id) && !attempted.has(id));
      const bulkOk = Number(check.bulk.n) === ROWS && Number(check.bulk.d) === ROWS;
      const dstIds = new Set(await Promise.all(serverPorts(to).map((p) => asRoot(p, async (c) => Number(((await c.query('SELECT @@server_id AS s'))[0] as { s: number }[])[0].s)))));
      const byId = new Map(check.rows.map((r) => [Number(r.id), Number(r.server_id)]));
      const acked = load.writes.filter((w) => w.ok);
      const onDst = acked.filter((w) => dstIds.has(byId.get(w.id) ?? -1)).length;

      const f: MoveFigures = {
        from, to, wallMs: moved.ms, clientWindowMs: around.ms, longestGapMs: longestGap, failed: failedDuring.length,
        recordedMs: recorded ? Number(recorded[1]) : undefined, lost: lost.length, duplicated: duplicated.length, unknown: unknown.length,
      };
      figures.push(f);
      console.log(`\nmove ${i + 1}: shard ${shard} ${from} → ${to} (${workflowId ?? 'workflow id not printed'})`);
      console.log(`  whole move: ${fmtS(moved.ms)} s (the CLI's wall time)` + (split
        ? `; workflow ${fmtS(split.totalMs)} s = check ${fmtS(split.checkMs)} + copy ${fmtS(split.copyMs)} + catch-up ${fmtS(split.catchUpMs)} + hold ${fmtS(split.holdMs)} ` +
          `+ frozen ${fmtS(split.frozenMs)} + release/cleanup/end ${fmtS(split.afterMs)} s${split.cutOvers > 1 ? ` (${split.cutOvers} cut-over attempts)` : ''}; CLI start/follow ${fmtS(moved.ms - split.totalMs)} s`
        : '') + (copied ? `; the copy: ${(Number(copied[1]) / 1024 / 1024).toFixed(1)} MB of dump` : ''));
      if (split) console.log(`  frozen (freezeWrites scheduled → destination thawed, from the history): ${split.frozenParts.map(([n, ms]) => `${n} ${fmtMs(ms)}`).join(', ')} ms`);
      console.log(`  client: write-freeze window ${fmtMs(around.ms)} ms (longest gap between two acknowledged writes around the cut-over: ` +
        `last before at ${fmtS(around.lastBefore - t0)} s, first after at ${fmtS(around.firstAfter - t0)} s into the move); longest gap in the whole move ${fmtMs(longestGap)} ms; ` +
        `${during.filter((w) => w.ok).length} writes acknowledged during the move (${onDst} of this load's ${acked.length} committed on ${to}), ${failedDuring.length} failed` +
        (failedDuring.length ? `: ${errorKinds(failedDuring)}` : ''));
      console.log(`  recorded by the move: ${recorded ? `writes frozen ${recorded[1]} ms` : 'no "writes frozen" in its summary'}` +
        (recorded && around.ms > Number(recorded[1]) ? `; the client saw ${fmtMs(around.ms - Number(recorded[1]))} ms more` : ''));
      console.log(`  check on ${to}'s primary 127.0.0.1:${dstPort}: ${acknowledged.size} acknowledged ids so far, ${lost.length} missing, ${duplicated.length} duplicated, ` +
        `${unknown.length} that no client attempted; bulk rows ${Number(check.bulk.n)}/${ROWS}${bulkOk ? '' : ' WRONG'}`);
      if (lost.length) console.log(`  LOST: ${lost.slice(0, 20).join(', ')}${lost.length > 20 ? ', …' : ''}`);
      if (duplicated.length) console.log(`  DUPLICATED: ${duplicated.slice(0, 20).join(', ')}`);
      if (!bulkOk) throw new Error(`the destination holds ${check.bulk.n} bulk rows (${check.bulk.d} distinct), not ${ROWS}`);
    }
  } finally {
    await connection.close();
  }

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const windows = figures.map((f) => f.clientWindowMs);
  const walls = figures.map((f) => f.wallMs);
  const recorded = figures.flatMap((f) => (f.recordedMs === undefined ? [] : [f.recordedMs]));
  const lost = figures.reduce((n, f) => Math.max(n, f.lost), 0);
  const duplicated = figures.reduce((n, f) => Math.max(n, f.duplicated), 0);
  const unknown = figures.reduce((n, f) => Math.max(n, f.unknown), 0);
  console.log(`\nsummary over ${figures.length} moves (${ROWS} rows of ~${PAD + 8} bytes, ${ONEWAY ? 'sandbox → sandbox-2, a new shard each' : 'back and forth'}, ` +
    `one writer through the shard endpoint with a ${PAUSE_MS} ms pause, a new connection 5 ms after each error; ` +
    `${os.cpus().length} cores shared with other test runs, load average ${load1.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end):`);
  console.log(`  client-seen write-freeze window: median ${fmtMs(median(windows))} ms, max ${fmtMs(Math.max(...windows))} ms (${windows.map(fmtMs).join(', ')})`);
  console.log(`  window recorded by the move:     median ${fmtMs(median(recorded))} ms, max ${fmtMs(Math.max(...recorded))} ms (${recorded.map(fmtMs).join(', ')})`);
  console.log(`  whole move (CLI wall time):      median ${fmtS(median(walls))} s, max ${fmtS(Math.max(...walls))} s (${walls.map(fmtS).join(', ')})`);
  console.log(`  failed write attempts per move: ${figures.map((f) => f.failed).join(', ')}`);
  console.log(`  acknowledged writes lost: ${lost}; duplicated: ${duplicated}; rows no client attempted: ${unknown}`);
  const verdict = (what: string, ms: number) => `${what} ${fmtMs(ms)} ms ${ms < TARGET_MS ? 'meets' : 'MISSES'} it`;
  console.log(`  target: a client-seen freeze window under ${TARGET_MS} ms: ${verdict('median', median(windows))}; ${verdict('max', Math.max(...windows))}`);
  if (figures.some((f) => f.lost > 0)) throw new LostWrites(`acknowledged writes were lost (${figures.map((f) => f.lost).join(', ')} missing after each move)`);
}

class LostWrites extends Error {}

/**
 * A database shard on sandbox: ROWS rows of ~100 bytes made by doubling
 * (INSERT … SELECT) as the application account on sandbox's primary, on
 * every server of sandbox, then `shard add`. The table has no unique key
 * on id, so a write applied twice would show as two rows.
 */
async function addShard(shard: string, database: string): Promise<Subject> {
  const table = `${database}.items`;
  const started = Date.now();
  const conn = await appConnection(await primaryPort('sandbox'));
  try {
    await conn.query(`CREATE DATABASE ${database}`);
    await conn.query(`CREATE TABLE ${table} (id INT NOT NULL, server_id INT NOT NULL, pad CHAR(${PAD}) NOT NULL DEFAULT (REPEAT('w', ${PAD})), KEY (id)) ENGINE=InnoDB`);
    await conn.query(`INSERT INTO ${table} (id, server_id, pad) VALUES (1, @@server_id, LEFT(REPEAT(MD5(1), 3), ${PAD}))`);
    for (let n = 1; n < ROWS; n *= 2) {
      await conn.query(`INSERT INTO ${table} (id, server_id, pad) SELECT id + ?, @@server_id, LEFT(REPEAT(MD5(id + ?), 3), ${PAD}) FROM ${table} WHERE id <= ?`, [n, n, Math.min(n, ROWS - n)]);
    }
  } finally {
    await conn.end();
  }
  for (const port of serverPorts('sandbox')) {
    for (let i = 0; ; i++) {
      const n = await asRoot(port, async (c) => {
        try {
          return Number(((await c.query(`SELECT COUNT(*) AS n FROM ${table}`))[0] as { n: number }[])[0].n);
        } catch {
          return 0;
        }
      });
      if (n === ROWS) break;
      if (i > 600) throw new Error(`127.0.0.1:${port} has ${n} of the ${ROWS} rows after 60 s`);
      await sleep(100);
    }
  }
  // Fresh statistics for the size (not binlogged: nothing of it replicates).
  const size = await asRoot(await primaryPort('sandbox'), async (c) => {
    await c.query(`ANALYZE NO_WRITE_TO_BINLOG TABLE ${table}`);
    return ((await c.query('SELECT DATA_LENGTH + INDEX_LENGTH AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [database, 'items']))[0] as { b: number }[])[0].b;
  });
  console.log(`\ndata: ${ROWS} rows in ${table} (${(Number(size) / 1024 / 1024).toFixed(1)} MB with its index), on every server of sandbox after ${fmtS(Date.now() - started)} s`);
  const { endpoint } = await json<{ endpoint: { host: string; port: number } }>('shard', 'add', shard, '--database', database, '--cluster', 'sandbox');
  console.log(`shard add ${shard} --database ${database} --cluster sandbox: endpoint ${endpoint.host}:${endpoint.port}`);
  return { shard, database, table, endpoint };
}

/**
 * `shard move <shard> --to <to> --cleanup`, timed. Meanwhile the catch-up
 * connection on the destination's primary is watched: broken for STUCK_MS
 * (its I/O thread stopped on an error), or the move past TIMEOUT_MS, and
 * the move is cancelled and the bench fails, saying why.
 */
async function watchedMove(shard: string, to: string): Promise<CliResult & { ms: number }> {
  const dstPort = await primaryPort(to);
  const channel = `gtidflow_shard_${shard}`;
  const move = timedCli(['shard', 'move', shard, '--to', to, '--cleanup']);
  let ended = false;
  void move.done.finally(() => (ended = true));
  const start = Date.now();
  let brokenSince: number | undefined;
  let problem: string | undefined;
  while (!ended && !problem) {
    await Promise.race([move.done, sleep(2000)]);
    if (ended) break;
    const status = await asRoot(dstPort, async (c) => ((await c.query(`SHOW SLAVE '${channel}' STATUS`))[0] as Record<string, unknown>[])[0]).catch(() => undefined);
    const broken = status && status.Slave_IO_Running === 'No' && Number(status.Last_IO_Errno) !== 0;
    brokenSince = broken ? (brokenSince ?? Date.now()) : undefined;
    if (brokenSince !== undefined && Date.now() - brokenSince >= STUCK_MS) {
      problem = `the catch-up connection ${channel} on ${to}'s primary 127.0.0.1:${dstPort} has been stopped for ${fmtS(Date.now() - brokenSince)} s ` +
        `(Gtid_IO_Pos ${String(status!.Gtid_IO_Pos)}): ${String(status!.Last_IO_Error)}`;
    } else if (Date.now() - start > TIMEOUT_MS) {
      problem = `the move ran past ${fmtS(TIMEOUT_MS)} s`;
    }
  }
  if (problem) {
    const list = await gtidflow(['shard', 'list'], env);
    console.log(`\nmove of ${shard} to ${to} stopped by the bench: ${problem}\nshard list:\n${list.stdout.trimEnd()}\nthe CLI printed:\n${move.stdout().trimEnd()}`);
    const cancel = await gtidflow(['shard', 'cancel', shard], env);
    console.log(`shard cancel ${shard}: ${(cancel.stdout + cancel.stderr).trim()}`);
    const end = await Promise.race([move.done, sleep(120_000).then(() => undefined)]);
    if (!end) move.kill();
    else console.log(`the move's CLI exited ${end.code}: ${end.stderr.trim()}`);
    throw new Error(`move of ${shard} to ${to}: ${problem}`);
  }
  return move.done;
}

/** The CLI command as an operator runs it, timed from its spawn to its exit. */
function timedCli(args: string[]): { done: Promise<CliResult & { ms: number }>; stdout(): string; kill(): void } {
  const start = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult & { ms: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - start }));
  });
  return { done, stdout: () => stdout, kill: () => child.kill('SIGKILL') };
}

/**
 * The longest gap between two consecutive acknowledged writes that
 * overlaps [from, to] (the cut-over): what the application saw of the freeze.
 */
function gapAround(writes: Write[], from: number, to: number): { ms: number; lastBefore: number; firstAfter: number } {
  const acked = writes.filter((w) => w.ok).map((w) => w.end).sort((a, b) => a - b);
  let best = { ms: 0, lastBefore: from, firstAfter: to };
  for (let i = 1; i < acked.length; i++) {
    if (acked[i] < from || acked[i - 1] > to) continue;
    const ms = acked[i] - acked[i - 1];
    if (ms > best.ms) best = { ms, lastBefore: acked[i - 1], firstAfter: acked[i] };
  }
  return best;
}

/** Failed attempts grouped by their error's first words. */
function errorKinds(writes: Write[]): string {
  const kinds = new Map<string, number>();
  for (const w of writes) {
    const kind = (w.error ?? '?').replace(/\d+/g, 'N').slice(0, 70);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds].map(([k, n]) => `${n}× "${k}"`).join('; ');
}

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;

interface MoveSplit {
  totalMs: number;
  checkMs: number;
  copyMs: number;
  catchUpMs: number;
  holdMs: number;
  frozenMs: number;
  afterMs: number;
  /** freezeWrites scheduled → the destination's thawWrites completed (epoch ms). */
  frozenFrom: number;
  frozenTo: number;
  frozenParts: [string, number][];
  cutOvers: number;
}

/**
 * The move's phases from its workflow history: check (start → copyShard
 * scheduled), copy (copyShard), catch-up (→ the last cut-over's holds
 * scheduled), hold (→ freezeWrites scheduled), frozen (→ the destination's
 * thawWrites completed), then release, cleanup and the end. The frozen part
 * is split by activity and the map's flip (signal sent → mapPublished).
 */
function moveSplit(history: History): MoveSplit {
  const events = history.events ?? [];
  const time = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
  const activities = events.filter((e) => e.activityTaskScheduledEventAttributes).map((s) => {
    const id = Number(s.eventId);
    const ended = events.find((e) => [e.activityTaskCompletedEventAttributes, e.activityTaskFailedEventAttributes, e.activityTaskTimedOutEventAttributes]
      .some((a) => a && Number(a.scheduledEventId) === id));
    return { name: s.activityTaskScheduledEventAttributes!.activityType?.name ?? '?', scheduled: time(s), ended: ended ? time(ended) : NaN };
  });
  const first = (name: string) => activities.find((a) => a.name === name);
  const lastIndex = (name: string) => activities.map((a) => a.name).lastIndexOf(name);
  const start = time(events[0]);
  const end = time(events[events.length - 1]);
  const copy = first('copyShard');
  const freezeAt = lastIndex('freezeWrites');
  if (!copy || freezeAt < 0) throw new Error('no copyShard or freezeWrites in the move\'s history');
  const freeze = activities[freezeAt];
  // The cut-over's two holds (one per cluster, asked at once) come just before its freeze.
  const holds = activities.slice(0, freezeAt).filter((a) => a.name === 'holdCluster').slice(-2);
  const holdStart = holds.length ? Math.min(...holds.map((a) => a.scheduled)) : freeze.scheduled;
  const cut = activities.slice(freezeAt);
  const thaw = cut.findIndex((a) => a.name === 'thawWrites');
  const frozenTo = thaw >= 0 ? cut[thaw].ended : freeze.ended;
  const frozenParts: [string, number][] = [];
  const part = (name: string, ms: number) => frozenParts.push([name, ms]);
  for (const a of cut.slice(0, thaw + 1)) {
    part(({ freezeWrites: 'freeze', getServerState: 'read source position', waitForGtid: 'destination reaches it', readCluster: 'read source conductor',
      removeShardChannel: 'stop channel', routeShard: 'route endpoint', thawWrites: 'thaw destination' } as Record<string, string>)[a.name] ?? a.name, a.ended - a.scheduled);
  }
  const flipSent = events.find((e) => time(e) >= freeze.scheduled && e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'flip');
  const published = events.find((e) => time(e) >= freeze.scheduled && e.workflowExecutionSignaledEventAttributes?.signalName === 'mapPublished');
  if (flipSent && published) part('flip map (signal → published)', time(published) - time(flipSent));
  const accounted = frozenParts.reduce((s, [, ms]) => s + ms, 0);
  part('workflow tasks between', frozenTo - freeze.scheduled - accounted);
  return {
    totalMs: end - start,
    checkMs: copy.scheduled - start,
    copyMs: copy.ended - copy.scheduled,
    catchUpMs: holdStart - copy.ended,
    holdMs: freeze.scheduled - holdStart,
    frozenMs: frozenTo - freeze.scheduled,
    afterMs: end - frozenTo,
    frozenFrom: freeze.scheduled,
    frozenTo,
    frozenParts,
    cutOvers: activities.filter((a) => a.name === 'freezeWrites').length,
  };
}

let cleaned: Promise<void> | undefined;
/** sandbox down and its directory removed, once, whatever happened. */
function cleanUp(): Promise<void> {
  cleaned ??= (async () => {
    const down = await gtidflow(['sandbox', 'down'], env).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
    if (down.code !== 0) console.error(`sandbox down: ${down.stderr.trim()}`);
    fs.rmSync(home, { recursive: true, force: true });
  })();
  return cleaned;
}
const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
for (const [sig, n] of Object.entries(SIGNALS)) process.on(sig, () => void cleanUp().finally(() => process.exit(128 + n)));

main().then(
  () => cleanUp().then(() => process.exit(0)),
  (err) => {
    console.error(err instanceof LostWrites ? `bench:shard-move: ${err.message}` : err);
    return cleanUp().then(() => process.exit(1));
  },
);
