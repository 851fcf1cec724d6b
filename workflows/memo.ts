import type { ClusterState } from './model';

/** The compact state published as memo: what `gtidflow status` and the Web UI show without a worker. */
export type ClusterMemo = ReturnType<typeof memoOf>;

export function memoOf(state: ClusterState) {
  return {
    cluster: state.config.name,
    viewId: state.viewId,
    primary: state.primary,
    servers: state.servers.map(({ address, status, penalty, capability }) => ({ address, status, penalty, capability })),
    // References only: lets the CLI read the servers' live state without asking a worker.
    access: state.config.access,
    operation: state.operation,
    lastOperation: state.lastOperation,
    warnings: state.warnings,
    health: state.health,
  };
}
