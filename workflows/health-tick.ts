import { getExternalWorkflowHandle, log } from '@temporalio/workflow';
import { clusterWorkflowId, healthRound } from './api';

/** Started by the cluster's Temporal Schedule: asks the conductor for a health round (it runs it when idle). */
export async function healthTick(cluster: string): Promise<void> {
  try {
    await getExternalWorkflowHandle(clusterWorkflowId(cluster)).signal(healthRound);
  } catch (err) {
    // No conductor running (being re-registered, or gone): nothing to check this time.
    log.warn(`no health round for ${cluster}: ${(err as Error).message}`);
  }
}
