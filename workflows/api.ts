import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ShardRouter } from '../activities/router/shard-endpoint';
import type { Finding } from './logic/health';
import type { ServerChange } from './logic/server-changes';
import type { DatabaseShard, Endpoint, MoveParams, RangeShard, ShardMap, ShardsState, SplitParams } from './shard-model';
import type { ClusterState, JoinSpec, OperationKind, OperationParams } from './model';

/**
 * What the CLI and the workflows both know: the task queue, the workflow
 * ids, and every message a conductor or an operation answers, one input
 * type each. Small on purpose: the CLI imports this, never worker code.
 */

export const TASK_QUEUE = 'gtidflow';
/** The task queue of the host agent beside a database server (`gtidflow agent`): host-level steps go there. */
export const agentTaskQueue = (address: string) => `host:${address}`;
/**
 * What agent tasks speak. Every agent task carries it; an agent that speaks
 * another refuses the task whole (a worker and an agent of different
 * releases), never half-does it. Raise it when an agent task changes shape.
 */
export const AGENT_PROTOCOL = 1;

/** A cluster's conductor. */
export const clusterWorkflowId = (cluster: string) => `cluster:${cluster}`;
/** An operation the conductor runs (its child). */
export const operationWorkflowId = (cluster: string, kind: OperationKind, id: number) => `${clusterWorkflowId(cluster)}/${kind}/${id}`;
/** The Temporal Schedule of a cluster's health rounds. */
export const healthScheduleId = (cluster: string) => `health:${cluster}`;
/** What the cluster's health schedule starts. */
export const healthTickWorkflowId = (cluster: string) => `${clusterWorkflowId(cluster)}/health-tick`;
/** An inspection the CLI runs outside the conductor. */
export const inspectWorkflowId = (cluster: string, stamp: string) => `${clusterWorkflowId(cluster)}/inspect/${stamp}`;

/** An operator's switchover or failover. */
export type OperationRequest = Extract<OperationParams, { kind: 'switchover' | 'failover' }>;
export type ServerChangeRequest = ServerChange & { updateOnly?: boolean };
export type AddServerRequest = { address: string; updateOnly?: boolean } & JoinSpec;
export interface RemoveServerRequest { address: string; updateOnly?: boolean }
export interface RejoinRequest { address: string; reprovision?: boolean; donor?: string; updateOnly?: boolean }

export interface HoldRequest {
  holder: string;
  seconds: number;
}
export interface ClusterHold {
  viewId: number;
  primary: string;
}

/** What the conductor answers to a request it took: the operation it started. */
export interface OperationStarted {
  id: number;
  kind: OperationKind;
  workflowId: string;
}

// The conductor's messages.
export const stateQuery = defineQuery<ClusterState>('state');
export const requestOperation = defineUpdate<OperationStarted, [OperationRequest]>('requestOperation');
/** An operator's change to one server's status, write penalty or capability: recorded, routed, published. */
export const changeServer = defineUpdate<OperationStarted, [ServerChangeRequest]>('changeServer');
/** Adds a server (checked, provisioned if asked, caught up, routed). */
export const addServer = defineUpdate<OperationStarted, [AddServerRequest]>('addServer');
export const removeServer = defineUpdate<OperationStarted, [RemoveServerRequest]>('removeServer');
/** Brings a returning FAULTY server back, if it has not diverged (or re-provisioned). */
export const rejoinServer = defineUpdate<OperationStarted, [RejoinRequest]>('rejoinServer');
/** An operator's acknowledgement of an automatic failover: lifts the block on the next one. */
export const acknowledge = defineUpdate<string, []>('acknowledge');
/**
 * A shard move's cut-over holds the cluster for some seconds: no operation
 * but a failover starts meanwhile. Granted when the cluster is idle (the
 * conductor waits up to 30 s for that, else refuses); answers the view it
 * holds. The hold ends when released, or by itself after `seconds`.
 */
export const holdCluster = defineUpdate<ClusterHold, [HoldRequest]>('hold');
export const releaseCluster = defineUpdate<boolean, [{ holder: string }]>('release');
/** A health round is due (sent by a 0.2.0 health tick); ignored while the conductor is busy. */
export const healthRound = defineSignal('healthRound');

/** What a health tick found on the servers of one view (workflows/health-tick.ts): nothing was changed. */
export interface HealthReport {
  viewId: number;
  /** The conductor's operation count when the servers were read: an operation since makes the report stale. */
  operationCount: number;
  at: string;
  durationMs: number;
  /** The findings, or why the servers could not be judged. */
  outcome: { ok: true; findings: Finding[] } | { ok: false; message: string };
}
/** A health tick's report: recorded, or, when something is to be repaired, a health round run by the conductor. */
export const healthReport = defineSignal<[HealthReport]>('healthReport');
/** A switchover tells its conductor it promoted its candidate: the watch looks at the new primary from then on. */
export const promotedSignal = defineSignal<[string]>('promoted');

// Every operation's.
/** The steps an operation has reached, for the CLI to follow (the Web UI shows current details). */
export const progressQuery = defineQuery<string[]>('progress');

// The shard map's (one entity for every cluster of this installation).
export const SHARDS_WORKFLOW_ID = 'shards';
export const shardMoveWorkflowId = (shard: string, n: number) => `shards/move/${shard}/${n}`;

export type AddShardRequest = (Omit<DatabaseShard, 'endpoint'> | RangeShard) & {
  /** Where shard endpoints live (the sandbox's HAProxy), recorded with the first shard that gives it. */
  router?: ShardRouter;
  /** A database shard's endpoint on the operator's own HAProxy (the frontend shard-<name> is theirs). */
  endpoint?: Endpoint;
};
export interface MoveStarted {
  shard: string;
  workflowId: string;
}

export const shardsQuery = defineQuery<ShardsState>('shards');
/** Adds a shard to the map (its endpoint opened and routed for a database shard): the new map, published. */
export const addShard = defineUpdate<ShardMap, [AddShardRequest]>('addShard');
/** Starts a shard's move to another cluster (its own workflow, a child of the map). */
export const moveShard = defineUpdate<MoveStarted, [MoveParams]>('moveShard');
/** Starts a range shard's split: its upper part moves to another cluster as a new shard. */
export const splitShard = defineUpdate<MoveStarted, [SplitParams]>('splitShard');
/** Cancels a shard's running move before its flip: the source untouched, the destination's copy removed. */
export const cancelMove = defineUpdate<string, [{ shard: string }]>('cancelMove');
/** Drops the copy a finished move left on its source, and its freeze there. */
export const cleanupShard = defineUpdate<string, [{ shard: string }]>('cleanupShard');
/** A move at its cut-over: the map says the shard is on `to` from now on. */
export const flipShard = defineSignal<[{ workflowId: string; shard: string; to: string; split?: { at: number; as: string } }]>('flip');
/** The map answers a flip with the version it published. */
export const mapPublished = defineSignal<[number]>('mapPublished');
/** A move's end, for the map to record. */
export const moveEnded = defineSignal<[{ workflowId: string; outcome: 'completed' | 'failed' | 'cancelled'; message: string; freezeMs?: number; leftover?: boolean }]>('moveEnded');
