import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { clusterWorkflowId } from '../workflows/api';
import type { ClusterMemo } from '../workflows/memo';

/** What a conductor published as memo (readable without a worker); undefined before its first publish. */
export function memoIn(description: WorkflowExecutionDescription): ClusterMemo | undefined {
  return description.memo?.state as ClusterMemo | undefined;
}

export async function readMemo(client: Client, cluster: string): Promise<ClusterMemo | undefined> {
  return memoIn(await client.workflow.getHandle(clusterWorkflowId(cluster)).describe());
}
