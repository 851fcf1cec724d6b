import { type Flavor, gtidOrigins } from './gtid';
import type { ClusterState, OperationResult, ServerRecord, View } from '../model';

/**
 * The state after an operation: its servers and primary, and a new view
 * whose id is one higher (the fencing token later steps compare against).
 */
export function recordOperation(state: ClusterState, result: OperationResult, operation: string, at: string): ClusterState {
  const view = { ...nextView(state, result.servers, result.primary, operation, at), ...(result.primaryOrigin ? { primaryOrigin: result.primaryOrigin } : {}) };
  return {
    ...state, servers: result.servers, primary: result.primary, viewId: view.viewId, views: [...state.views, view],
    primaries: nextPrimaries(state, result),
  };
}

/** A new primary's origin joins the recorded ones; one promoted without being read (update-only) makes them unknown. */
function nextPrimaries(state: ClusterState, result: OperationResult): string[] | null {
  const known = state.primaries ?? null;
  if (result.primary === state.primary || known === null) return known;
  if (!result.primaryOrigin) return null;
  return known.includes(result.primaryOrigin) ? known : [...known, result.primaryOrigin];
}

interface History {
  originId: string;
  history: string;
  executed: string;
}

/**
 * The origins a cluster's history legitimately holds, read off a primary
 * (at registration, or to learn them again after an update-only promotion):
 * its own and every one in its history; and an origin its binlog no longer
 * names (reset, or restored from a backup) that two members or more share,
 * since a replica's own local write is on that replica alone.
 */
export function registeredPrimaries(flavor: Flavor, primary: History, members: History[] = []): string[] {
  const held = members.map((m) => gtidOrigins(flavor, m.history));
  const shared = held.flat().filter((origin) => held.filter((origins) => origins.includes(origin)).length >= 2);
  return [...new Set([primary.originId, ...gtidOrigins(flavor, primary.history), ...gtidOrigins(flavor, primary.executed), ...shared])].sort();
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
