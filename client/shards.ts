import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import {
  addShard, cancelMove, cleanupShard, moveShard, progressQuery, SHARDS_WORKFLOW_ID, splitShard, TASK_QUEUE, type AddShardRequest, type MoveStarted,
} from '../workflows/api';
import { formatRange, shardOfKey } from '../workflows/logic/shards';
import { EMPTY_SHARDS, type Endpoint, type MoveParams, type RunningMove, type Shard, type ShardMap, type ShardsState, type SplitParams } from '../workflows/shard-model';
import { oneLine } from './connect';
import { mb, pendingHeartbeat } from './status';
import { loadState, sandboxClusters } from './sandbox/state';

/** What `shard lookup` answers. */
export interface ShardLocation {
  shard: string;
  cluster: string;
  mapVersion: number;
  /** Where the shard's writes go: a database shard's own endpoint, a range shard's cluster writer endpoint; null when not known here. */
  endpoint: Endpoint | null;
}

/** The shard map as recorded (the memo: no worker needed); the empty map before the first shard. */
export async function readShards(client: Client): Promise<ShardsState> {
  try {
    const description = await client.workflow.getHandle(SHARDS_WORKFLOW_ID).describe();
    return (description.memo?.shards as ShardsState | undefined) ?? EMPTY_SHARDS;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return EMPTY_SHARDS;
    throw err;
  }
}

/** Adds a shard; the map's workflow starts with the first one. */
export async function requestAddShard(client: Client, request: AddShardRequest): Promise<ShardMap> {
  try {
    await client.workflow.start('shards', { workflowId: SHARDS_WORKFLOW_ID, taskQueue: TASK_QUEUE, args: [EMPTY_SHARDS], staticSummary: 'the shard map' });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return mapUpdate(client, addShard, request, 'shard add');
}

export function requestMove(client: Client, params: MoveParams): Promise<MoveStarted> {
  return mapUpdate(client, moveShard, params, 'shard move');
}

export function requestSplit(client: Client, params: SplitParams): Promise<MoveStarted> {
  return mapUpdate(client, splitShard, params, 'shard split');
}

export function requestCancel(client: Client, shard: string): Promise<string> {
  return mapUpdate(client, cancelMove, { shard }, 'shard cancel');
}

export function requestCleanup(client: Client, shard: string): Promise<string> {
  return mapUpdate(client, cleanupShard, { shard }, 'shard cleanup');
}

/** Where a shard is, by name or by a range shard's table and key; one line when there is none. */
export function lookupShard(state: ShardsState, by: { shard: string } | { table: string; key: number }): ShardLocation {
  const shard: Shard | undefined = 'shard' in by ? state.map.shards.find((s) => s.name === by.shard) : shardOfKey(state.map, by.table, by.key);
  if (!shard) throw new Error('shard' in by ? `no shard ${by.shard}: gtidflow shard list shows the shards` : `no shard holds ${by.table} key ${by.key}`);
  return { shard: shard.name, cluster: shard.cluster, mapVersion: state.map.version, endpoint: shard.kind === 'database' ? shard.endpoint : writerEndpointOf(shard.cluster) };
}

/** A sandbox cluster's writer endpoint; another installation's clusters: not known here. */
function writerEndpointOf(cluster: string): Endpoint | null {
  const state = loadState();
  const found = state && sandboxClusters(state).find((c) => c.name === cluster);
  return found ? { host: '127.0.0.1', port: found.endpoints.writerPort } : null;
}

async function mapUpdate<R, A>(client: Client, update: UpdateDefinition<R, [A]>, arg: A, what: string): Promise<R> {
  try {
    return await client.workflow.getHandle(SHARDS_WORKFLOW_ID).executeUpdate(update, { args: [arg] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new Error(`${what} refused: ${oneLine(err.cause ?? err)}`);
    if ((err as Error).name === 'WorkflowNotFoundError') throw new Error(`${what} refused: no shard yet: gtidflow shard add makes the first`);
    throw err;
  }
}

/** Where a running move is: its last step, and while it copies, what its copy step's heartbeat says. */
export interface MoveProgress {
  step: string | null;
  copied: { bytes: number; rows?: number } | null;
}

/** The progress of every running move; a move whose worker does not answer shows no step. */
export async function movesProgress(client: Client, state: ShardsState): Promise<Record<string, MoveProgress>> {
  const entries = await Promise.all(state.moves.map(async (m) => {
    const steps = await client.connection.withDeadline(Date.now() + 1_500, () => client.workflow.getHandle(m.workflowId).query(progressQuery)).catch(() => []);
    const copied = await pendingHeartbeat<{ bytes?: number; rows?: number }>(client, m.workflowId, 'copyShard').catch(() => null);
    return [m.workflowId, { step: steps.at(-1) ?? null, copied: typeof copied?.bytes === 'number' ? { bytes: copied.bytes, rows: copied.rows } : null }] as const;
  }));
  return Object.fromEntries(entries);
}

/** A running move with where it is: what `status` shows of the moves into and out of a cluster. */
export type MoveWithProgress = RunningMove & Partial<MoveProgress>;

/** The running moves into or out of `cluster`, with their progress. */
export async function clusterMoves(client: Client, cluster: string): Promise<MoveWithProgress[]> {
  const state = await readShards(client);
  const moves = state.moves.filter((m) => m.from === cluster || m.to === cluster);
  const progress = await movesProgress(client, { ...state, moves });
  return moves.map((m) => ({ ...m, ...progress[m.workflowId] }));
}

/** A running move's lines: where it goes, its last step, its copy so far. */
export function moveLines(m: RunningMove, p?: Partial<MoveProgress>): string[] {
  return [`  moving: ${m.shard} from ${m.from} to ${m.to}${m.flipped ? ' (flipped, finishing)' : ''}: ${m.workflowId}`,
    ...(p?.step ? [`    step: ${p.step}`] : []),
    ...(p?.copied ? [`    copied: ${mb(p.copied.bytes)}${p.copied.rows !== undefined ? ` of about ${p.copied.rows} rows` : ''}`] : [])];
}

/** `shard list`: a line a shard, then the moves running (their step, their copy) and how the last ones ended. */
export function formatShards(state: ShardsState, progress: Record<string, MoveProgress> = {}): string {
  if (!state.map.shards.length) return 'no shard yet: gtidflow shard add makes the first';
  const where = (s: Shard) => s.kind === 'database'
    ? `database ${s.database}${s.endpoint ? `, endpoint ${s.endpoint.host}:${s.endpoint.port}` : ''}`
    : `${s.tables.join(',')} ${s.key} in ${formatRange(s.range)}`;
  return [
    `shard map version ${state.map.version} (${state.map.at})`,
    ...state.map.shards.map((s) => `  ${s.name.padEnd(16)} on ${s.cluster.padEnd(12)} ${where(s)}`),
    ...state.moves.flatMap((m) => moveLines(m, progress[m.workflowId])),
    ...state.outcomes.slice(-5).map((o) => `  ${o.at} ${o.workflowId} ${o.outcome}: ${o.message}`),
    ...state.leftovers.map((l) => `  left behind: ${l.database} on ${l.cluster}, read-only (gtidflow shard cleanup ${l.shard})`),
  ].join('\n');
}
