import type { Access } from '../activities/db/connection';
import type { Finding } from './logic/health';
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
  /**
   * auto: a health round that finds a FAULTY server answering runs rejoin
   * (refused if it diverged); auto-reprovision: the same, and a diverged
   * one is re-provisioned (its errant transactions saved first where host
   * agents run; without them they are lost); notify:
   * reports it.
   */
  rejoin: 'auto' | 'auto-reprovision' | 'notify';
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
  /**
   * Every server has a host agent (`gtidflow agent`, task queue
   * host:<address>): clones are physical (mariadb-backup) through them.
   * Absent in conductors registered before agents existed: none.
   */
  agents?: boolean;
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
  health: { at: string; findings: Finding[] } | null;
}

/** What every operation workflow starts from: the recorded facts, references only. */
export interface OperationContext {
  config: ClusterConfig;
  viewId: number;
  primary: string;
  servers: ServerRecord[];
  /** The cluster's recorded primaries' origin ids (see ClusterState.primaries). */
  primaries?: string[] | null;
}

/** How a new server gets its data, and its place. */
export interface JoinSpec {
  provision: 'dump' | 'clone' | 'none' | `script:${string}`;
  status: 'SECONDARY' | 'SPARE';
  penalty: number;
  /** The server a copy comes from (default: the replica with the least lag). */
  donor?: string;
  /** Provision even a server holding transactions the cluster lacks (they are lost; saved first where agents run). */
  reprovision?: boolean;
}

/**
 * What an operator, detection or the schedule asks for, one shape per kind;
 * the conductor adds the context when it starts the operation.
 */
export type OperationParams =
  | { kind: 'bootstrap' }
  | { kind: 'health' }
  | { kind: 'switchover'; candidate?: string; updateOnly?: boolean; reason?: string }
  /**
   * acceptLoss: from an operator only, the exact transactions a refusal named, accepted as lost.
   * primary: the primary it is meant for, set by the conductor; another one recorded when its turn comes (a
   * switchover past its promotion completed first), it does not run. automatic: detection's own (safety rule 6).
   */
  | { kind: 'failover'; candidate?: string; updateOnly?: boolean; reason?: string; acceptLoss?: string; primary?: string; automatic?: boolean }
  /** changed: the servers as the operator's change leaves them (validated by the conductor). */
  | { kind: 'reconfigure'; changed: ServerRecord[]; summary: string; updateOnly?: boolean }
  /** status: what the server ends in (SECONDARY, or SPARE for a set-status out of FAULTY); reprovision: replace a diverged server's data. */
  | { kind: 'rejoin'; target: string; status?: 'SPARE' | 'SECONDARY'; reprovision?: boolean; donor?: string; updateOnly?: boolean }
  | { kind: 'addServer'; target: string; join: JoinSpec; updateOnly?: boolean }
  | { kind: 'removeServer'; target: string; updateOnly?: boolean };

export type OperationKind = OperationParams['kind'];

/** The input of an operation workflow of kind K. */
export type OperationInput<K extends OperationKind> = OperationContext & Extract<OperationParams, { kind: K }>;

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
  findings?: Finding[];
}
