import { Context } from '@temporalio/activity';

/**
 * Activities also run outside a worker (the sandbox bootstraps its cluster
 * with them): heartbeat and cancellation apply only inside one.
 */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export function heartbeat(details?: unknown): void {
  activityContext()?.heartbeat(details);
}

/** Throws the cancellation if the workflow cancelled this activity. */
export function throwIfCancelled(): void {
  const ctx = activityContext();
  if (ctx?.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
}

/** Runs `stop` if the workflow cancels this activity (seen at a heartbeat); the returned function unsubscribes. */
export function onCancel(stop: () => void): () => void {
  const signal = activityContext()?.cancellationSignal;
  if (!signal) return () => undefined;
  signal.addEventListener('abort', stop);
  return () => signal.removeEventListener('abort', stop);
}

/**
 * Runs `work` with a heartbeat every 2 s (`details` read at each beat), so
 * a step with a heartbeat timeout is retried within it when its worker
 * dies, however long one statement or process of it takes.
 */
export async function beating<T>(details: () => unknown, work: () => Promise<T>): Promise<T> {
  const beat = setInterval(() => heartbeat(details()), 2_000);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}
