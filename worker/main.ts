import type { TemporalSettings } from '../client/settings';
import { createWorker } from './worker';

/** Runs the worker until SIGINT/SIGTERM (the SDK then shuts it down gracefully). */
export async function runWorker(settings: TemporalSettings): Promise<void> {
  const { worker, close } = await createWorker(settings);
  console.log(`gtidflow worker polling task queue ${worker.options.taskQueue} on ${settings.address} (namespace ${settings.namespace})`);
  try {
    await worker.run();
  } finally {
    await close();
  }
}
