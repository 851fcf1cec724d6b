import assert from 'node:assert/strict';
import type * as mysql from 'mysql2/promise';
import { getServerState } from '../../activities/server-state';
import { waitForGtid } from '../../activities/wait-for-gtid';
import { conductorMemo, writerSession, type TestStack } from './stack';

/**
 * The application's table (created by startTestStack, emptied by
 * resetStack): each row records the server that committed it, evaluated
 * there (ROW binlog: replicas get the value, not the expression).
 */
export const WRITES_TABLE = 'app.writes';

/** One insert's outcome, in ms since the load started; `gtid` is the committed transaction's, from its OK packet. */
export interface Write {
  id: number;
  start: number;
  end: number;
  ok: boolean;
  gtid?: string;
  error?: string;
}

export interface WriterOptions {
  /** Pause after each acknowledged write (0: as fast as the server answers). */
  pauseMs?: number;
  /** Pause after an error before the next attempt. */
  retryPauseMs?: number;
  /** Longest wait for one insert: a statement still blocked then counts as in flight (it may still commit). */
  queryTimeoutMs?: number;
  /** Where the rows go (default WRITES_TABLE): a table of the same shape elsewhere, e.g. in a shard's database. */
  table?: string;
}

/**
 * A client writing numbered rows through the writer endpoint as the
 * application account, one at a time (as fast as it can unless told to
 * pause between writes), reconnecting after any error: what an application sees during an operation. A row is
 * acknowledged only when its INSERT returned OK; a failed attempt is in
 * flight (it may or may not have committed) and its id is never reused.
 */
export class WriterLoad {
  readonly writes: Write[] = [];
  readonly t0 = performance.now();
  private running = true;
  private readonly done: Promise<void>;
  private readonly pauseMs: number;
  private readonly retryPauseMs: number;
  private readonly queryTimeoutMs: number;
  private readonly table: string;

  /** `target`: a test stack (its writer endpoint), or any way to open a session as the application (the chaos harness's sandbox). */
  constructor(private readonly target: TestStack | (() => Promise<mysql.Connection>), private nextId = 1, options: WriterOptions = {}) {
    this.pauseMs = options.pauseMs ?? 0;
    this.retryPauseMs = options.retryPauseMs ?? 5;
    this.queryTimeoutMs = options.queryTimeoutMs ?? 10_000;
    this.table = options.table ?? WRITES_TABLE;
    this.done = this.loop();
  }

  now(): number {
    return performance.now() - this.t0;
  }

  private async loop(): Promise<void> {
    let conn: mysql.Connection | undefined;
    while (this.running) {
      const start = this.now();
      // A fresh id for every attempt: a write that failed for the client may still have committed.
      const id = this.nextId++;
      try {
        if (!conn) {
          conn = await (typeof this.target === 'function' ? this.target() : writerSession(this.target));
          conn.on('error', () => undefined);
          // The OK packet of each insert then carries its GTID (MariaDB session tracking).
          await conn.query("SET SESSION session_track_system_variables = 'last_gtid'");
        }
        const [result] = await conn.query({ sql: `INSERT INTO ${this.table} (id, server_id) VALUES (?, @@server_id)`, values: [id], timeout: this.queryTimeoutMs });
        const gtid = (result as mysql.ResultSetHeader & { stateChanges?: { systemVariables?: Record<string, string> } }).stateChanges?.systemVariables?.last_gtid;
        this.writes.push({ id, start, end: this.now(), ok: true, gtid });
        if (this.pauseMs) await new Promise((r) => setTimeout(r, this.pauseMs));
      } catch (err) {
        this.writes.push({ id, start, end: this.now(), ok: false, error: (err as Error).message });
        conn?.destroy();
        conn = undefined;
        await new Promise((r) => setTimeout(r, this.retryPauseMs));
      }
    }
    conn?.destroy();
  }

