import { judgePrimary, type QuorumResult, type ReplicaView } from '../workflows/logic/quorum';
import { sourceAddress } from '../workflows/logic/address';
import type { Warning, WarningCode } from '../workflows/logic/warnings';
import { heartbeat, throwIfCancelled } from './context';
import type { Access } from './db/connection';
import { HeldSession } from './held-session';
import { probeServer, type ServerState, type UnreachableServer } from './server-state';
import { failureDetected, replicationLag } from './metrics';
import { Receipts } from './receipts';
import { HEARTBEAT_SECONDS } from './replication';
import { withFlavor } from './with-flavor';

export interface MonitorArgs {
  cluster: string;
  primary: string;
  replicas: string[];
  /** FAULTY servers: if one answers writable (a frozen old primary thawing), the watch reports it. */
  faulty: string[];
  access: Access;
  intervalMs: number;
  /** Consecutive failed probes before the replicas are asked. */
  threshold: number;
  /** A warning the cluster already shows: not reported again while it lasts. */
  knownWarning?: WarningCode;
  /**
   * What the primary's host agent said (mariadbd gone or restarted): then
   * this call does not watch, it confirms once (confirmAgentReport) and returns.
   */
  agentReport?: string;
}

export type MonitorEvent =
  | { kind: 'primary-dead'; reason: string; detectedAfterMs: number }
  | { kind: 'warning'; warning: Warning }
  | { kind: 'warning-cleared' }
  | { kind: 'faulty-writable'; address: string };

/** What monitorPrimary answers: an event, or (only when asked to confirm an agent's report) why the report is not a death. */
export type MonitorResult = MonitorEvent | { kind: 'agent-report-unconfirmed'; reason: string };

/**
 * Watches one cluster's primary until something needs a decision, then
 * returns it: the primary dead by quorum (safety rule 1), the manager alone
 * cut off (a warning), a warning gone, or a FAULTY server writable again.
 * Runs for as long as nothing happens, heartbeating each round.
 */
export async function monitorPrimary(args: MonitorArgs): Promise<MonitorResult> {
  // A probe fails within the interval, in its connect or in a statement: a server that logs in and then answers
  // nothing must count as failed probes, not hold the watch past its heartbeat timeout (which restarts the count).
  const probeTimeoutMs = Math.max(200, Math.floor(args.intervalMs * 0.8));
  const probeAccess = { ...args.access, connectTimeoutMs: probeTimeoutMs, queryTimeoutMs: probeTimeoutMs };
  if (args.agentReport !== undefined) return confirmAgentReport({ ...args, agentReport: args.agentReport }, probeAccess);
  const session = new HeldSession(args.primary, probeAccess);
  try {
    return await watch(args, probeAccess, session);
  } finally {
    session.close();
  }
}

async function watch(args: MonitorArgs, probeAccess: Access, session: HeldSession): Promise<MonitorEvent> {
  let failures = 0;
  let firstFailureAt = 0;
  const receipts = new Receipts(SILENCE_MS);
  let sampling: Promise<unknown> | undefined;
  for (let round = 0; ; round++) {
    const started = Date.now();
    throwIfCancelled();
    // Over the held session when there is one (a statement), else in full (a new connection, as the first probe and after a failure).
    const probe = (await session.probe()) ?? await probeServer({ address: args.primary, access: probeAccess });
    if (probe.reachable) {
      failures = 0;
      receipts.forget();
      await session.hold();
      if (args.knownWarning) return { kind: 'warning-cleared' };
    } else {
      if (failures === 0) firstFailureAt = started;
      failures++;
      failureDetected(args.cluster, args.primary);
    }
    const refused = !probe.reachable && probe.refused && failures < args.threshold;
    // Below the threshold, what each replica received is noted (not awaited): at the threshold, one that received nothing since is silent.
    if (failures > 0 && failures < args.threshold && !refused && !sampling) {
      sampling = replicaViews(args, probeAccess, receipts).finally(() => (sampling = undefined));
    }
    if (failures >= args.threshold || refused) {
      const verdict = refused ? await confirmRefused(args, probeAccess, failures, receipts) : await askReplicas(args, probeAccess, failures, false, receipts);
      if (verdict.verdict === 'dead') return { kind: 'primary-dead', reason: verdict.reason, detectedAfterMs: Date.now() - firstFailureAt };
      // Only once the replicas were watched long enough to have heard a heartbeat: before that, silent ones look like hearing ones.
      const heard = receipts.watchedFor(performance.now()) > SILENCE_MS;
      if (verdict.verdict === 'unreachable-from-manager' && heard && args.knownWarning !== 'manager-cut-off') {
        const text = `primary ${args.primary} unreachable from the manager only: ${verdict.reason}`;
        return { kind: 'warning', warning: { code: 'manager-cut-off', server: args.primary, text } };
      }
    }
    if (round % 5 === 0) {
      const writable = await slowerChecks(args, probeAccess);
      if (writable) return { kind: 'faulty-writable', address: writable };
    }
    heartbeat({ round, failures });
    await Promise.race([sleep(Math.max(0, args.intervalMs - (Date.now() - started))), session.end()]);
  }
}

const REFUSED_RETRY_MS = 50;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The primary's host refused the probe: the replicas' IO threads see the
 * same close a moment later, so they are asked again every few ms, for up
 * to one probe interval, until a majority lost it (safety rule 1).
 */
