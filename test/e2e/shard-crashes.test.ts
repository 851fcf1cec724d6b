import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, afterEach, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { connectClient } from '../../client/connect';
import { sleep } from '../../client/local/ports';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import type { SandboxProcess } from '../../client/sandbox/status';
import type { ShardLocation } from '../../client/shards';
import type { ClusterStatus } from '../../client/status';
import { gtidflow, operatorOperation, upNewSandbox } from '../harness/cli';
import { asRoot, lockTableOn } from '../harness/hold';
import { sandboxCommands, testSandbox } from '../harness/sandbox';
import { WriterLoad } from '../harness/writer';

/**
 * Shard moves through crashes, on `sandbox up --clusters 2` driven through
 * the CLI and the sandbox's own processes, as an operator's machine would
 * crash: the worker killed (SIGKILL) after each step of a move in turn, the
 * Temporal dev server killed mid-copy, the source cluster's primary killed
 * during the catch-up. Each move runs under light writes through the shard's
 * own endpoint, and must end as a clean one does: completed, every
 * acknowledged write on the destination's primary once, the map and the
 * endpoint on the destination, the source's copy frozen, no replication
 * connection of the move left anywhere, both conductors idle and whole.
 * Every shard starts on sandbox and moves to sandbox-2 (a fresh shard per
 * case); the last test moves the first one back, which must carry every row
 * both moves saw. The tests run in order, each from where the previous left.
 */
const sandbox = testSandbox('shard-crashes');
const { env } = sandbox;
let endpoints: SandboxEndpoints;
let client: Client;

const SOURCE = 'sandbox';
const DESTINATION = 'sandbox-2';
const CLUSTERS = [SOURCE, DESTINATION];
/** Ids of the writes of case n start at n × RUN_IDS: above every seeded row, and no late commit of one case passes for another's. */
const RUN_IDS = 1_000_000;
let runs = 0;

const { run, json, primaryPort, serverPorts, appConnection } = sandboxCommands(env, () => endpoints);
const clusterStatus = (cluster: string) => json<ClusterStatus>('status', cluster);
const portOf = (address: string) => Number(address.split(':')[1]);
const processes = () => json<SandboxProcess[]>('sandbox', 'status');

/** `sandbox up --json` again (what brings back a killed process) and a client to the Temporal it names: after a restart it may serve on other ports. */
async function sandboxUp(): Promise<void> {
  endpoints = await sandbox.up();
  await client?.connection.close().catch(() => undefined);
  client = await connectClient({ address: endpoints.temporal.address, namespace: 'default' });
}

/** The sandbox's running process of that role (and address), from `sandbox status --json`. */
async function sandboxProcess(role: SandboxProcess['role'], address?: string): Promise<SandboxProcess & { pid: number }> {
  const found = (await processes()).find((p) => p.role === role && (address === undefined || p.address === address));
  assert.ok(found?.running && found.pid, `no running ${role} ${address ?? ''} in sandbox status`);
  return found as SandboxProcess & { pid: number };
}

/**
 * SIGKILLs a process and waits until it is gone. The pid is read before
 * (sandbox status is a CLI run, a second or so): the kill then lands within
 * milliseconds of the moment the test chose.
 */
