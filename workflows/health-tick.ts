import { getExternalWorkflowHandle, log } from '@temporalio/workflow';
import { healthRound } from './cluster';

/** Started by the cluster's Temporal Schedule: asks the conductor for a health round (it runs it when idle). */
export async function healthTick(cluster: string): Promise<void> {
  try {
    await getExternalWorkflowHandle(`cluster:${cluster}`).signal(healthRound);
  } catch (err) {
    // No conductor running (being re-registered, or gone): nothing to check this time.
    log.warn(`no health round for ${cluster}: ${(err as Error).message}`);
  }
}
