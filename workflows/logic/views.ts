import type { ClusterState, OperationResult, ServerRecord, View } from '../model';

/**
 * The state after an operation: its servers and primary, and a new view
 * whose id is one higher (the fencing token later steps compare against).
 */
export function recordOperation(state: ClusterState, result: OperationResult, operation: string, at: string): ClusterState {
  const view = nextView(state, result.servers, result.primary, operation, at);
  return { ...state, servers: result.servers, primary: result.primary, viewId: view.viewId, views: [...state.views, view] };
}

/** Members are the servers that are not FAULTY; joined/left compare with the last view. */
export function nextView(state: Pick<ClusterState, 'viewId' | 'views'>, servers: ServerRecord[], primary: string, operation: string, at: string): View {
  const members = servers.filter((s) => s.status !== 'FAULTY').map((s) => s.address);
  const before = state.views.at(-1)?.members ?? [];
  return {
    viewId: state.viewId + 1,
    at,
    primary,
    members,
    joined: members.filter((m) => !before.includes(m)),
    left: before.filter((m) => !members.includes(m)),
    operation,
  };
}

/** Keeps the last `keep` views: the state travels through continue-as-new and memo. */
export function trimViews(views: View[], keep: number): View[] {
  return views.length > keep ? views.slice(-keep) : views;
}
