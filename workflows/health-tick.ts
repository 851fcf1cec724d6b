import { getExternalWorkflowHandle } from '@temporalio/workflow';
import { healthRound } from './cluster';

/** Started by the cluster's Temporal Schedule: asks the conductor for a health round (it runs it when idle). */
export async function healthTick(cluster: string): Promise<void> {
  await getExternalWorkflowHandle(`cluster:${cluster}`).signal(healthRound);
}
