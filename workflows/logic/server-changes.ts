import type { Capability, ServerRecord } from '../model';
import { notAServer } from './address';
import { checkTransition, type ServerStatus } from './status';

/** One operator change to a recorded server: status, write penalty, or capability (of the server or one database). */
export interface ServerChange {
  address: string;
  status?: ServerStatus;
  penalty?: number;
  capability?: Capability;
  database?: string;
}

const CAPABILITIES: readonly Capability[] = ['read-write', 'read-only', 'disabled'];

/**
 * The servers after the change, or the one-line reason it is refused.
 * Statuses follow the matrix for `set-status`: PRIMARY is never set or
 * left this way (promote and demote do that).
 */
export function applyServerChange(servers: ServerRecord[], change: ServerChange): { ok: true; servers: ServerRecord[] } | { ok: false; reason: string } {
  const server = servers.find((s) => s.address === change.address);
  if (!server) return { ok: false, reason: notAServer(change.address) };
  let next: ServerRecord = server;
  if (change.status !== undefined) {
    const check = checkTransition(server.status, change.status, 'set-status');
    if (!check.ok) return { ok: false, reason: `${change.address}: ${check.reason}` };
    next = { ...next, status: change.status };
  }
  if (change.penalty !== undefined) {
    if (!Number.isInteger(change.penalty) || change.penalty < 0) return { ok: false, reason: `write penalty must be a whole number ≥ 0, not ${change.penalty}` };
    next = { ...next, penalty: change.penalty };
  }
  if (change.capability !== undefined) {
    if (!CAPABILITIES.includes(change.capability)) return { ok: false, reason: `capability must be one of ${CAPABILITIES.join(', ')}, not "${change.capability}"` };
    if (change.database !== undefined && !/^[A-Za-z0-9_$]{1,64}$/.test(change.database)) return { ok: false, reason: `"${change.database}" is not a database name` };
    next = change.database !== undefined
      ? { ...next, databases: { ...next.databases, [change.database]: change.capability } }
      : { ...next, capability: change.capability };
  }
  if (next === server) return { ok: false, reason: 'nothing to change: give a status, a penalty or a capability' };
  return { ok: true, servers: servers.map((s) => (s.address === change.address ? next : s)) };
}

/**
 * How a valid change is carried out. Safety rule 5: a server leaving FAULTY
 * passes the rejoin checks (read-only, nothing the primary lacks, repointed,
 * caught up) before it is routed or electable, so that change is a rejoin
 * ending in the new status; any other change, and every update-only one
 * (recorded only), is a reconfigure of the servers as the change leaves them.
 */
export type ServerChangePlan =
  | { ok: true; kind: 'reconfigure'; servers: ServerRecord[] }
  | { ok: true; kind: 'rejoin'; status: 'SPARE' | 'SECONDARY' }
  | { ok: false; reason: string };

export function planServerChange(servers: ServerRecord[], change: ServerChange & { updateOnly?: boolean }): ServerChangePlan {
  const applied = applyServerChange(servers, change);
  if (!applied.ok) return applied;
  const from = servers.find((s) => s.address === change.address)!.status;
  const to = applied.servers.find((s) => s.address === change.address)!.status;
  if (from !== 'FAULTY' || to === 'FAULTY' || change.updateOnly) return { ok: true, kind: 'reconfigure', servers: applied.servers };
  if (to !== 'SPARE' && to !== 'SECONDARY') return { ok: false, reason: `${change.address}: a FAULTY server becomes SPARE or SECONDARY, not ${to}` };
  if (change.penalty !== undefined || change.capability !== undefined) {
    return { ok: false, reason: `${change.address} leaves FAULTY through the rejoin checks: change its status alone, then its penalty or capability` };
  }
  return { ok: true, kind: 'rejoin', status: to };
}
