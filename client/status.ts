import type { Client } from '@temporalio/client';
import type { Access } from '../activities/db/connection';
import { probeServer } from '../activities/server-state';
import { sourceAddress } from '../workflows/logic/address';
import { ASYNC_PRIMARY } from '../workflows/logic/health';
import type { Warning } from '../workflows/logic/warnings';
import type { ClusterHoldMemo, memoOf } from '../workflows/memo';
import { clusterWorkflowId, progressQuery, stateQuery } from '../workflows/api';
import { oneLine } from './connect';
import { sleep } from './local/ports';

export interface ClusterStatus {
  cluster: string;
  viewId: number;
  primary: string;
  servers: {
    address: string; status: string; readOnly: boolean | null; replicatingFrom: string | null; gtid: string | null; penalty: number;
    capability: string; error?: string;
  }[];
  operation: ReturnType<typeof memoOf>['operation'];
  lastOperation: ReturnType<typeof memoOf>['lastOperation'];
  warnings: Warning[];
  health: ReturnType<typeof memoOf>['health'];
  /** A shard move's cut-over holding the conductor (no switchover starts meanwhile), while it lasts. */
  hold: ClusterHoldMemo | null;
}

const unknownCluster = (cluster: string, why = '') => new Error(`unknown cluster "${cluster}"${why}: register it with gtidflow cluster apply -f`);

/**
 * The recorded state from the conductor's memo (no worker needed), with
 * each server's live facts read directly by this process.
 */
export async function clusterStatus(client: Client, cluster: string): Promise<ClusterStatus> {
  let memo: ReturnType<typeof memoOf> & { access: Access };
  try {
    const described = await client.workflow.getHandle(clusterWorkflowId(cluster)).describe();
    // A conductor that ended (a bootstrap that failed is terminated) manages nothing: its last memo is no cluster.
    if (described.status.name !== 'RUNNING') throw unknownCluster(cluster, ` (its conductor ${clusterWorkflowId(cluster)} is ${described.status.name})`);
    memo = (await described.memo)?.state as typeof memo;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') throw unknownCluster(cluster);
    throw err;
  }
  let asynchronous = false;
  const servers = await Promise.all(memo.servers.map(async (s) => {
    const live = await probeServer({ address: s.address, access: { ...memo.access, connectTimeoutMs: 1000 } });
    if (live.reachable && s.address === memo.primary && !live.semiSync.primaryActive) asynchronous = true;
    const recorded = { address: s.address, status: s.status, penalty: s.penalty, capability: s.capability };
    return live.reachable
      ? { ...recorded, readOnly: live.readOnly, gtid: live.executed, replicatingFrom: live.replication ? sourceAddress(live.replication) : null }
      : { ...recorded, readOnly: null, replicatingFrom: null, gtid: null, error: live.error };
  }));
  // Semi-sync is what keeps an acknowledged write on a replica: without it a failover may lose some.
  const warnings: Warning[] = asynchronous
    ? [...memo.warnings, { code: 'primary-async', server: memo.primary, text: `${ASYNC_PRIMARY} (semi-sync is not active on ${memo.primary})` }]
    : memo.warnings;
  // Recorded before holds were: none. One past its end is over.
  const hold = memo.hold && Date.parse(memo.hold.until) > Date.now() ? memo.hold : null;
  return { cluster, viewId: memo.viewId, primary: memo.primary, servers, operation: memo.operation, lastOperation: memo.lastOperation, warnings, health: memo.health, hold };
}

/** What `--watch` adds to the recorded state: the running operation's step, and since when no worker answered. */
export interface Liveness {
  step: string | null;
  /** A clone's copy as its agent last reported it (its heartbeat): bytes so far, bytes a second, seconds left. */
  copy?: CopyProgress | null;
  /** Seconds since a worker last answered a query (or since the watch began); null while one answers. */
  workerSilentSeconds: number | null;
}

export function formatStatus(status: ClusterStatus, live?: Liveness): string {
  const op = (status.operation ? `running ${status.operation.kind} #${status.operation.id}` : 'idle') + (status.hold ? `, held by ${status.hold.holder} until ${status.hold.until}` : '');
  const last = status.lastOperation ? `; last: ${status.lastOperation.kind} #${status.lastOperation.id} ${status.lastOperation.outcome}: ${status.lastOperation.message}` : '';
  const rows = status.servers.map((s) => [
    s.address, s.status, `penalty=${s.penalty}`,
    s.error ? 'unreachable' : s.readOnly ? 'read-only' : 'writable',
    s.replicatingFrom ? `replicates from ${s.replicatingFrom}` : s.error ? s.error : 'replicates from nobody',
    s.gtid !== null ? `gtid=${s.gtid || '(empty)'}` : '',
    // Recorded before capabilities were shown: absent means the default.
    s.capability && s.capability !== 'read-write' ? `capability=${s.capability}` : '',
  ]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return [
    `cluster ${status.cluster}: view ${status.viewId}, primary ${status.primary}, ${op}${last}`,
    ...(status.operation && live?.step ? [`  current step: ${live.step}`] : []),
    ...(status.operation && live?.copy ? [`  copy: ${formatCopy(live.copy)}`] : []),
    ...(live?.workerSilentSeconds != null ? [`WARNING: ${noWorkerLine(live.workerSilentSeconds)}`] : []),
    ...status.warnings.map((w) => `WARNING: ${w.text}`),
    ...(status.health ? [`health at ${status.health.at}: ${status.health.findings.length ? '' : 'healthy'}`,
      // A round recorded before findings had codes has `problem`, not `text` (the next round replaces it).
      ...status.health.findings.map((f) => `  ${f.server}: ${f.text ?? (f as { problem?: string }).problem}${f.repair ? ` (repaired: ${f.repair})` : ''}`)] : []),
    ...rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()),
  ].join('\n');
}

