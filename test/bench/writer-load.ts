import type * as mysql from 'mysql2/promise';
import { getServerState } from '../../activities/server-state';
import { waitForGtid } from '../../activities/wait-for-gtid';
import { conductorMemo, writerSession, type TestStack } from '../harness/stack';

/** One write's outcome, in ms since the load started. */
export interface Write {
  id: number;
  start: number;
  end: number;
  ok: boolean;
}

/**
 * A client writing numbered rows through the writer endpoint as fast as it
 * can, one at a time, reconnecting after any error: what an application
 * sees during an operation.
 */
export class WriterLoad {
  readonly writes: Write[] = [];
  private running = true;
  private readonly done: Promise<void>;
  readonly t0 = performance.now();

  constructor(private readonly stack: TestStack, private nextId: number) {
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
          conn = await writerSession(this.stack);
          conn.on('error', () => undefined);
        }
        await conn.query({ sql: 'INSERT INTO app.rows VALUES (?)', values: [id], timeout: 10_000 });
        this.writes.push({ id, start, end: this.now(), ok: true });
      } catch {
        this.writes.push({ id, start, end: this.now(), ok: false });
        conn?.destroy();
        conn = undefined;
        await new Promise((r) => setTimeout(r, 5));
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
      if (this.now() > deadline) throw new Error(`no write was acknowledged within ${timeoutMs} ms`);
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
}

/**
 * Acknowledged rows absent from any live member. A write whose
 * acknowledgement was lost with the old primary may still be present: only
 * acknowledged ones count. Members are read once each has applied what the
 * primary has.
 */
export async function missingRows(stack: TestStack, acknowledged: number[], dead: number[] = []): Promise<number> {
  const primary = await primaryIndex(stack);
  const { executed } = await getServerState({ address: stack.cluster.addresses[primary], access: stack.cluster.access });
  let missing = 0;
  for (const [i, address] of stack.cluster.addresses.entries()) {
    if (dead.includes(i)) continue;
    await waitForGtid({ address, access: stack.cluster.access, gtid: executed, timeoutSeconds: 30 });
    const present = new Set((await stack.cluster.sql(i, 'SELECT id FROM app.rows')).map((r) => Number(r.id)));
    missing += acknowledged.filter((id) => !present.has(id)).length;
  }
  return missing;
}

async function primaryIndex(stack: TestStack): Promise<number> {
  const { primary } = await conductorMemo(stack);
  return stack.cluster.addresses.indexOf(primary);
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function report(name: string, unit: string, values: number[]): void {
  console.log(`${name}: runs=${values.length} p50=${percentile(values, 50).toFixed(0)}${unit} p99=${percentile(values, 99).toFixed(0)}${unit} ` +
    `min=${Math.min(...values).toFixed(0)}${unit} max=${Math.max(...values).toFixed(0)}${unit}`);
}
