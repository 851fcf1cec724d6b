import { rootConnection } from '../../client/local/mariadb';
import { sleep } from '../../client/local/ports';

/** A root session to one local server, for what a test does behind gtidflow's back. */
export async function asRoot<T>(port: number, work: (conn: Awaited<ReturnType<typeof rootConnection>>) => Promise<T>): Promise<T> {
  const conn = await rootConnection(port);
  try {
    return await work(conn);
  } finally {
    await conn.end();
  }
}

/**
 * Holds a switchover to `candidate` at "waiting for it to apply", the old
 * primary fenced: a row lock held on the candidate stalls its applier on a
 * write made on the primary. `release` lets the applier go on.
 */
export async function holdCandidateApplier(primaryPort: number, candidatePort: number): Promise<{ release(): Promise<void> }> {
  await asRoot(primaryPort, (c) => c.query('CREATE TABLE IF NOT EXISTS app.locks (k INT PRIMARY KEY, v INT NOT NULL); REPLACE INTO app.locks VALUES (1, 0)'));
  for (let i = 0; i < 50 && !(await asRoot(candidatePort, async (c) => ((await c.query('SELECT * FROM app.locks'))[0] as unknown[]).length)); i++) await sleep(100);
  const lock = await rootConnection(candidatePort);
  lock.on('error', () => undefined);
  await lock.query('START TRANSACTION');
  await lock.query('SELECT * FROM app.locks WHERE k = 1 FOR UPDATE');
  await asRoot(primaryPort, (c) => c.query('UPDATE app.locks SET v = v + 1 WHERE k = 1'));
  return {
    async release() {
      await lock.query('ROLLBACK');
      await lock.end();
    },
  };
}

/**
 * A table lock held on a server until released: what stops a dump's FLUSH
 * TABLES WITH READ LOCK there, or a replication applier writing that table.
 * It resolves once the lock is held (or its session failed, which release then throws).
 */
export async function lockTableOn(port: number, table: string): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const done = asRoot(port, async (c) => {
    await c.query(`LOCK TABLES ${table} WRITE`);
    locked();
    await released;
    await c.query('UNLOCK TABLES');
  });
  await Promise.race([isLocked, done]);
  return { async release() { release(); await done; } };
}