async function kill(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  for (let i = 0; isAlive(pid); i++) {
    assert.ok(i < 100, `${pid} still alive 10 s after SIGKILL`);
    await sleep(100);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (its parent has not reaped it yet) is dead too.
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

interface TestShard {
  name: string;
  database: string;
  /** <database>.writes */
  table: string;
  endpoint: { host: string; port: number };
  /** Seeded ids 1…rows. */
  rows: number;
  /** The ids an earlier move of the shard left on its destination: a move back must carry them all. */
  earlier: Set<number>;
}

/** A database shard on SOURCE: database app<name>, table writes (id, server_id) seeded with ids 1…rows, added to the map with its own endpoint. */
async function newShard(name: string, rows: number): Promise<TestShard> {
  const database = `app${name}`;
  const conn = await appConnection(await primaryPort(SOURCE));
  await conn.query(`CREATE DATABASE ${database}`);
  await conn.query(`CREATE TABLE ${database}.writes (id INT PRIMARY KEY, server_id INT NOT NULL)`);
  // The sequence engine's table, named in the shard's database: the rows come in one statement (a few hundred, or 200k).
  await conn.query(`INSERT INTO ${database}.writes SELECT seq, @@server_id FROM ${database}.seq_1_to_${rows}`);
  await conn.end();
  const added = await json<{ endpoint: { host: string; port: number } }>('shard', 'add', name, '--database', database, '--cluster', SOURCE);
  return { name, database, table: `${database}.writes`, endpoint: added.endpoint, rows, earlier: new Set<number>() };
}

/** The loads running: each test's are stopped when it ends, passed or not (a load left writing would keep the process alive). */
const loads = new Set<WriterLoad>();

/** Light writes through the shard's endpoint, as its application would write: one insert each 20 ms. */
function writeLoad(shard: TestShard): WriterLoad {
  const load = new WriterLoad(() => appConnection(shard.endpoint.port), ++runs * RUN_IDS, { table: shard.table, pauseMs: 20, retryPauseMs: 50 });
  loads.add(load);
  return load;
}

async function startMove(shard: TestShard, to = DESTINATION, ...more: string[]): Promise<string> {
  const out = await run('shard', 'move', shard.name, '--to', to, '--detach', ...more);
  const id = /^move of shard \S+ started: (\S+)$/m.exec(out)?.[1];
  assert.ok(id, out);
  return id;
}

interface HistoryEvent {
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskCompletedEventAttributes?: unknown;
  workflowExecutionCompletedEventAttributes?: unknown;
  workflowExecutionFailedEventAttributes?: unknown;
  workflowExecutionCanceledEventAttributes?: unknown;
  workflowExecutionTerminatedEventAttributes?: unknown;
}

async function history(id: string): Promise<HistoryEvent[]> {
  return ((await client.workflow.getHandle(id).fetchHistory()).events ?? []) as HistoryEvent[];
}
const completedOf = (events: HistoryEvent[]) => events.filter((e) => e.activityTaskCompletedEventAttributes).length;

/** The activities a move ran, in the order they were scheduled. */
async function activitiesOf(id: string): Promise<string[]> {
  return (await history(id)).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? '?'] : []));
}

/** The activities a move completed, in the order they completed. */
async function completionsOf(id: string): Promise<string[]> {
  const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
  const names = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType?.name ?? '?']));
  return events.flatMap((e) => (e.activityTaskCompletedEventAttributes ? [names.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId)) ?? '?'] : []));
}

/** The arguments of each `name` activity the move scheduled, in order (retries are not scheduled again). */
async function scheduledInputs(id: string, name: string): Promise<Record<string, unknown>[]> {
  const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name !== name) return [];
    const data = scheduled.input?.payloads?.[0]?.data;
    return data ? [JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>] : [];
  });
}

/** Waits until the move's history shows `count` completed activities; false when the move closed first. */
async function untilCompleted(id: string, count: number, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await history(id);
    if (completedOf(events) >= count) return true;
    const closed = events.at(-1);
    if (closed?.workflowExecutionCompletedEventAttributes || closed?.workflowExecutionFailedEventAttributes || closed?.workflowExecutionCanceledEventAttributes || closed?.workflowExecutionTerminatedEventAttributes) return false;
    assert.ok(Date.now() < deadline, `${id}: ${completedOf(events)} activities completed after ${timeoutMs} ms, not ${count}`);
    await sleep(20);
  }
}

/**
 * The move's end (`workflow result`), waited for across a Temporal restart;
 * past `timeoutMs` an error naming the step it is stuck on (its pending
 * activities, their last failure).
 */
async function moveEnd(id: string, timeoutMs: number): Promise<{ summary: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const described = await client.workflow.getHandle(id).describe();
      if (described.status.name !== 'RUNNING') return await client.workflow.getHandle(id).result();
      if (Date.now() > deadline) {
        const pending = (described.raw.pendingActivities ?? []).map((a) => `${a.activityType?.name} attempt ${a.attempt}${a.lastFailure?.message ? `: ${a.lastFailure.message}` : ''}`);
        const state = await json<{ moves: { workflowId: string; step?: string }[] }>('shard', 'list');
        throw new Error(`${id} still running after ${timeoutMs} ms; step ${JSON.stringify(state.moves.find((m) => m.workflowId === id))}; pending ${pending.join('; ') || 'none'}`);
      }
    } catch (err) {
      // Temporal restarting: asked again.
      if (!/UNAVAILABLE|ECONNREFUSED|connect|14 /i.test((err as Error).message)) throw err;
    }
    await sleep(200);
  }
}

