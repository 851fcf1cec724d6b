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

/** The name of the write freeze per-database capabilities install (activities/freeze.ts). */
export const CAPABILITY_FREEZE = 'capability';

export interface DatabaseFreezePlan {
  /** Databases whose writes are frozen on the primary (installed, or installed again to cover tables created since). */
  freeze: { database: string; capability: 'read-only' | 'disabled' }[];
  /** Databases whose freeze is lifted. */
  thaw: string[];
}

/**
 * Per-database capabilities enforced on the primary (README: Per-database
 * capabilities and the write freeze): writes to a database are frozen
 * while the primary's record gives it read-only or disabled (asked again at
 * every reconfigure, so a table created since is covered), and thawed when
 * a change sets it read-write on the primary. A freeze is in the data: a
 * switchover or failover carries it to the new primary, and setting the
 * database read-write there lifts it. On a replica a per-database
 * capability is only published: replicas take no writes.
 */
export function databaseFreezes(before: ServerRecord[], after: ServerRecord[], primary: string): DatabaseFreezePlan {
  const now = after.find((s) => s.address === primary)?.databases ?? {};
  const was = before.find((s) => s.address === primary)?.databases ?? {};
  const databases = Object.keys(now).sort();
  return {
    freeze: databases.flatMap((database) => {
      const capability = now[database];
      return capability === 'read-write' ? [] : [{ database, capability }];
    }),
    thaw: databases.filter((database) => now[database] === 'read-write' && was[database] !== 'read-write'),
  };
}
