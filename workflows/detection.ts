import { CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { MonitorEvent } from '../activities/monitor';
import type { ClusterState } from './model';
import { activity, PERSISTENT } from './steps';

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
  try {
    return await scope.run(() => watchActivity(policies.probeIntervalMs)({
      cluster: state.config.name,
      ...watchTargets(state, primary),
      access: state.config.access,
      intervalMs: policies.probeIntervalMs,
      threshold: policies.probeFailures,
      knownWarning: state.warnings.find((w) => w.code === 'manager-cut-off')?.code,
    }));
  } catch (err) {
    if (isCancellation(err)) return undefined;
    throw err;
  }
}

/** A FAULTY server answering writable (a frozen old primary thawed): read-only, sessions ended, out of the writer backend. */
export async function fenceReturned(state: ClusterState, address: string): Promise<void> {
  const { access, router } = state.config;
  if (router) await activity('fenceWriter', `keep ${address} out of the writer backend`, PERSISTENT)({ router, server: address });
  await activity('setReadOnly', `read_only on returning FAULTY ${address}`)({ address, access, readOnly: true });
  await activity('killClientConnections', `end sessions on returning FAULTY ${address}`)({ address, access });
}
