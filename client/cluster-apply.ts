import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { type ClusterState, DEFAULT_POLICIES } from '../workflows/model';
import { memoOf } from '../workflows/memo';
import { registeredPrimaries } from '../workflows/logic/views';
import type { ServerState } from '../activities/server-state';
import { CLUSTER } from '../workflows/search-attributes';
import { clusterWorkflowId, healthScheduleId, healthTickWorkflowId, TASK_QUEUE } from '../workflows/api';
import { inspectCluster } from './inspect';
import { memoIn, readMemo } from './memo';
import { sleep } from './local/ports';
import { type ClusterSpec, specAccess } from './spec';

/** The cluster's health rounds: a Temporal Schedule that nudges its conductor (made once, kept). */
async function ensureHealthSchedule(client: Client, cluster: string, everySeconds: number): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: healthScheduleId(cluster),
      // Each cluster at its own second of the interval: rounds of many clusters spread out instead of all falling on the minute.
      spec: { intervals: [{ every: `${everySeconds} seconds`, offset: `${scheduleOffset(cluster, everySeconds)} seconds` }] },
      action: { type: 'startWorkflow', workflowType: 'healthTick', args: [cluster], taskQueue: TASK_QUEUE, workflowId: healthTickWorkflowId(cluster) },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      state: { note: `health rounds of cluster ${cluster}` },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}

/** A second of the interval that the cluster's name picks (the same on every apply). */
export function scheduleOffset(cluster: string, everySeconds: number): number {
  let hash = 0;
  for (const ch of cluster) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) >>> 0;
  return hash % everySeconds;
}

/**
 * The recorded state a new cluster starts from: view 1, its servers as the
 * spec says; the primary's history is the cluster's, so its origins are the
 * recorded primaries' (errant transactions are from any other origin).
 */
export function initialState(spec: ClusterSpec, at: string, primaries: string[] | null): ClusterState {
  const servers = spec.servers.map((s) => ({ address: s.address, status: s.status, penalty: s.penalty, capability: 'read-write' as const, databases: {} }));
  const primary = servers.find((s) => s.status === 'PRIMARY')!.address;
  const members = servers.filter((s) => s.status !== 'FAULTY').map((s) => s.address);
  return {
    config: {
      name: spec.name,
      access: specAccess(spec),
      router: spec.router?.haproxy ?? null,
      hooks: spec.hooks ?? { beforeFailover: [], afterFailover: [], afterSwitchover: [] },
      policies: { ...DEFAULT_POLICIES, ...spec.policies },
      ...(spec.agents && { agents: true }),
    },
    servers,
    primary,
    viewId: 1,
    views: [{ viewId: 1, at, primary, members, joined: members, left: [], operation: 'cluster apply' }],
    operation: null,
    operationCount: 0,
    lastOperation: null,
    warnings: [],
    lastAutomaticFailoverAt: null,
    health: null,
    primaries,
    bootstrapped: false,
  };
}

/**
 * Registers a cluster: every server must answer with the given credentials
 * (checked through the inspect workflow, so the worker resolves them), then
 * its conductor workflow starts. Already registered: nothing changes.
 */
export async function applyCluster(client: Client, spec: ClusterSpec): Promise<{ created: boolean; viewId: number }> {
  const inspection = await inspectCluster(client, spec);
  const problems = inspection.servers.filter((s) => !s.reachable).map((s) => (s.reachable ? '' : `${s.address}: ${s.error}`));
  if (problems.length) throw new Error(`cluster ${spec.name} not registered: ${problems.join('; ')}`);
  const flavors = new Set(inspection.servers.map((s) => (s.reachable ? s.flavor : '')));
  if (flavors.size > 1) throw new Error(`cluster ${spec.name} not registered: it mixes ${[...flavors].join(' and ')} servers`);
  const primaryAddress = spec.servers.find((s) => s.status === 'PRIMARY')?.address;
  const primary = inspection.servers.find((s): s is ServerState => s.reachable && s.address === primaryAddress);
  const members = inspection.servers.filter((s): s is ServerState => s.reachable && s !== primary);
  const state = initialState(spec, new Date().toISOString(), primary ? registeredPrimaries(primary.flavor, primary, members) : null);
  try {
    await ensureHealthSchedule(client, spec.name, state.config.policies.healthIntervalSeconds);
    await client.workflow.start('cluster', {
      taskQueue: TASK_QUEUE,
      workflowId: clusterWorkflowId(spec.name),
      args: [state],
      typedSearchAttributes: [{ key: CLUSTER, value: spec.name }],
      // Readable at once, before any worker has run the conductor's first task.
      memo: { state: memoOf(state) },
      staticSummary: `conductor of cluster ${spec.name}`,
      staticDetails: `${spec.servers.length} servers, registered with primary ${state.primary}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const memo = memoIn(await client.workflow.getHandle(clusterWorkflowId(spec.name)).describe());
    const recorded = new Set(memo?.servers.map((s) => s.address));
    const same = memo && recorded.size === spec.servers.length && spec.servers.every((s) => recorded.has(s.address));
    await ensureHealthSchedule(client, spec.name, state.config.policies.healthIntervalSeconds);
    if (!same) throw new Error(`cluster ${spec.name} is already registered with other servers (${[...recorded].join(', ')}): add or remove servers with gtidflow server add/remove`);
    return { created: false, viewId: memo.viewId };
  }
  return { created: true, viewId: await waitForBootstrap(client, spec.name) };
}

const BOOTSTRAP_TIMEOUT_MS = 120_000;

/**
 * The conductor's first operation makes the cluster as registered; until it
 * ends the cluster is not ready. A failed bootstrap leaves no conductor
 * and no health schedule behind: the operator fixes what it names and
 * applies again.
 */
async function waitForBootstrap(client: Client, name: string): Promise<number> {
  const handle = client.workflow.getHandle(clusterWorkflowId(name));
  const deadline = Date.now() + BOOTSTRAP_TIMEOUT_MS;
  for (;;) {
    const memo = await readMemo(client, name);
    const done = memo?.lastOperation?.kind === 'bootstrap' && !memo.operation ? memo.lastOperation : undefined;
    if (done?.outcome === 'completed') return memo!.viewId;
    if (done || Date.now() > deadline) {
      await handle.terminate('bootstrap did not complete').catch(() => undefined);
      await client.schedule.getHandle(healthScheduleId(name)).delete().catch(() => undefined);
      throw new Error(`cluster ${name} not registered: ${done ? done.message : `no worker made it ready within ${BOOTSTRAP_TIMEOUT_MS / 1000} s (run gtidflow worker)`}`);
    }
    await sleep(100);
  }
}
