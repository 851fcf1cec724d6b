import type { Access } from '../activities/db/connection';
import type { ServerStatus } from './logic/status';
import type { Warning } from './logic/warnings';

/** What the cluster workflow records; plain JSON (no Map/Set) so it travels as memo, query and continue-as-new input. */

export type Capability = 'read-write' | 'read-only' | 'disabled';

export interface ServerRecord {
  address: string;
  status: ServerStatus;
  /** 0 = preferred in elections; higher = less. */
  penalty: number;
  capability: Capability;
  /** Per-database capabilities where they differ from the server's. */
  databases: Record<string, Capability>;
}

export interface RouterConfig {
  adminSocket: string;
  writerBackend: string;
  readerBackend: string;
}

/** Operator commands, run with the operation's facts as JSON on stdin. */
export interface Hooks {
  /** A non-zero exit of any of these aborts the failover. */
  beforeFailover: string[];
  afterFailover: string[];
  afterSwitchover: string[];
}

/**
 * Semi-sync as gtidflow keeps it on every server: the primary side on the
 * primary (once a replica is attached), the replica side elsewhere; off:
 * asynchronous everywhere (acknowledged writes may be lost in a failover).
 */
export type SemiSyncPolicy = { waitPoint: 'AFTER_SYNC' | 'AFTER_COMMIT'; timeoutMs: number } | 'off';

/** How the cluster is watched and what detection may do by itself. */
export interface Policies {
  /** auto: fail over on a dead primary; notify: only warn; off: do not watch. */
  failover: 'auto' | 'notify' | 'off';
  probeIntervalMs: number;
  /** Consecutive failed probes before the replicas are asked (safety rule 1). */
  probeFailures: number;
  /** No second automatic failover within this period unless acknowledged (safety rule 6). */
  blockSeconds: number;
  /** How often the cluster's Temporal Schedule runs a health round. */
  healthIntervalSeconds: number;
  /** auto: a health round that finds a FAULTY server answering runs rejoin (refused if it diverged); notify: reports it. */
  rejoin: 'auto' | 'notify';
  /** Absent in conductors registered before it existed: the default applies. */
  semiSync?: SemiSyncPolicy;
}

export const DEFAULT_SEMI_SYNC: SemiSyncPolicy = { waitPoint: 'AFTER_SYNC', timeoutMs: 10_000 };

export const DEFAULT_POLICIES: Policies = {
  failover: 'auto', probeIntervalMs: 1000, probeFailures: 3, blockSeconds: 600, healthIntervalSeconds: 60, rejoin: 'notify', semiSync: DEFAULT_SEMI_SYNC,
};

export interface ClusterConfig {
  name: string;
  access: Access;
  router: RouterConfig | null;
  hooks: Hooks;
  policies: Policies;
}

export interface View {
  viewId: number;
  at: string;
  primary: string;
  members: string[];
  joined: string[];
  left: string[];
  /** The operation that made this view, e.g. "switchover #3". */
  operation: string;
  /** The id the primary's writes carry (MariaDB server_id, MySQL server_uuid), when the operation read it. */
  primaryOrigin?: string;
}

/** Operations an operator or detection asks for; health rounds come from the cluster's schedule. */
export type OperationKind = 'bootstrap' | 'switchover' | 'failover' | 'health' | 'reconfigure' | 'rejoin' | 'addServer' | 'removeServer';

export interface RunningOperation {
  id: number;
  kind: OperationKind;
  workflowId: string;
  startedAt: string;
}

export interface ClusterState {
  config: ClusterConfig;
  servers: ServerRecord[];
  primary: string;
  viewId: number;
  views: View[];
  operation: RunningOperation | null;
  /** Operations started so far: numbers workflow ids. */
  operationCount: number;
  lastOperation: { id: number; kind: OperationKind; outcome: 'completed' | 'failed'; message: string; at: string } | null;
  /** What detection wants an operator to see (manager cut off, failover blocked, ...). */
  warnings: Warning[];
  /** When detection last failed over by itself; cleared by an operator's acknowledgement. */
  lastAutomaticFailoverAt: string | null;
  /**
   * Origin ids of every recorded primary (and of the history the first one
   * held at registration): transactions from any other origin are errant.
   * null or absent: unknown (an update-only promotion), errant checks off.
   */
  primaries?: string[] | null;
  /** false until the conductor's first operation made the cluster as registered (absent: registered before bootstraps existed). */
  bootstrapped?: boolean;
  /** The last health round: when, and what it found (repaired or reported). */
  health: { at: string; findings: { server: string; problem: string; repair?: string }[] } | null;
}

/** What every operation workflow gets: the recorded facts at its start, references only. */
export interface OperationInput {
  config: ClusterConfig;
  viewId: number;
  primary: string;
  servers: ServerRecord[];
  candidate?: string;
  /** The server a rejoin brings back. */
  target?: string;
  /** Rejoin: replace a diverged server's data instead of refusing. */
  reprovision?: boolean;
  /** addServer: how the new server gets its data, and its place. */
  join?: { provision: 'dump' | 'clone' | 'none' | `script:${string}`; status: 'SECONDARY' | 'SPARE'; penalty: number };
  updateOnly?: boolean;
  reason?: string;
  /** Failover: the transactions an operator accepts to lose, exactly as a refusal named them. */
  acceptLoss?: string;
  /** The cluster's recorded primaries' origin ids (see ClusterState.primaries). */
  primaries?: string[] | null;
}

/** What an operation returns for the cluster workflow to record as the next view. */
export interface OperationResult {
  primary: string;
  servers: ServerRecord[];
  summary: string;
  /** The new primary's origin id, when the operation promoted one it read. */
  primaryOrigin?: string;
  /** Health rounds, when the recorded primaries are unknown: the origins read off the primary's history, learned again. */
  learnedPrimaries?: string[];
  /** Health rounds only: what they found. */
  findings?: { server: string; problem: string; repair?: string }[];
}