export interface CopyProgress {
  bytes: number;
  rate: number;
  etaSeconds: number;
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
export const formatCopy = (c: CopyProgress) => `${mb(c.bytes)} received, ${mb(c.rate)}/s, about ${c.etaSeconds} s left`;

/** The progress of a clone's copy in an operation: the heartbeat of its pending receiveClone step, if any. */
export async function copyProgress(client: Client, workflowId: string): Promise<CopyProgress | null> {
  const details = await pendingHeartbeat<Partial<CopyProgress>>(client, workflowId, 'receiveClone');
  return typeof details?.bytes === 'number' ? { bytes: details.bytes, rate: details.rate ?? 0, etaSeconds: details.etaSeconds ?? 0 } : null;
}

/** What the workflow's pending step of this type last said in its heartbeat, if it runs. */
export async function pendingHeartbeat<T>(client: Client, workflowId: string, activityType: string): Promise<T | null> {
  const { raw } = await client.workflow.getHandle(workflowId).describe();
  const payload = raw.pendingActivities?.find((a) => a.activityType?.name === activityType)?.heartbeatDetails?.payloads?.[0];
  return payload ? client.options.loadedDataConverter.payloadConverter.fromPayload<T>(payload) : null;
}

export const noWorkerLine = (seconds: number) => `no worker has answered for ${seconds} s: run \`gtidflow worker\``;

/** A query needs a worker to answer it; without one it waits. The watch asks with this deadline. */
const QUERY_TIMEOUT_MS = 1_500;

/** One refresh of `status --watch`: the state (or why it could not be read) and what the workers say. */
export interface WatchFrame extends Liveness {
  at: string;
  status?: ClusterStatus;
  error?: string;
}

/**
 * `status --watch`: a frame every interval, until the caller stops. The
 * memo is read without a worker; the running operation's current step is
 * its `progress` query, and when idle the conductor's state query tells
 * whether a worker answers at all. Each query times out quickly, so a
 * cluster without a worker still refreshes, saying since when none answered.
 * The first read failing (an unknown cluster) throws; later ones (Temporal
 * restarting) show in the frame and the watch goes on.
 */
export async function* watchStatus(client: Client, cluster: string, intervalMs = 1_000): AsyncGenerator<WatchFrame> {
  const ask = async <T>(query: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, query);
    } catch {
      return undefined;
    }
  };
  let lastAnswer = Date.now();
  let known: { workflowId: string; step: string } | undefined;
  for (let first = true; ; first = false) {
    const started = Date.now();
    let status: ClusterStatus | undefined;
    let error: string | undefined;
    try {
      status = await clusterStatus(client, cluster);
    } catch (err) {
      if (first) throw err;
      error = oneLine(err);
    }
    let answered = false;
    let step: string | null = null;
    let copy: CopyProgress | null = null;
    const operation = status?.operation;
    if (operation) {
      copy = (await ask(() => copyProgress(client, operation.workflowId))) ?? null;
      const steps = await ask(() => client.workflow.getHandle(operation.workflowId).query(progressQuery));
      answered = steps !== undefined;
      if (steps?.length) known = { workflowId: operation.workflowId, step: steps[steps.length - 1] };
      // Without an answer, the last step seen of this operation (it has not moved past it as far as we know).
      step = known?.workflowId === operation.workflowId ? known.step : null;
    } else if (status) {
      answered = (await ask(() => client.workflow.getHandle(clusterWorkflowId(cluster)).query(stateQuery))) !== undefined;
    }
    if (answered) lastAnswer = Date.now();
    yield {
      at: new Date().toISOString(), ...(status ? { status } : { error }), step, copy,
      workerSilentSeconds: answered || !status ? null : Math.round((Date.now() - lastAnswer) / 1000),
    };
    await sleep(Math.max(0, intervalMs - (Date.now() - started)));
  }
}

/** Clears the terminal and moves to its top, as `watch` does before each frame. */
export const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export function formatWatchFrame(cluster: string, frame: WatchFrame, intervalMs: number): string {
  const header = `every ${intervalMs / 1000} s: gtidflow status ${cluster}   ${frame.at.replace('T', ' ').slice(0, 19)} UTC   (Ctrl-C to stop)`;
  const body = frame.status ? formatStatus(frame.status, frame) : `cannot read cluster ${cluster}: ${frame.error}`;
  return `${CLEAR_SCREEN}${header}\n\n${body}\n`;
}
