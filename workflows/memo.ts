import type { ClusterState } from './model';

/** The compact state published as memo: what `gtidflow status` and the Web UI show without a worker. */
export type ClusterMemo = ReturnType<typeof memoOf>;

/** A shard move's cut-over hold of the conductor; it ends at `until` (ISO time) unless released before. */
export interface ClusterHoldMemo {
  holder: string;
  until: string;
}

export function memoOf(state: ClusterState, hold?: ClusterHoldMemo) {
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
    hold: hold ?? null,
  };
}
