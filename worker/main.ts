import { Runtime } from '@temporalio/worker';
import type { TemporalSettings } from '../client/settings';
import { createWorker } from './worker';

/**
 * Runs the worker until SIGINT/SIGTERM (the SDK then shuts it down
 * gracefully). With GTIDFLOW_METRICS_PORT it serves Prometheus metrics
 * (gtidflow's and the SDK's) on 127.0.0.1 (GTIDFLOW_METRICS_HOST to change).
 */
export async function runWorker(settings: TemporalSettings): Promise<void> {
  const port = process.env.GTIDFLOW_METRICS_PORT;
  if (port) {
    const host = process.env.GTIDFLOW_METRICS_HOST || '127.0.0.1';
    Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: `${host}:${port}` } } } });
  }
  const { worker, close } = await createWorker(settings);
  console.log(`gtidflow worker ${worker.options.identity} polling task queue ${worker.options.taskQueue} on ${settings.address} (namespace ${settings.namespace})` +
    (port ? `, metrics on http://${process.env.GTIDFLOW_METRICS_HOST || '127.0.0.1'}:${port}/metrics` : ''));
  try {
    await worker.run();
  } finally {
    await close();
  }
}