/** Every server's replication connections of shard moves (named ones: the cluster's own has no name), as `address name`. */
async function namedChannels(): Promise<string[]> {
  const all = await Promise.all(CLUSTERS.flatMap((c) => serverPorts(c)).map(async (port) => {
    const rows = await asRoot(port, async (c) => (await c.query('SHOW ALL SLAVES STATUS'))[0] as { Connection_name: string }[]).catch(() => null);
    return (rows ?? []).filter((r) => r.Connection_name).map((r) => `127.0.0.1:${port} ${r.Connection_name}`);
  }));
  return all.flat();
}

/** A channel's status on a server, null when there is none. */
async function channelStatus(port: number, channel: string): Promise<Record<string, unknown> | null> {
  const rows = await asRoot(port, async (c) => (await c.query('SHOW ALL SLAVES STATUS'))[0] as Record<string, unknown>[]);
  return rows.find((r) => r.Connection_name === channel) ?? null;
}

/** Waits until both conductors run no operator operation and record every server PRIMARY or SECONDARY. */
async function assertClustersWhole(timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await Promise.all(CLUSTERS.map(clusterStatus));
    const problems = statuses.flatMap((s) => [
      ...(operatorOperation(s) ? [`${s.cluster} runs ${JSON.stringify(operatorOperation(s))}`] : []),
      ...s.servers.filter((x) => x.status !== 'PRIMARY' && x.status !== 'SECONDARY').map((x) => `${s.cluster}: ${x.address} is ${x.status}`),
    ]);
    if (!problems.length) return;
    assert.ok(Date.now() < deadline, problems.join('; '));
    await sleep(500);
  }
}

interface Direction {
  from: string;
  to: string;
  /** Moved with --cleanup: the source's copy is gone, not frozen. */
  cleanup?: boolean;
  /** Whether both clusters must already be whole (after a failover: once the killed server is back). */
  whole?: boolean;
}

/**
 * What every move here must leave: completed; on the destination's primary
 * every seeded and acknowledged row, each once (id is the primary key) and
 * no row no client wrote (in flight: an attempt that got an error, which
 * may have committed); the map, and the shard's endpoint, on the
 * destination's primary; the source's copy frozen with the move's message
 * (or dropped, with --cleanup); no named replication connection on any
 * server; both conductors idle and whole.
 */
