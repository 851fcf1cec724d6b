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

/**
 * What a health round finds, by code (after vtorc's analysis codes, like
 * warnings.ts): decisions compare codes, the text is for people.
 */
export type FindingCode =
  /** The primary does not answer: detection, not the health round, decides on a failover. */
  | 'primary-unreachable'
  /** The view published on the primary is not the recorded one (republished). */
  | 'view-not-published'
  /** A FAULTY server answers again: rejoin brings it back (by itself with policy rejoin auto). */
  | 'faulty-answering'
  /** The primary is read-only and nothing speaks against taking writes again (made writable). */
  | 'primary-read-only'
  /** The primary is read-only and replicates (a switchover that failed half-way): an operator decides. */
  | 'primary-read-only-replicating'
  /** The primary is read-only while another server is writable: an operator decides. */
  | 'primary-read-only-another-writable'
  /** The primary is read-only and a replica holds transactions it lacks: an operator fails over to it. */
  | 'primary-read-only-behind-replica'
  /** Semi-sync is off or not active on the primary: acknowledged writes may be lost in a failover. */
  | 'primary-async'
  /** The primary's semi-sync wait point or timeout differs from the policy (set again). */
  | 'semi-sync-mismatch'
  /** A replica does not answer (marked FAULTY). */
  | 'replica-unreachable'
  /** A replica holds transactions the primary lacks: never repaired, an operator decides. */
  | 'errant-transactions'
  /** A replica is writable (set read-only). */
  | 'replica-writable'
  /** The primary side of semi-sync is on on a replica (turned off). */
  | 'replica-semi-sync-primary-side'
  /** A replica replicates from nobody. */
  | 'replica-without-source'
  /** A replica replicates from another server than the primary. */
  | 'wrong-source'
  /** A replica's applier stopped with an error. */
  | 'applier-error'
  /** A replica's replication threads stopped (restarted after a transient IO error). */
  | 'replication-stopped'
  /** A replica is further behind than the lag limit. */
  | 'replica-lagging'
  /** The health round itself failed: nothing is known of the servers. */
  | 'health-round-failed';

export interface Finding {
  code: FindingCode;
  server: string;
  text: string;
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
  if (!primary?.reachable) return [{ code: 'primary-unreachable', server: input.primary, text: 'the primary does not answer (detection decides on failover)' }];
  if (primary.readOnly) findings.push(assessReadOnlyPrimary(primary, input));
  findings.push(...assessSemiSync(primary, input.semiSync));
  if (input.publishedViewId !== input.viewId) {
    findings.push({ code: 'view-not-published', server: primary.address, text: `published view ${input.publishedViewId ?? 'none'} differs from recorded view ${input.viewId}`, repair: 'publish-view' });
  }
  for (const s of input.servers) {
    if (s.address === input.primary || s.status === 'FAULTY') continue;
    findings.push(...assessReplica(s, primary, input));
  }
  for (const s of input.servers.filter((x) => x.status === 'FAULTY' && x.reachable)) {
    findings.push({ code: 'faulty-answering', server: s.address, text: 'FAULTY but answering: rejoin it when it is safe (gtidflow rejoin)' });
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
  if (primary.replication) return { code: 'primary-read-only-replicating', server: primary.address, text: `the primary is read-only and replicates from ${primary.replication.source}: an operator decides` };
  const open = input.servers.filter((s) => s.address !== primary.address && s.reachable && s.readOnly === false).map((s) => s.address);
  if (open.length) return { code: 'primary-read-only-another-writable', server: primary.address, text: `the primary is read-only while ${open.join(', ')} is writable: an operator decides` };
  const ahead = input.servers.filter((s) => s.address !== primary.address && s.status !== 'FAULTY' && s.reachable).map((s) => ({
    address: s.address,
    extra: gtidDivergent(input.flavor, gtidUnion(input.flavor, s.executed ?? '', s.replication?.received ?? ''), primary.executed ?? ''),
  })).filter((s) => s.extra);
  if (ahead.length) {
    return { code: 'primary-read-only-behind-replica', server: primary.address, text: `the primary is read-only and lacks what ${ahead.map((a) => `${a.address} holds (${a.extra})`).join(', ')}: fail over to it (gtidflow failover)` };
  }
  return { code: 'primary-read-only', server: primary.address, text: 'the primary is read-only', repair: 'set-writable' };
}

export const ASYNC_PRIMARY = 'the primary runs asynchronously: acknowledged writes may be lost in a failover';

/** The primary side as the policy says; asynchronous is always worth saying. */
function assessSemiSync(primary: HealthServer, policy: SemiSyncPolicy): Finding[] {
  const s = primary.semiSync;
  if (policy === 'off') return [{ code: 'primary-async', server: primary.address, text: `${ASYNC_PRIMARY} (semi-sync policy off)` }];
  if (!s?.primaryEnabled) return [{ code: 'primary-async', server: primary.address, text: `${ASYNC_PRIMARY} (semi-sync off)`, repair: 'semi-sync-primary-side' }];
  if (s.waitPoint !== policy.waitPoint || s.timeoutMs !== policy.timeoutMs) {
    return [{ code: 'semi-sync-mismatch', server: primary.address, text: `semi-sync runs ${s.waitPoint}/${s.timeoutMs} ms, the policy says ${policy.waitPoint}/${policy.timeoutMs} ms`, repair: 'semi-sync-primary-side' }];
  }
  if (!s.primaryActive) return [{ code: 'primary-async', server: primary.address, text: `${ASYNC_PRIMARY} (semi-sync on but no replica acknowledges)` }];
  return [];
}

function assessReplica(s: HealthServer, primary: HealthServer, input: HealthInput): Finding[] {
  if (!s.reachable) return [{ code: 'replica-unreachable', server: s.address, text: 'does not answer', repair: 'mark-faulty' }];
  const found: Finding[] = [];
  const divergent = gtidDivergent(input.flavor, s.executed ?? '', primary.executed ?? '');
  if (divergent) found.push({ code: 'errant-transactions', server: s.address, text: `errant transactions ${divergent}` });
  if (!s.readOnly) found.push({ code: 'replica-writable', server: s.address, text: 'a replica is writable', repair: 'set-read-only' });
  if (s.semiSync?.primaryEnabled) found.push({ code: 'replica-semi-sync-primary-side', server: s.address, text: 'the primary side of semi-sync is on on a replica', repair: 'semi-sync-replica-side' });
  const r = s.replication;
  if (!r) return [...found, { code: 'replica-without-source', server: s.address, text: `replicates from nobody, not from ${input.primary}` }];
  if (r.source !== input.primary) return [...found, { code: 'wrong-source', server: s.address, text: `replicates from ${r.source}, not from ${input.primary}` }];
  if (r.sqlErrno) found.push({ code: 'applier-error', server: s.address, text: `applier stopped with error ${r.sqlErrno}: ${r.sqlError}` });
  else if (!r.sqlRunning || (!r.ioRunning && !r.ioConnecting)) {
    const curable = TRANSIENT_IO_ERRORS.has(r.ioErrno) && !divergent;
    found.push({ code: 'replication-stopped', server: s.address, text: `replication stopped (IO error ${r.ioErrno})`, ...(curable ? { repair: 'start-replication' as const } : {}) });
  }
  if (r.secondsBehind !== null && r.secondsBehind > input.lagLimitSeconds) found.push({ code: 'replica-lagging', server: s.address, text: `${r.secondsBehind} s behind` });
  return found;
}
