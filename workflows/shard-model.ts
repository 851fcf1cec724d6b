import type { ShardRouter } from '../activities/router/shard-endpoint';

/** What the shard map records; plain JSON, like the cluster state. */

export interface Endpoint {
  host: string;
  port: number;
}

/** Half-open [lo, hi); hi null: no upper bound. */
export interface KeyRange {
  lo: number;
  hi: number | null;
}

/** A whole database; its own writer endpoint on the router follows the cluster that holds it. */
export interface DatabaseShard {
  name: string;
  kind: 'database';
  cluster: string;
  database: string;
  /** null: the operator's own HAProxy names none (its frontend shard-<name> is theirs). */
  endpoint: Endpoint | null;
}

/** A key range of tables sharded on one key column (db.table each); found by table and key. */
export interface RangeShard {
  name: string;
  kind: 'range';
  cluster: string;
  tables: string[];
  key: string;
  range: KeyRange;
}

export type Shard = DatabaseShard | RangeShard;

export interface ShardMap {
  version: number;
  at: string;
  shards: Shard[];
}

/** A move or split that runs (its own workflow): at most one per shard. */
export interface RunningMove {
  shard: string;
  from: string;
  to: string;
  workflowId: string;
  startedAt: string;
  /** Past its flip a move only rolls forward: it can no longer be cancelled. */
  flipped?: boolean;
}

/** A move's last end, as `shard list` shows it. */
export interface MoveOutcome {
  shard: string;
  workflowId: string;
  outcome: 'completed' | 'failed' | 'cancelled';
  message: string;
  at: string;
  /** The write freeze a client saw, measured by the move. */
  freezeMs?: number;
}

export interface ShardsState {
  map: ShardMap;
  /** Where shard endpoints live; null until the first database shard needs one. */
  router: ShardRouter | null;
  moves: RunningMove[];
  outcomes: MoveOutcome[];
  /** Moves started so far: numbers workflow ids. */
  moveCount: number;
  /** Source copies a finished move left (a move without --cleanup): shard, cluster, what. */
  leftovers: Leftover[];
}

/** The map before its first shard: `shard add` starts the entity with it. */
export const EMPTY_SHARDS: ShardsState = { map: { version: 0, at: '', shards: [] }, router: null, moves: [], outcomes: [], moveCount: 0, leftovers: [] };

export interface Leftover {
  shard: string;
  cluster: string;
  /** Kept read-only by the move's freeze until dropped. */
  database: string;
}

export interface MoveParams {
  shard: string;
  to: string;
  updateOnly?: boolean;
  cleanup?: boolean;
}

/** A split: the range shard's keys from `at` up become shard `as` on `to`. */
export interface SplitParams {
  shard: string;
  at: number;
  as: string;
  to: string;
  updateOnly?: boolean;
}
