import { connect, type Access, type Db } from './db/connection';
import { closedByHost } from './server-state';

/** A probe's answer over the held session. */
export type HeldProbe = { reachable: true } | { reachable: false; error: string; refused: boolean };

/**
 * A session held open to one server, so that its end is known at once:
 * when the process dies the kernel closes its sockets, and the watch wakes
 * within milliseconds instead of at its next probe. Never throws: a server
 * that cannot be reached now is simply not held.
 */
export class HeldSession {
  private db: Db | undefined;
  private ended: Promise<void> | undefined;

  constructor(private readonly address: string, private readonly access: Access) {}

  /** Opens the session if none is held (after the server answered a probe). */
  async hold(): Promise<void> {
    if (this.db) return;
    try {
      const db = await connect(this.address, this.access);
      this.db = db;
      this.ended = db.ended().then(() => {
        if (this.db === db) this.db = undefined;
      });
    } catch {
      // not held this round; the probes go on
    }
  }

  /**
   * A probe over the held session: one statement on a socket already open,
   * instead of a new connection and a full read each interval (the watch's
   * cost, per cluster). undefined when none is held: the caller probes in
   * full. A failure ends the session (a timed-out one may still be busy).
   */
  async probe(): Promise<HeldProbe | undefined> {
    const db = this.db;
    if (!db) return undefined;
    try {
      await db.query('SELECT 1');
      return { reachable: true };
    } catch (err) {
      if (this.db === db) this.close();
      return { reachable: false, error: (err as Error).message, refused: closedByHost(err) };
    }
  }

  /** Resolves when the held session ends (never, while none is held). */
  end(): Promise<void> {
    return this.db && this.ended ? this.ended : new Promise(() => undefined);
  }

  close(): void {
    void this.db?.close();
    this.db = undefined;
  }
}
