import { judgePrimary, type QuorumResult, type ReplicaView } from '../workflows/logic/quorum';
import { sourceAddress } from '../workflows/logic/address';
import type { Warning, WarningCode } from '../workflows/logic/warnings';
import { heartbeat, throwIfCancelled } from './context';
import type { Access } from './db/connection';
import { HeldSession } from './held-session';
import { probeServer } from './server-state';
import { failureDetected, replicationLag } from './metrics';

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
}

export type MonitorEvent =
  | { kind: 'primary-dead'; reason: string; detectedAfterMs: number }
  | { kind: 'warning'; warning: Warning }
  | { kind: 'warning-cleared' }
  | { kind: 'faulty-writable'; address: string };

/**
 * Watches one cluster's primary until something needs a decision, then
 * returns it: the primary dead by quorum (safety rule 1), the manager alone
 * cut off (a warning), a warning gone, or a FAULTY server writable again.
 * Runs for as long as nothing happens, heartbeating each round.
 */
export async function monitorPrimary(args: MonitorArgs): Promise<MonitorEvent> {
  const probeAccess = { ...args.access, connectTimeoutMs: Math.max(200, Math.floor(args.intervalMs * 0.8)) };
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
  for (let round = 0; ; round++) {
    const started = Date.now();
    throwIfCancelled();
    const probe = await probeServer({ address: args.primary, access: probeAccess });
    if (probe.reachable) {
      failures = 0;
      await session.hold();
      if (args.knownWarning) return { kind: 'warning-cleared' };
    } else {
      if (failures === 0) firstFailureAt = started;
      failures++;
      failureDetected(args.cluster, args.primary);
    }
    const refused = !probe.reachable && probe.refused && failures < args.threshold;
    if (failures >= args.threshold || refused) {
      const verdict = refused ? await confirmRefused(args, probeAccess, failures) : await askReplicas(args, probeAccess, failures, false);
      if (verdict.verdict === 'dead') return { kind: 'primary-dead', reason: verdict.reason, detectedAfterMs: Date.now() - firstFailureAt };
      if (verdict.verdict === 'unreachable-from-manager' && args.knownWarning !== 'manager-cut-off') {
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
async function confirmRefused(args: MonitorArgs, access: Access, failures: number): Promise<QuorumResult> {
  const deadline = Date.now() + args.intervalMs;
  for (;;) {
    const verdict = await askReplicas(args, access, failures, true);
    if (verdict.verdict !== 'suspect' || Date.now() >= deadline) return verdict;
    heartbeat({ failures });
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

/** Each replica's view of the primary: lost when its IO thread is not streaming from it. */
async function askReplicas(args: MonitorArgs, access: Access, failures: number, refused: boolean): Promise<QuorumResult> {
  const replicas: ReplicaView[] = await Promise.all(args.replicas.map(async (address) => {
    const state = await probeServer({ address, access });
    if (!state.reachable) return { address, reachable: false, ioRunning: false };
    const r = state.replication;
    const fromPrimary = r !== null && sourceAddress(r) === args.primary;
    return { address, reachable: true, ioRunning: fromPrimary && r.ioRunning };
  }));
  // MariaDB 10.11 shows no age of the last event: a silent primary shows as an IO thread that
  // reconnects after slave_net_timeout, which the replication heartbeat keeps to seconds.
  return judgePrimary({ probeFailures: failures, threshold: args.threshold, refused, replicas, heartbeatTimeoutSeconds: Infinity });
}