  /** The first write started after `t` that was acknowledged; an error if writes do not resume within `timeoutMs`. */
  async acknowledgedAfter(t: number, timeoutMs = 30_000): Promise<Write> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      const write = this.writes.find((w) => w.ok && w.start >= t);
      if (write) return write;
      if (this.now() > deadline) throw new Error(`no write was acknowledged within ${timeoutMs} ms (last error: ${this.lastError()})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Waits until `count` writes have been acknowledged in all. */
  async acknowledgedCount(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = this.now() + timeoutMs;
    while (this.acknowledged().length < count) {
      if (this.now() > deadline) throw new Error(`only ${this.acknowledged().length} writes were acknowledged within ${timeoutMs} ms (last error: ${this.lastError()})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The longest time between two acknowledged writes from `from` on: how long the application could not write. */
  longestGap(from: number): number {
    const acked = this.writes.filter((w) => w.ok && w.end >= from).map((w) => w.end);
    return Math.max(...[from, ...acked].slice(1).map((end, i) => end - [from, ...acked][i]));
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  acknowledged(): number[] {
    return this.writes.filter((w) => w.ok).map((w) => w.id);
  }

  /** Attempts that ended in an error: each may or may not have committed. */
  inFlight(): number[] {
    return this.writes.filter((w) => !w.ok).map((w) => w.id);
  }

  private lastError(): string | undefined {
    for (let i = this.writes.length - 1; i >= 0; i--) if (!this.writes[i].ok) return this.writes[i].error;
    return undefined;
  }
}

/** One server's copy of the application's rows, read once it applied everything the primary has. */
export interface MemberWrites {
  index: number;
  address: string;
  executed: string;
  /** Whether it applied everything the primary had executed (`primaryExecuted`) within 30 s. */
  reached: boolean;
  primaryExecuted: string;
  /** id → server_id of the server that committed it. */
  rows: Map<number, number>;
}

/**
 * The rows of `members` (server indexes), each read once it has applied
 * what the recorded primary executed: the catch-up assertHealthy waits for.
 */
export async function caughtUpWrites(stack: TestStack, members: number[]): Promise<{ primary: number; members: MemberWrites[] }> {
  const { cluster } = stack;
  const primary = cluster.addresses.indexOf((await conductorMemo(stack)).primary);
  const { executed } = await getServerState({ address: cluster.addresses[primary], access: cluster.access });
  const read: MemberWrites[] = [];
  for (const index of members) {
    const address = cluster.addresses[index];
    const reached = await waitForGtid({ address, access: cluster.access, gtid: executed, timeoutSeconds: 30 });
    const rows = new Map((await cluster.sql(index, `SELECT id, server_id FROM ${WRITES_TABLE}`)).map((r) => [Number(r.id), Number(r.server_id)]));
    read.push({ index, address, executed: reached.executed, reached: reached.reached, primaryExecuted: executed, rows });
  }
  return { primary, members: read };
}

/**
 * What an operation under load must leave, on the recorded primary and on
 * every live member the conductor does not record FAULTY (each once it
 * applied what the primary executed):
 * - every acknowledged row is there;
 * - every row there was acknowledged or in flight when an error came back;
 * - every member holds exactly the primary's rows (nothing the primary lacks);
 * - every row was committed by `before` (the primary when the operation
 *   started) or by `after` (the recorded primary now): no other server
 *   ever accepted a write;
 * - acknowledged rows, in the order the client got them, never go back to
 *   the old primary once the new one has acknowledged one.
 * Returns every problem found, each naming rows, GTIDs and servers.
 */
export async function writeProblems(stack: TestStack, load: WriterLoad, before: string, after: string): Promise<{ problems: string[]; acknowledgedBy: Record<string, number> }> {
  const { cluster } = stack;
  const memo = await conductorMemo(stack);
  const faulty = memo.servers.filter((s) => s.status === 'FAULTY').map((s) => s.address);
  const members = memo.servers.map((s) => s.address).filter((a) => !faulty.includes(a)).map((a) => cluster.addresses.indexOf(a));
  const { primary, members: read } = await caughtUpWrites(stack, members);
  const serverIdOf = (address: string) => cluster.servers[cluster.addresses.indexOf(address)].serverId;
  const allowed = new Map([before, after].map((a) => [serverIdOf(a), a]));
  const acked = load.writes.filter((w) => w.ok);
  const inFlight = new Set(load.inFlight());
  const ackedIds = new Set(acked.map((w) => w.id));
  const describe = (w: Write) => `${w.id}${w.gtid ? ` (GTID ${w.gtid})` : ''} acknowledged at ${w.end.toFixed(0)} ms`;
  const list = <T>(items: T[], show: (t: T) => string) => `${items.slice(0, 10).map(show).join(', ')}${items.length > 10 ? `, … (${items.length} in all)` : ''}`;
  const problems: string[] = [];
  const primaryRows = read.find((m) => m.index === primary)!.rows;
  for (const m of read) {
    const where = `${m.address} (server_id ${cluster.servers[m.index].serverId}, executed ${m.executed}` +
      `${m.reached ? '' : `, short of the primary's ${m.primaryExecuted}`})`;
    const missing = acked.filter((w) => !m.rows.has(w.id));
    if (missing.length) problems.push(`${missing.length} acknowledged rows missing on ${where}: ${list(missing, describe)}`);
    const unknown = [...m.rows.keys()].filter((id) => !ackedIds.has(id) && !inFlight.has(id));
    if (unknown.length) problems.push(`rows on ${where} that no client wrote: ${list(unknown, String)}`);
    const wrongServer = [...m.rows].filter(([, serverId]) => !allowed.has(serverId));
    if (wrongServer.length) problems.push(`rows on ${where} committed by a server that was not primary (allowed: ${[...allowed].map(([id, a]) => `${a} = ${id}`).join(', ')}): ${list(wrongServer, ([id, s]) => `${id} by server_id ${s}`)}`);
    if (m.index !== primary) {
      const extra = [...m.rows.keys()].filter((id) => !primaryRows.has(id));
      if (extra.length) problems.push(`rows on ${where} that the primary ${cluster.addresses[primary]} lacks: ${list(extra, String)}`);
      const differ = [...m.rows].filter(([id, s]) => primaryRows.has(id) && primaryRows.get(id) !== s);
      if (differ.length) problems.push(`rows on ${where} with another server_id than on the primary: ${list(differ, ([id, s]) => `${id}: ${s} vs ${primaryRows.get(id)}`)}`);
    }
  }
  const [oldId, newId] = [serverIdOf(before), serverIdOf(after)];
  if (oldId !== newId) {
    const firstNew = acked.findIndex((w) => primaryRows.get(w.id) === newId);
    const backToOld = firstNew < 0 ? [] : acked.slice(firstNew).filter((w) => primaryRows.get(w.id) === oldId);
    if (backToOld.length) {
      problems.push(`the old primary ${before} acknowledged rows after the new primary ${after} did ` +
        `(first on the new one: ${describe(acked[firstNew])}): ${list(backToOld, describe)}`);
    }
  }
  const acknowledgedBy: Record<string, number> = {};
  for (const w of acked) {
    const serverId = primaryRows.get(w.id);
    const by = (serverId !== undefined && allowed.get(serverId)) || `server_id ${serverId ?? 'none'}`;
    acknowledgedBy[by] = (acknowledgedBy[by] ?? 0) + 1;
  }
  return { problems, acknowledgedBy };
}

/** Asserts writeProblems finds none; returns a line saying what the client saw. */
export async function assertWrites(stack: TestStack, load: WriterLoad, before: string, after: string): Promise<string> {
  const { problems, acknowledgedBy } = await writeProblems(stack, load, before, after);
  const by = Object.entries(acknowledgedBy).map(([a, n]) => `${n} by ${a}`).join(', ');
  const summary = `${load.acknowledged().length} writes acknowledged (${by}), ${load.inFlight().length} failed, ` +
    `longest wait between two acknowledged ${load.longestGap(0).toFixed(0)} ms`;
  assert.deepEqual(problems, [], `writes through the operation (${summary}):\n${problems.join('\n')}`);
  return summary;
}
