import { connect, type Access, type Db } from './db/connection';

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

  /** Resolves when the held session ends (never, while none is held). */
  end(): Promise<void> {
    return this.db && this.ended ? this.ended : new Promise(() => undefined);
  }

  close(): void {
    void this.db?.close();
    this.db = undefined;
  }
}
