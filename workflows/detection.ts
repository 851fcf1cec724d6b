import { ActivityOptions, CancellationScope, isCancellation, proxyActivities, sleep } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { MonitorArgs, MonitorEvent, MonitorResult } from '../activities/monitor';
import { AGENT_PROTOCOL } from './api';
import type { ClusterState } from './model';
import { activity, agentActivity, PERSISTENT } from './steps';
import { since } from './versions';

/**
 * The watch runs as one long activity that heartbeats at least every probe
 * interval; a dead worker is noticed after two intervals without one (3 s
 * at least) and the watch restarts on another at once. It retries for
 * ever: a cluster is never left unwatched.
 */
function watchActivity(probeIntervalMs: number) {
  return proxyActivities<typeof activities>({
    startToCloseTimeout: '1 day',
    heartbeatTimeout: `${Math.max(3_000, 2 * probeIntervalMs)} milliseconds`,
    retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
    summary: 'watch the primary',
  }).monitorPrimary;
}

/** One confirmation of what the primary's agent said (monitorPrimary with agentReport: about one probe interval), one try. */
function confirmActivity(probeIntervalMs: number, primary: string) {
  return proxyActivities<typeof activities>({
    startToCloseTimeout: `${10_000 + 3 * probeIntervalMs} milliseconds`,
    retry: { maximumAttempts: 1 },
    summary: `confirm what the agent of ${primary} says`,
  }).monitorPrimary;
}

/**
 * The primary's agent watching mariadbd: no schedule-to-start timeout (an
 * agent that does not poll costs nothing, and takes the task when it
 * starts), a short heartbeat timeout and no retry (an agent that is gone
 * is no evidence; it is asked again after AGENT_RETRY_MS).
 */
const AGENT_WATCH: ActivityOptions = { startToCloseTimeout: '1 day', heartbeatTimeout: '2 seconds', scheduleToStartTimeout: undefined, retry: { maximumAttempts: 1 } };
/** After a failed agent watch, the first wait before asking again; it doubles up to AGENT_RETRY_MAX_MS. */
const AGENT_RETRY_MS = 2_000;
const AGENT_RETRY_MAX_MS = 5 * 60_000;

/** Whom the watch looks at: the primary, the replicas that vote on its death, the FAULTY servers that must stay fenced. */
export function watchTargets(state: ClusterState, primary = state.primary): { primary: string; replicas: string[]; faulty: string[] } {
  return {
    primary,
    replicas: state.servers.filter((s) => s.address !== primary && s.status !== 'FAULTY').map((s) => s.address),
    faulty: state.servers.filter((s) => s.status === 'FAULTY').map((s) => s.address),
  };
}

/**
 * Watches until something needs a decision; undefined when cancelled (a
 * switchover or failover starts, or the servers changed and the watch
 * restarts on the new ones).
 */
export async function watchOnce(state: ClusterState, scope: CancellationScope, primary = state.primary): Promise<MonitorEvent | undefined> {
  const { policies } = state.config;
  const args: MonitorArgs = {
    cluster: state.config.name,
    ...watchTargets(state, primary),
    access: state.config.access,
    intervalMs: policies.probeIntervalMs,
    threshold: policies.probeFailures,
    knownWarning: state.warnings.find((w) => w.code === 'manager-cut-off')?.code,
  };
  try {
    // The patch is asked only where the agent can watch: conductors without agents record no marker.
    if (state.config.agents && since.agentWatch()) return await scope.run(() => watchWithAgent(args));
    return eventOf(await scope.run(() => watchActivity(policies.probeIntervalMs)(args)));
  } catch (err) {
    if (isCancellation(err)) return undefined;
    throw err;
  }
}

/** The watch's own events; a confirmation's "not a death" is never one. */
const eventOf = (result: MonitorResult): MonitorEvent | undefined => (result.kind === 'agent-report-unconfirmed' ? undefined : result);

/**
 * The watch with a third vantage point: the monitor runs as without
 * agents, untouched, while the primary's host agent watches mariadbd.
 * Whichever has a decision first ends the other.
 */
async function watchWithAgent(args: MonitorArgs): Promise<MonitorEvent | undefined> {
  const monitor = new CancellationScope();
  const agent = new CancellationScope();
  try {
    return await Promise.race([
      monitor.run(() => watchActivity(args.intervalMs)(args)).then(eventOf),
      agent.run(() => deathFromAgent(args)),
    ]);
  } finally {
    monitor.cancel();
    agent.cancel();
  }
}

/**
 * Resolves only with a confirmed death: when the primary's agent says
 * mariadbd is not running, is gone or was replaced by another process,
 * the monitor confirms at once (the manager's probe fails too and a strict
 * majority of the replicas lost the primary: activities/monitor.ts)
 * instead of after the threshold of failed probes. Unconfirmed, the
 * agent's word is spent: it is asked again only about a later change of
 * the pid. An agent that fails or never polls decides nothing and delays
 * nothing.
 */
async function deathFromAgent(args: MonitorArgs): Promise<MonitorEvent> {
  /** mariadbd's pid as the agent last said (null: not running); undefined before it said anything. */
  let known: number | null | undefined;
  for (let failures = 0; ;) {
    let report: { was: number | null; pid: number | null };
    try {
      report = await agentActivity(args.primary, 'watchMariadbd', `is mariadbd running beside ${args.primary}`, AGENT_WATCH)(
        { protocol: AGENT_PROTOCOL, ...(known !== undefined && { pid: known }) });
    } catch (err) {
      if (isCancellation(err)) throw err;
      failures++;
      await sleep(Math.min(AGENT_RETRY_MAX_MS, AGENT_RETRY_MS * 2 ** (failures - 1)));
      continue;
    }
    failures = 0;
    known = report.pid;
    // mariadbd started: nothing died.
    if (report.pid !== null && report.was === null) continue;
    const agent = `the agent of ${args.primary} says mariadbd`;
    const said = report.pid !== null ? `${agent} was restarted (pid ${report.was} → ${report.pid})`
      : report.was !== null ? `${agent} (pid ${report.was}) is gone` : `${agent} is not running`;
    let result: MonitorResult | undefined;
    try {
      result = await confirmActivity(args.intervalMs, args.primary)({ ...args, agentReport: said });
    } catch (err) {
      if (isCancellation(err)) throw err;
    }
    if (result?.kind === 'primary-dead') return result;
  }
}

/** A FAULTY server answering writable (a frozen old primary thawed): read-only, sessions ended, out of the writer backend. */
export async function fenceReturned(state: ClusterState, address: string): Promise<void> {
  const { access, router } = state.config;
  if (router) await activity('fenceWriter', `keep ${address} out of the writer backend`, PERSISTENT)({ router, server: address });
  await activity('setReadOnly', `read_only on returning FAULTY ${address}`)({ address, access, readOnly: true });
  await activity('killClientConnections', `end sessions on returning FAULTY ${address}`)({ address, access });
}
