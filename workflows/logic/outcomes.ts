import type { HealthReport } from '../api';
import type { ClusterState, OperationParams, OperationResult, RunningOperation } from '../model';
import { recordOperation } from './views';
import type { Warning } from './warnings';

/** How an operation the conductor ran ended. */
export type Outcome = { ok: true; result: OperationResult } | { ok: false; message: string };

/**
 * The recorded state after an operation ended: a new view when it changed
 * the cluster. A bootstrap keeps view 1 and a health round the current one
 * unless they marked a server FAULTY; a failed operation changes nothing
 * but the last operation's line.
 */
export function recordOutcome(state: ClusterState, op: RunningOperation, outcome: Outcome, at: string): ClusterState {
  const name = `${op.kind} #${op.id}`;
  const last = (outcome: 'completed' | 'failed', message: string) => ({ id: op.id, kind: op.kind, outcome, message, at });
  if (op.kind === 'health') return { ...recordHealth(state, outcome, name, at), operation: null };
  if (!outcome.ok) return { ...state, lastOperation: last('failed', outcome.message), operation: null };
  const next = op.kind === 'bootstrap'
    ? { ...(statusChanged(state, outcome.result) ? recordOperation(state, outcome.result, name, at) : state), bootstrapped: true }
    : recordOperation(state, outcome.result, name, at);
  return { ...next, lastOperation: last('completed', outcome.result.summary), operation: null };
}

function statusChanged(state: ClusterState, result: OperationResult): boolean {
  return result.servers.some((s, i) => s.status !== state.servers[i].status);
}

/**
 * What the conductor does with a health tick's report (workflows/health-tick.ts):
 * nothing when it judged another view, or an operation ran since; a health round when something is to
 * be repaired, or the recorded primaries are to be learned (the round does
 * that); else the findings are recorded as a round's would be.
 */
export type ReportAnswer = { action: 'ignore' } | { action: 'round' } | { action: 'record'; state: ClusterState };

export function answerReport(state: ClusterState, report: HealthReport): ReportAnswer {
  if (report.viewId !== state.viewId || report.operationCount !== state.operationCount) return { action: 'ignore' };
  const { outcome } = report;
  if (outcome.ok && (!state.primaries || outcome.findings.some((f) => f.repair))) return { action: 'round' };
  const judged: Outcome = outcome.ok
    ? { ok: true, result: { primary: state.primary, servers: state.servers, findings: outcome.findings, summary: '' } }
    : outcome;
  return { action: 'record', state: recordHealth(state, judged, 'health', report.at) };
}

/** A health round records its findings, and learns the primaries' origins when they were unknown. */
function recordHealth(state: ClusterState, outcome: Outcome, name: string, at: string): ClusterState {
  if (!outcome.ok) return { ...state, health: { at, findings: [{ code: 'health-round-failed', server: state.primary, text: `health round failed: ${outcome.message}` }] } };
  const next = statusChanged(state, outcome.result) ? recordOperation(state, outcome.result, name, at) : state;
  const primaries = next.primaries ?? outcome.result.learnedPrimaries ?? null;
  return { ...next, primaries, health: { at, findings: outcome.result.findings ?? [] } };
}

/**
 * A 0.1.0 health round named its findings by sentence only: a conductor
 * replaying one decided on this text (see workflows/versions.ts). Goes
 * when no 0.1.0 conductor can be running any more.
 */
const FAULTY_ANSWERING_0_1 = 'FAULTY but answering: rejoin it when it is safe (gtidflow rejoin)';

/**
 * Crash recovery after a health round: a FAULTY server answering again is
 * brought back, if policy says so (rejoin refuses a diverged one, unless
 * the policy is auto-reprovision: then it saves its errant transactions and
 * replaces its data).
 */
export function followUp(state: ClusterState, findingsHaveCodes = true): OperationParams | undefined {
  const { rejoin } = state.config.policies;
  if (rejoin === 'notify') return undefined;
  const returning = state.health?.findings.find((f) => (findingsHaveCodes ? f.code === 'faulty-answering' : (f as { problem?: string }).problem === FAULTY_ANSWERING_0_1));
  return returning && { kind: 'rejoin', target: returning.server, ...(rejoin === 'auto-reprovision' && { reprovision: true }) };
}

/** Why a queued operation no longer applies when its turn comes: a failover meant for a primary that is no longer the recorded one. */
export function outdated(state: Pick<ClusterState, 'primary'>, params: OperationParams): string | undefined {
  if (params.kind !== 'failover' || params.primary === undefined || params.primary === state.primary) return undefined;
  return `not run: it was meant for primary ${params.primary}, and ${state.primary} is the primary now`;
}

/** Safety rule 6: after an automatic failover, none again within the block period unless acknowledged. */
export function automaticFailoverBlocked(state: ClusterState, nowMs: number): string | undefined {
  if (!state.lastAutomaticFailoverAt) return undefined;
  const until = Date.parse(state.lastAutomaticFailoverAt) + state.config.policies.blockSeconds * 1000;
  return nowMs < until
    ? `an automatic failover ran at ${state.lastAutomaticFailoverAt}; none again before ${new Date(until).toISOString()} unless acknowledged (gtidflow ack ${state.config.name})`
    : undefined;
}

/**
 * What the conductor does when the watch finds the primary dead: fail over
 * by itself; or withhold it (policy notify, or the block period) with a
 * warning saying why; or nothing, when an operator's failover already runs
 * or waits (it is the answer).
 */
export type DeathResponse = { action: 'failover'; reason: string } | { action: 'withhold'; warning: Warning } | { action: 'none' };

export function respondToDeath(state: ClusterState, reason: string, nowMs: number, failoverPending: boolean): DeathResponse {
  const why = state.config.policies.failover === 'notify' ? 'the failover policy is notify: run gtidflow failover' : automaticFailoverBlocked(state, nowMs);
  if (why) return { action: 'withhold', warning: { code: 'failover-withheld', server: state.primary, text: `primary ${state.primary} is dead (${reason}); no automatic failover: ${why}` } };
  if (failoverPending) return { action: 'none' };
  return { action: 'failover', reason: `automatic: ${reason}` };
}
