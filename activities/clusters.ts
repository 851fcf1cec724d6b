import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { clusterWorkflowId, holdCluster, releaseCluster, stateQuery, type ClusterHold } from '../workflows/api';
import type { ClusterConfig, OperationContext, ServerRecord } from '../workflows/model';

/** What a shard move needs to know of a cluster, from its conductor (references only). */
export interface ClusterFacts {
  name: string;
  viewId: number;
  primary: string;
  servers: ServerRecord[];
  access: ClusterConfig['access'];
  router: ClusterConfig['router'];
  /** The operation the conductor runs, if any (a failover: the primary is about to change). */
  operation: string | null;
  bootstrapped: boolean;
}

const ASK_TIMEOUT_MS = 10_000;

/**
 * Steps that talk to other workflows (a shard move to the conductors of
 * its clusters) through the worker's own Temporal client: a workflow cannot
 * query another, an activity can.
 */
export function clusterActivities(client: Client) {
  const conductor = (cluster: string) => client.workflow.getHandle(clusterWorkflowId(cluster));
  const ask = async <T>(cluster: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await client.connection.withDeadline(Date.now() + ASK_TIMEOUT_MS, work);
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError') throw ApplicationFailure.nonRetryable(`unknown cluster "${cluster}": register it with gtidflow cluster apply -f`, 'UnknownCluster');
      if ((err as Error).name === 'WorkflowUpdateFailedError') throw ApplicationFailure.retryable(`cluster ${cluster}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`, 'ClusterRefused');
      throw err;
    }
  };
  return {
    async readCluster(args: { cluster: string }): Promise<ClusterFacts> {
      const state = await ask(args.cluster, () => conductor(args.cluster).query(stateQuery));
      return {
        name: args.cluster, viewId: state.viewId, primary: state.primary, servers: state.servers, access: state.config.access,
        router: state.config.router, operation: state.operation?.kind ?? null, bootstrapped: state.bootstrapped !== false,
      };
    },
    /** What a health tick judges the servers on: the recorded cluster, and how many operations it ran; null while it runs one or bootstraps. */
    async readHealthContext(args: { cluster: string }): Promise<{ context: OperationContext; operationCount: number } | null> {
      const state = await ask(args.cluster, () => conductor(args.cluster).query(stateQuery));
      if (state.operation || state.bootstrapped === false) return null;
      const context = { config: state.config, viewId: state.viewId, primary: state.primary, servers: state.servers, primaries: state.primaries ?? null };
      return { context, operationCount: state.operationCount };
    },
    async holdCluster(args: { cluster: string; holder: string; seconds: number }): Promise<ClusterHold> {
      return ask(args.cluster, () => conductor(args.cluster).executeUpdate(holdCluster, { args: [{ holder: args.holder, seconds: args.seconds }] }));
    },
    async releaseCluster(args: { cluster: string; holder: string }): Promise<boolean> {
      return ask(args.cluster, () => conductor(args.cluster).executeUpdate(releaseCluster, { args: [{ holder: args.holder }] }));
    },
  };
}

export type ClusterActivities = ReturnType<typeof clusterActivities>;