async function confirmRefused(args: MonitorArgs, access: Access, failures: number, receipts: Receipts): Promise<QuorumResult> {
  const deadline = Date.now() + args.intervalMs;
  for (;;) {
    const verdict = await askReplicas(args, access, failures, true, receipts);
    if (verdict.verdict !== 'suspect' || Date.now() >= deadline) return verdict;
    heartbeat({ failures });
    await sleep(REFUSED_RETRY_MS);
  }
}

/**
 * The primary's host agent says mariadbd is gone (or was replaced): as
 * good a sign that the process died as a refused connection, so the
 * threshold of failed probes is not waited for. The meaning of safety
 * rule 1 stays: dead only if the manager's own probe fails too (a primary
 * that answers the manager is alive, whatever its agent reads in a pid
 * file) and a strict majority of the reachable replicas lost it, asked
 * every few ms for up to one probe interval, as after a refused probe.
 * The agent never decides alone, nor with the replicas against the manager.
 */
async function confirmAgentReport(args: MonitorArgs & { agentReport: string }, access: Access): Promise<MonitorResult> {
  const started = Date.now();
  const deadline = started + args.intervalMs;
  let probe: ServerState | UnreachableServer | undefined;
  void probeServer({ address: args.primary, access }).then((answer) => (probe = answer));
  for (;;) {
    // The replicas are judged on what they say after the probe's answer was in.
    const answered = probe;
    if (answered?.reachable) return { kind: 'agent-report-unconfirmed', reason: `${args.agentReport}, but the primary answered the manager's probe` };
    // Connected but not answering within the probe's statement timeout: a process that took a connection is not gone.
    if (!answered && Date.now() >= deadline + args.intervalMs) return { kind: 'agent-report-unconfirmed', reason: `${args.agentReport}, but the manager's probe hangs` };
    const replicas = await replicaViews(args, access, new Receipts(SILENCE_MS));
    // The refused form of the quorum (logic/quorum.ts): a strict majority at once, no threshold, the IO threads alone.
    const { verdict } = judgePrimary({ probeFailures: 1, threshold: Number.POSITIVE_INFINITY, refused: true, replicas, silenceMs: Infinity });
    if (answered && (verdict === 'dead' || Date.now() >= deadline)) {
      const witnesses = replicas.filter((r) => r.reachable);
      const tally = `${witnesses.filter((r) => !r.ioRunning).length} of ${witnesses.length} reachable replica(s) lost it`;
      if (verdict !== 'dead') return { kind: 'agent-report-unconfirmed', reason: `${args.agentReport}, but only ${tally}` };
      return { kind: 'primary-dead', reason: `${args.agentReport}, the manager's probe failed too (${answered.error}) and ${tally}`, detectedAfterMs: Date.now() - started };
    }
    heartbeat();
    await sleep(REFUSED_RETRY_MS);
  }
}

/** Every few rounds: replication lag for the metrics, and any FAULTY server that is writable again. */
async function slowerChecks(args: MonitorArgs, access: Access): Promise<string | undefined> {
  // A heartbeat after each probe: several hung servers in a row must not look like a dead worker.
  for (const address of args.replicas) {
    const state = await probeServer({ address, access });
    heartbeat();
    if (state.reachable && state.replication?.secondsBehind != null) replicationLag(args.cluster, address, state.replication.secondsBehind);
  }
  for (const address of args.faulty) {
    const state = await probeServer({ address, access });
    heartbeat();
    if (state.reachable && !state.readOnly) return address;
  }
  return undefined;
}

/**
 * A replica whose IO thread still counts as connected may hear nothing from
 * a silent primary: what it received unchanged for longer than three
 * heartbeat periods (the primary sends one every HEARTBEAT_SECONDS when it
 * has no event to send) is the primary lost to it.
 */
const SILENCE_MS = 3 * HEARTBEAT_SECONDS * 1_000;

/** Each replica's view of the primary: lost when its IO thread is not streaming from it, or has received nothing for SILENCE_MS. */
function replicaViews(args: MonitorArgs, access: Access, receipts: Receipts): Promise<ReplicaView[]> {
  const token = receipts.begin();
  return Promise.all(args.replicas.map(async (address): Promise<ReplicaView> => {
    try {
      return await withFlavor(address, access, async (db, flavor) => {
        const r = await flavor.replicationStatus(db);
        const fromPrimary = r !== null && sourceAddress(r) === args.primary;
        const sentAt = performance.now();
        const received = fromPrimary && flavor.receiveProgress ? await flavor.receiveProgress(db) : null;
        const read = { progress: received?.progress ?? null, heartbeatSeconds: received?.heartbeatSeconds ?? 0, sentAt, answeredAt: performance.now() };
        return { address, reachable: true, ioRunning: fromPrimary && r.ioRunning, silentForMs: receipts.silentFor(token, address, read) };
      });
    } catch {
      return { address, reachable: false, ioRunning: false };
    }
  }));
}

async function askReplicas(args: MonitorArgs, access: Access, failures: number, refused: boolean, receipts: Receipts): Promise<QuorumResult> {
  const replicas = await replicaViews(args, access, receipts);
  // The refused form is the IO threads' alone (safety rule 1's fast path): silence counts only after the threshold.
  return judgePrimary({ probeFailures: failures, threshold: args.threshold, refused, replicas, silenceMs: refused ? Infinity : SILENCE_MS });
}
