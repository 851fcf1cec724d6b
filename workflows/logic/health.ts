import { gtidDivergent, gtidUnion, type Flavor } from './gtid';
import type { ServerStatus } from './status';
import type { SemiSyncPolicy } from '../model';

/** What a health round knows of one server: its record and, if it answered, its state. */
export interface HealthServer {
  address: string;
  status: ServerStatus;
  reachable: boolean;
  readOnly?: boolean;
  executed?: string;
  replication?: { source: string; received?: string; ioRunning: boolean; ioConnecting: boolean; sqlRunning: boolean; ioErrno: number; sqlErrno: number; sqlError: string; secondsBehind: number | null } | null;
  semiSync?: { primaryEnabled: boolean; primaryActive: boolean; waitPoint: string; timeoutMs: number | null };
}

export type Repair = 'set-writable' | 'start-replication' | 'set-read-only' | 'semi-sync-replica-side' | 'semi-sync-primary-side' | 'publish-view' | 'mark-faulty';

export interface Finding {
  server: string;
  problem: string;
  /** What the round does about it; none: reported for an operator. */
  repair?: Repair;
}

export interface HealthInput {
  flavor: Flavor;
  primary: string;
  servers: HealthServer[];
  viewId: number;
  publishedViewId: number | null;
  lagLimitSeconds: number;
  semiSync: SemiSyncPolicy;
}

export const FAULTY_ANSWERING = 'FAULTY but answering: rejoin it when it is safe (gtidflow rejoin)';

/** IO errors a restart can cure (the source was away); anything else needs a person. */
const TRANSIENT_IO_ERRORS = new Set([0, 2003, 2013, 1158, 1159]);

/**
 * The drift between what is recorded and what the servers say, and which
 * of it is safe to repair without a person: a replica's stopped threads
 * after a transient error, read_only, semi-sync sides, the published view,
 * an unreachable replica marked FAULTY. Everything else is reported.
 */
export function assessHealth(input: HealthInput): Finding[] {
  const findings: Finding[] = [];
  const primary = input.servers.find((s) => s.address === input.primary);
  if (!primary?.reachable) return [{ server: input.primary, problem: 'the primary does not answer (detection decides on failover)' }];
  if (primary.readOnly) findings.push(assessReadOnlyPrimary(primary, input));
  findings.push(...assessSemiSync(primary, input.semiSync));
  if (input.publishedViewId !== input.viewId) {
    findings.push({ server: primary.address, problem: `published view ${input.publishedViewId ?? 'none'} differs from recorded view ${input.viewId}`, repair: 'publish-view' });
  }
  for (const s of input.servers) {
    if (s.address === input.primary || s.status === 'FAULTY') continue;
    findings.push(...assessReplica(s, primary, input));
  }
  for (const s of input.servers.filter((x) => x.status === 'FAULTY' && x.reachable)) {
    findings.push({ server: s.address, problem: FAULTY_ANSWERING });
  }
  return findings;
}

/**
 * A read-only recorded primary (restarted, or left fenced by a refused
 * failover) takes writes again, unless a replica holds what it lacks (a
 * killed primary truncates unacknowledged transactions on restart): then
 * a failover to that replica is the way, an operator's call.
 */
function assessReadOnlyPrimary(primary: HealthServer, input: HealthInput): Finding {
  // Only a primary that replicates from nobody, while no other server takes writes, may be opened again.
  if (primary.replication) return { server: primary.address, problem: `the primary is read-only and replicates from ${primary.replication.source}: an operator decides` };
  const open = input.servers.filter((s) => s.address !== primary.address && s.reachable && s.readOnly === false).map((s) => s.address);
  if (open.length) return { server: primary.address, problem: `the primary is read-only while ${open.join(', ')} is writable: an operator decides` };
  const ahead = input.servers.filter((s) => s.address !== primary.address && s.status !== 'FAULTY' && s.reachable).map((s) => ({
    address: s.address,
    extra: gtidDivergent(input.flavor, gtidUnion(input.flavor, s.executed ?? '', s.replication?.received ?? ''), primary.executed ?? ''),
  })).filter((s) => s.extra);
  if (ahead.length) {
    return { server: primary.address, problem: `the primary is read-only and lacks what ${ahead.map((a) => `${a.address} holds (${a.extra})`).join(', ')}: fail over to it (gtidflow failover)` };
  }
  return { server: primary.address, problem: 'the primary is read-only', repair: 'set-writable' };
}

export const ASYNC_PRIMARY = 'the primary runs asynchronously: acknowledged writes may be lost in a failover';

/** The primary side as the policy says; asynchronous is always worth saying. */
function assessSemiSync(primary: HealthServer, policy: SemiSyncPolicy): Finding[] {
  const s = primary.semiSync;
  if (policy === 'off') return [{ server: primary.address, problem: `${ASYNC_PRIMARY} (semi-sync policy off)` }];
  if (!s?.primaryEnabled) return [{ server: primary.address, problem: `${ASYNC_PRIMARY} (semi-sync off)`, repair: 'semi-sync-primary-side' }];
  if (s.waitPoint !== policy.waitPoint || s.timeoutMs !== policy.timeoutMs) {
    return [{ server: primary.address, problem: `semi-sync runs ${s.waitPoint}/${s.timeoutMs} ms, the policy says ${policy.waitPoint}/${policy.timeoutMs} ms`, repair: 'semi-sync-primary-side' }];
  }
  if (!s.primaryActive) return [{ server: primary.address, problem: `${ASYNC_PRIMARY} (semi-sync on but no replica acknowledges)` }];
  return [];
}

function assessReplica(s: HealthServer, primary: HealthServer, input: HealthInput): Finding[] {
  if (!s.reachable) return [{ server: s.address, problem: 'does not answer', repair: 'mark-faulty' }];
  const found: Finding[] = [];
  const divergent = gtidDivergent(input.flavor, s.executed ?? '', primary.executed ?? '');
  if (divergent) found.push({ server: s.address, problem: `errant transactions ${divergent}` });
  if (!s.readOnly) found.push({ server: s.address, problem: 'a replica is writable', repair: 'set-read-only' });
  if (s.semiSync?.primaryEnabled) found.push({ server: s.address, problem: 'the primary side of semi-sync is on on a replica', repair: 'semi-sync-replica-side' });
  const r = s.replication;
  if (!r) return [...found, { server: s.address, problem: `replicates from nobody, not from ${input.primary}` }];
  if (r.source !== input.primary) return [...found, { server: s.address, problem: `replicates from ${r.source}, not from ${input.primary}` }];
  if (r.sqlErrno) found.push({ server: s.address, problem: `applier stopped with error ${r.sqlErrno}: ${r.sqlError}` });
  else if (!r.sqlRunning || (!r.ioRunning && !r.ioConnecting)) {
    const curable = TRANSIENT_IO_ERRORS.has(r.ioErrno) && !divergent;
    found.push({ server: s.address, problem: `replication stopped (IO error ${r.ioErrno})`, ...(curable ? { repair: 'start-replication' as const } : {}) });
  }
  if (r.secondsBehind !== null && r.secondsBehind > input.lagLimitSeconds) found.push({ server: s.address, problem: `${r.secondsBehind} s behind` });
  return found;
}
