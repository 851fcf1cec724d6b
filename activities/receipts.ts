/** One read of what a replica has received: a marker that moves with every event or heartbeat, and when the read was sent and answered (a monotonic clock: performance.now()). */
export interface ReceiptRead {
  /** null: the flavor cannot say, or the replica does not stream from the primary. */
  progress: string | null;
  /** The heartbeat period the replica asked its source for. */
  heartbeatSeconds: number;
  sentAt: number;
  answeredAt: number;
}

/**
 * What the watch has seen each replica receive since the primary last
 * answered. A replica whose marker has not moved has been silent at least
 * from the answer of the first read that showed it to the sending of the
 * latest (a read's own time never counts as silence). Only a replica
 * whose source sends a heartbeat at least three times within the silence
 * is judged by it: one with a long period (or none) may hear a live, idle
 * primary less often than that.
 */
export class Receipts {
  private readonly seen = new Map<string, { progress: string; at: number }>();
  private firstAnswer: number | undefined;
  private generation = 0;

  constructor(private readonly silenceMs: number) {}

  /** A token for reads sent now: one answered after the next forget() is dropped. */
  begin(): number {
    return this.generation;
  }

  /** How long the replica has been seen receiving nothing; 0 when it moved, cannot say, or the read is stale. */
  silentFor(token: number, address: string, read: ReceiptRead): number {
    if (token !== this.generation) return 0;
    this.firstAnswer ??= read.answeredAt;
    const judged = read.progress !== null && read.heartbeatSeconds > 0 && read.heartbeatSeconds * 3_000 <= this.silenceMs;
    if (!judged) {
      this.seen.delete(address);
      return 0;
    }
    const last = this.seen.get(address);
    if (last?.progress === read.progress) return Math.max(0, read.sentAt - last.at);
    this.seen.set(address, { progress: read.progress!, at: read.answeredAt });
    return 0;
  }

  /** How long the replicas have been watched: until it passes the silence, a hearing replica may not have shown it yet. */
  watchedFor(now: number): number {
    return this.firstAnswer === undefined ? 0 : now - this.firstAnswer;
  }

  /** The primary answered: what was seen is no evidence any more, nor are reads still under way. */
  forget(): void {
    this.seen.clear();
    this.firstAnswer = undefined;
    this.generation++;
  }
}