async function assertMoved(shard: TestShard, id: string, summary: string, load: WriterLoad, way: Direction = { from: SOURCE, to: DESTINATION }): Promise<string> {
  const { from, to } = way;
  assert.match(summary, new RegExp(`^shard ${shard.name} moved from ${from} to ${to}: map version \\d+, writes frozen \\d+ ms`), `${id}: ${summary}`);
  const [target, sourcePrimary, found] = await Promise.all([primaryPort(to), primaryPort(from), json<ShardLocation>('shard', 'lookup', shard.name)]);
  const rows = (await asRoot(target, async (c) => (await c.query(`SELECT id FROM ${shard.table}`))[0])) as { id: number }[];
  const ids = new Set(rows.map((r) => r.id));
  const acknowledged = load.acknowledged();
  const inFlight = new Set(load.inFlight());
  const seeded = Array.from({ length: shard.rows }, (_, i) => i + 1);
  assert.deepEqual(seeded.filter((i) => !ids.has(i)).slice(0, 10), [], `${id}: seeded rows missing on ${to}'s primary`);
  assert.deepEqual(acknowledged.filter((i) => !ids.has(i)).slice(0, 10), [], `${id}: acknowledged writes missing on ${to}'s primary (${acknowledged.length} acknowledged)`);
  assert.deepEqual([...shard.earlier].filter((i) => !ids.has(i)).slice(0, 10), [], `${id}: rows an earlier move carried, missing on ${to}'s primary`);
  const acked = new Set(acknowledged);
  assert.deepEqual([...ids].filter((i) => i > shard.rows && !acked.has(i) && !inFlight.has(i) && !shard.earlier.has(i)).slice(0, 10), [], `${id}: rows no client wrote`);
  assert.equal(rows.length, ids.size);

  assert.equal(found.cluster, to, `${id}: shard lookup`);
  assert.deepEqual(found.endpoint, shard.endpoint, 'the shard keeps its endpoint');
  const viaEndpoint = await appConnection(shard.endpoint.port, shard.database);
  try {
    assert.equal(((await viaEndpoint.query('SELECT @@port AS p'))[0] as { p: number }[])[0].p, target, `${id}: the shard endpoint answers from ${to}'s primary`);
  } finally {
    await viaEndpoint.end();
  }
  if (way.cleanup) {
    const left = await asRoot(sourcePrimary, async (c) => (await c.query('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [shard.database]))[0] as unknown[]);
    assert.deepEqual(left, [], `${id}: --cleanup dropped ${shard.database} on ${from}`);
  } else {
    const source = await appConnection(sourcePrimary, shard.database);
    try {
      await assert.rejects(source.query('INSERT INTO writes VALUES (?, 0)', [RUN_IDS - 1]),
        new RegExp(`gtidflow: ${shard.database} is read-only \\(shard ${shard.name} moves to ${to}\\)`), `${id}: a write on ${from}'s copy`);
    } finally {
      await source.end();
    }
  }
  if (way.whole !== false) {
    assert.deepEqual(await namedChannels(), [], `${id}: replication connections left`);
    await assertClustersWhole();
  }
  for (const i of ids) shard.earlier.add(i);
  return `${acknowledged.length} writes acknowledged, ${inFlight.size} failed, longest gap ${Math.round(load.longestGap(0))} ms`;
}


/** Polls `check` until it returns a value (not undefined); an error naming `what` past the deadline. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(100);
  }
}

before(async () => {
  endpoints = await upNewSandbox(env, 3, ['--clusters', '2']);
  client = await connectClient({ address: endpoints.temporal.address, namespace: 'default' });
});
afterEach(async () => {
  await Promise.all([...loads].map((load) => load.stop()));
  loads.clear();
});
after(async () => {
  await client?.connection.close().catch(() => undefined);
});

/** How many activities a clean move runs: the steps the next test kills the worker after. */
let cleanMoveActivities = 0;
/** The shards moved so far, by name. */
const moved = new Map<string, TestShard>();

test('a clean move, counted: the activities it runs are the steps to crash after', async () => {
  const shard = await newShard('clean', 300);
  const load = writeLoad(shard);
  await load.acknowledgedCount(20);
  const started = Date.now();
  const id = await startMove(shard);
  const { summary } = await moveEnd(id, 60_000);
  await load.acknowledgedCount(load.acknowledged().length + 20);
  await load.stop();
  const activities = await activitiesOf(id);
  cleanMoveActivities = completedOf(await history(id));
  assert.equal(cleanMoveActivities, activities.length, 'every activity of a clean move completed');
  console.log(`# clean move: ${Date.now() - started} ms, ${activities.length} activities: ${activities.join(' ')}`);
  console.log(`# clean move: ${await assertMoved(shard, id, summary, load)}`);
  moved.set(shard.name, shard);
});

/**
 * The worker is killed after every step of a move: after the odd steps in
 * one move, the even ones in another (a kill costs the step in flight its
 * timeout, or its heartbeat's, plus a sandbox up: some 10 s; a move per
 * step took 15 minutes). Each move ends as a clean one.
 */
test('the worker SIGKILLed after each step of a move in turn, brought back by sandbox up each time: the move ends as a clean one', async () => {
  assert.ok(cleanMoveActivities > 0, 'the clean move ran');
  for (const first of [1, 2]) {
    const started = Date.now();
    const shard = await newShard(`k${first}`, 300);
    const load = writeLoad(shard);
    const kills: string[] = [];
    const failures: string[] = [];
    try {
      await load.acknowledgedCount(20);
      const id = await startMove(shard);
      for (let k = first; k <= cleanMoveActivities && await untilCompleted(id, k); k += 2) {
        const killedAt = Date.now();
        await kill((await sandboxProcess('worker')).pid);
        // sandbox up must bring it back; when it fails, the failure is kept and the move goes on (a second sandbox up) to see how it ends.
        const up = await gtidflow(['sandbox', 'up', '--json'], env);
        if (up.code !== 0) failures.push(`after step ${k}: sandbox up failed (${Date.now() - killedAt} ms): ${up.stderr.trim()}`);
        await sandboxUp();
        kills.push(`${k} (${(await completionsOf(id))[k - 1]}, back up in ${Date.now() - killedAt} ms)`);
      }
      const { summary } = await moveEnd(id, 180_000);
      await load.acknowledgedCount(load.acknowledged().length + 20);
      await load.stop();
      const writes = await assertMoved(shard, id, summary, load);
      moved.set(shard.name, shard);
      console.log(`# killed after steps ${kills.join(', ')}: ${Date.now() - started} ms; ${writes}`);
    } finally {
      await load.stop();
    }
    assert.deepEqual(failures, [], `the move killed after steps ${kills.join(', ')}`);
  }
});

test('the Temporal dev server SIGKILLed mid-copy, brought back by sandbox up on its SQLite file: the move and the conductors are kept, the move ends as a clean one', async () => {
  const started = Date.now();
  const shard = await newShard('big', 200_000);
  // The copy comes from the source's first SECONDARY (donorOf); a table lock held there stops its dump until released.
  const donor = portOf((await clusterStatus(SOURCE)).servers.find((s) => s.status === 'SECONDARY')!.address);
  await until(`the ${shard.rows} rows on the donor`, async () => {
    const [{ n }] = await asRoot(donor, async (c) => (await c.query(`SELECT COUNT(*) AS n FROM ${shard.table}`))[0] as { n: number }[]);
    return Number(n) === shard.rows || undefined;
  });
  const load = writeLoad(shard);
  await load.acknowledgedCount(20);
  const [temporalServer, worker] = [await sandboxProcess('temporal'), await sandboxProcess('worker')];
  const held = await lockTableOn(donor, shard.table);
  let id: string;
  try {
    id = await startMove(shard);
    await until('the copy step running', async () => {
      const pending = (await client.workflow.getHandle(id).describe()).raw.pendingActivities ?? [];
      return pending.some((a) => a.activityType?.name === 'copyShard' && a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED) || undefined;
    });
    // Its dump is waiting on the lock: the copy is under way.
    await until('the dump waiting on the donor', async () => {
      const list = await asRoot(donor, async (c) => (await c.query('SHOW FULL PROCESSLIST'))[0] as { State: string | null; Info: string | null }[]);
      return list.some((p) => /lock/i.test(p.State ?? '') && /FLUSH|SELECT|SHOW/i.test(p.Info ?? '')) || undefined;
    });
    const killedAt = Date.now();
    await kill(temporalServer.pid);
    await sandboxUp();
    const workerAfter = await sandboxProcess('worker');
    console.log(`# Temporal killed mid-copy: back in ${Date.now() - killedAt} ms at ${endpoints.temporal.address}; ` +
      `the worker ${workerAfter.pid === worker.pid ? 'kept running through it' : 'was started again by sandbox up'}`);
    assert.notEqual((await sandboxProcess('temporal')).pid, temporalServer.pid, 'a new Temporal process');
    // The same state: the move runs on, its copy still the step in flight; both conductors answer.
    const described = await client.workflow.getHandle(id).describe();
    assert.equal(described.status.name, 'RUNNING', `${id} after the restart`);
    assert.ok((described.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'copyShard'), `${id}: the copy is still the step in flight`);
    for (const cluster of CLUSTERS) assert.equal((await clusterStatus(cluster)).cluster, cluster);
    assert.equal((await json<ShardLocation>('shard', 'lookup', shard.name)).cluster, SOURCE, 'the shard map is kept');
  } finally {
    await held.release();
  }
  const { summary } = await moveEnd(id, 120_000);
  await load.acknowledgedCount(load.acknowledged().length + 20);
  await load.stop();
  const writes = await assertMoved(shard, id, summary, load);
  const retries = (await history(id)).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'copyShard').length;
  console.log(`# Temporal restart mid-copy: ${Date.now() - started} ms, copy scheduled ${retries} time(s); ${writes}`);
});

test('a failover of the source cluster during the catch-up: the channel follows the new source primary, the move ends as a clean one with every acknowledged write', async () => {
  const started = Date.now();
  const shard = await newShard('fo', 300);
  const load = writeLoad(shard);
  await load.acknowledgedCount(20);
  const target = await primaryPort(DESTINATION);
  const oldPrimary = (await clusterStatus(SOURCE)).primary;
  const victim = await sandboxProcess('mariadb', oldPrimary);
  const channel = `gtidflow_shard_${shard.name}`;
  const id = await startMove(shard);
  // Right after the copy: a table lock on the destination primary's copy stops the channel's applier, so the catch-up cannot finish.
  // (A catch-up round that read the source's position just before the lock may still reach it and cut over: the freeze is then on the
  // old primary when it dies, and the cut-over is done again on the new one.)
  await until('the copy step done', async () => (await completionsOf(id)).includes('copyShard') || undefined, 60_000);
  const held = await lockTableOn(target, shard.table);
  let newPrimary: string;
  let killedAt: number;
  try {
    await until(`${channel} reading from ${oldPrimary}, its applier waiting on the lock`, async () => {
      const status = await channelStatus(target, channel);
      return (status && status.Master_Port === portOf(oldPrimary) && /lock/i.test(String(status.Slave_SQL_Running_State))) || undefined;
    });
    await load.acknowledgedCount(load.acknowledged().length + 20);
    killedAt = load.now();
    await kill(victim.pid);
    newPrimary = await until(`a new primary of ${SOURCE}`, async () => {
      const status = await clusterStatus(SOURCE);
      return status.primary !== oldPrimary && !operatorOperation(status) ? status.primary : undefined;
    }, 60_000);
    console.log(`# ${SOURCE} failed over from ${oldPrimary} to ${newPrimary} ${Math.round(load.now() - killedAt)} ms after the kill`);
  } finally {
    // Released once the failover is recorded. (Held longer, the move could not follow it: STOP SLAVE waits for an applier blocked on a lock, and the move would fail and roll back.)
    await held.release();
  }
  // Writes go on through the shard endpoint, now to the new source primary.
  const resumed = await load.acknowledgedAfter(load.now());
  const { summary } = await moveEnd(id, 120_000);
  await load.acknowledgedCount(load.acknowledged().length + 20);
  await load.stop();
  // The catch-up moved to the new source primary, and the cut-over froze writes there.
  const channelSources = (await scheduledInputs(id, 'startShardChannel')).map((a) => a.source);
  assert.equal(channelSources.at(-1), newPrimary, `${id}: ${channel} read from ${channelSources.join(', ')}`);
  assert.ok(channelSources.includes(oldPrimary), `${id}: ${channel} read from ${channelSources.join(', ')} (first from ${oldPrimary})`);
  const freezes = (await scheduledInputs(id, 'freezeWrites')).map((a) => a.address);
  assert.equal(freezes.at(-1), newPrimary, `${id}: the freeze on ${freezes.join(', ')}`);
  assert.ok(freezes.every((a) => a === oldPrimary || a === newPrimary), `${id}: the freeze on ${freezes.join(', ')}`);
  const before = load.writes.filter((w) => w.ok && w.end < killedAt!).length;
  const after = load.writes.filter((w) => w.ok && w.start > killedAt!).length;
  const writes = await assertMoved(shard, id, summary, load, { from: SOURCE, to: DESTINATION, whole: false });
  // The killed server comes back with sandbox up; a rejoin makes it a SECONDARY of the new primary again.
  await sandboxUp();
  const back = (await clusterStatus(SOURCE)).servers.find((s) => s.address === oldPrimary)!;
  if (back.status !== 'SECONDARY') await run('rejoin', SOURCE, oldPrimary);
  await assertClustersWhole(60_000);
  assert.deepEqual(await namedChannels(), [], `${id}: replication connections left`);
  console.log(`# failover during the catch-up: ${Date.now() - started} ms; ${before} writes acknowledged before the kill, ${after} after ` +
    `(writes resumed ${Math.round(resumed.end - killedAt!)} ms after it); ${oldPrimary} was ${back.status} after sandbox up; ${writes}`);
});

/**
 * sandbox-2's binlog holds sandbox's own domain only as far as the first
 * move's catch-up carried it; a catch-up asking for sandbox's later GTIDs
 * there was refused (1236) and restarted round after round, forever.
 */
test('a moved shard moves back to the cluster it came from (--cleanup): every row both moves carried is there', async () => {
  const shard = moved.get('clean');
  assert.ok(shard, 'the clean move ran');
  // The copy the first move left on sandbox goes first: a move never overwrites data.
  await run('shard', 'cleanup', shard.name);
  const load = writeLoad(shard);
  await load.acknowledgedCount(20);
  const id = await startMove(shard, SOURCE, '--cleanup');
  let summary: string;
  try {
    ({ summary } = await moveEnd(id, 30_000));
  } catch (err) {
    // What the catch-up says, then the move cancelled (rolled back) so that the sandbox goes down clean.
    const status = await channelStatus(await primaryPort(SOURCE), `gtidflow_shard_${shard.name}`);
    const io = status && `${status.Connection_name}: IO running ${status.Slave_IO_Running}, last IO error ${status.Last_IO_Errno} ${status.Last_IO_Error}, Gtid_Slave_Pos ${status.Gtid_Slave_Pos}`;
    await gtidflow(['shard', 'cancel', shard.name], env);
    await moveEnd(id, 60_000).catch(() => undefined);
    await load.stop();
    throw new Error(`${(err as Error).message}\n${io}`);
  }
  await load.acknowledgedCount(load.acknowledged().length + 20);
  await load.stop();
  await assertMoved(shard, id, summary, load, { from: DESTINATION, to: SOURCE, cleanup: true });
});
