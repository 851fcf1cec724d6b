import type { Flavor as FlavorName } from '../../workflows/logic/gtid';
import type { JoiningSettings } from '../../workflows/logic/joining';
import type { Db } from './connection';
import type { TlsFiles } from './credentials';

/** The replica side of a server, parsed by column name from the flavor's status rows. */
export interface ReplicationStatus {
  sourceHost: string;
  sourcePort: number;
  ioRunning: boolean;
  /** The IO thread is trying to connect (MariaDB/MySQL "Connecting"). */
  ioConnecting: boolean;
  sqlRunning: boolean;
  ioErrno: number;
  ioError: string;
  sqlErrno: number;
  sqlError: string;
  secondsBehind: number | null;
  /** GTIDs received from the source (may be ahead of what is applied). */
  received: string;
  usingGtid: boolean;
  /** The IO thread is set to connect with TLS (Master_SSL_Allowed: Yes). */
  tls?: boolean;
}

export interface SemiSyncStatus {
  primaryEnabled: boolean;
  primaryActive: boolean;
  replicaEnabled: boolean;
  replicaActive: boolean;
  primaryClients: number;
  /** The primary side's wait point (AFTER_SYNC, AFTER_COMMIT), '' when the variable is absent. */
  waitPoint: string;
  /** How long a commit waits for an acknowledgement before the primary goes asynchronous. */
  timeoutMs: number | null;
}

/** Which side of semi-sync a server runs, and with what settings; off turns both sides off. */
export type SemiSyncRole = { primary: boolean; waitPoint: string; timeoutMs: number } | 'off';

/** Where a replica should replicate from; the password is used in SQL only, never returned. */
export interface SourceSpec {
  host: string;
  port: number;
  user: string;
  password: string;
  heartbeatSeconds: number;
  connectRetrySeconds: number;
  /** Replicate over TLS, checking the source's certificate and name; paths on the replica's host. */
  tls?: TlsFiles;
}

/** How a flavor says a named replication connection: `tables` are db.table patterns (db.% for a whole database). */
export interface ChannelStatements {
  change(channel: string, source: SourceSpec, tables: string[]): { sql: string; params: unknown[] }[];
  start(channel: string): string;
  stop(channel: string): string;
  /** Forgets the connection whole (it must be stopped). */
  remove(channel: string): string;
  /** Its status; null when no such connection exists. */
  status(db: Db, channel: string): Promise<ReplicationStatus | null>;
  /** Every named connection the server has. */
  names(db: Db): Promise<string[]>;
  /** Sets where a new connection starts: the copy's position `from` (the source's GTIDs); it must be the only connection. */
  startAt(db: Db, from: string): Promise<void>;
}

/** A client program and its family's options; provision adds where to connect and the credentials file. */
export interface ClientCommand {
  program: string;
  args: string[];
}

/**
 * One interface, per-flavor SQL (after Vitess's flavor*.go): activities
 * decide what to do, a flavor knows how each server family says it.
 */
export interface Flavor {
  readonly name: FlavorName;
  /** What an operator can do about a diverged server besides re-provisioning it, one line. */
  readonly divergedRemedy: string;
  /** GTIDs this server has written to its binlog: what it would serve as a source. */
  executed(db: Db): Promise<string>;
  /** Every transaction's origin in this server's binlog (MariaDB gtid_binlog_state: one per domain and server; MySQL gtid_executed). */
  history(db: Db): Promise<string>;
  /** What GTIDs written on this server name it by (MariaDB server_id, MySQL server_uuid). */
  originId(db: Db): Promise<string>;
  /** GTIDs applied by the replication SQL thread (or executed, where the flavor has one set). */
  applied(db: Db): Promise<string>;
  replicationStatus(db: Db): Promise<ReplicationStatus | null>;
  /**
   * Something that changes whenever the replica's IO thread receives from
   * its source, an event or a heartbeat, and the heartbeat period its
   * source was asked for: unchanged for a few periods, the source is
   * silent to it even while the IO thread still counts as connected.
   * Flavors that cannot say leave it out.
   */
  receiveProgress?(db: Db): Promise<{ progress: string; heartbeatSeconds: number } | null>;
  /** The session ids of the replication IO threads (a connected one ends at once when killed); flavors without leave it out. */
  receiverSessions?(db: Db): Promise<number[]>;
  semiSyncStatus(db: Db): Promise<SemiSyncStatus>;
  readOnly(db: Db): Promise<boolean>;
  setReadOnlyStatements(on: boolean): string[];
  changeSourceStatements(source: SourceSpec, demotedPrimary: boolean): { sql: string; params: unknown[] }[];
  /** How long a replica waits for anything (an event or a heartbeat) from its source before it reconnects. */
  netTimeoutStatement(seconds: number): { sql: string; params: unknown[] };
  startReplicationStatement(): string;
  /** Starts the applier alone: what was received is applied, nothing more is received. */
  startApplierStatement(): string;
  stopReplicationStatement(ioOnly: boolean): string;
  resetReplicationStatement(): string;
  /** A query returning 0 when the position is reached, -1 (MariaDB) or 1 (MySQL) on timeout. */
  waitForGtidQuery(gtid: string, timeoutSeconds: number): { sql: string; params: unknown[]; reached: (value: unknown) => boolean };
  setSemiSyncStatements(role: SemiSyncRole): string[];
  /** How many replicas stream this server's binlog now. */
  attachedReplicas(db: Db): Promise<number>;
  /** The settings joinProblems judges, named as this flavor names them. */
  joiningSettings(db: Db): Promise<JoiningSettings>;
  /** Empties the binlog and the GTID history before a copy lands; version is the server's VERSION() (MySQL renamed the statement in 8.2). */
  resetBinlogStatement(version: string): string;
  /** Sets the GTID position of a server whose binlog was just emptied to a physical copy's (its own history). */
  copyPositionStatement(gtid: string): { sql: string; params: unknown[] };
  /** A consistent dump of every database that ends by setting the target's GTID position to the copy's. */
  dumpCommand(): ClientCommand;
  /**
   * A consistent dump of a database or some of its tables (a shard's copy) that names its GTID
   * position in a comment only, loaded by the family's plain client (written
   * to the target's binlog: its replicas need it); flavors without shard moves leave it out.
   */
  databaseDumpCommand?(database: string, tables: string[] | null): ClientCommand & { loader: ClientCommand; position: RegExp };
  /** The client that loads a dump without writing it to the target's own binlog. */
  loadCommand(): ClientCommand;
  /** The [client] option lines that make the family's command-line clients use TLS and check the server's certificate. */
  clientTlsOptions(files: TlsFiles): string[];
  /**
   * A condition a trigger can test: true in a client's session, false where
   * the replication applier runs it (so a write freeze never stops a replica
   * applying its source's rows, whatever slave_run_triggers_for_rbr says).
   */
  clientSessionCondition(): string;
  /** A named replication connection limited to some tables (a shard move's catch-up); flavors without one leave it out. */
  channel?: ChannelStatements;
  /** MySQL's CLONE INSTANCE; flavors without one leave it out. */
  cloneStatement?(host: string, port: number, admin: { user: string; password: string }): { sql: string; params: unknown[] };
}

/**
 * The TLS options of CHANGE MASTER (`MASTER`) / CHANGE REPLICATION SOURCE
 * (`SOURCE`), each file a parameter; none without TLS, so a server keeps
 * what its operator set.
 */
export function sourceTlsOptions(prefix: 'MASTER' | 'SOURCE', tls: TlsFiles | undefined): { sql: string; params: string[] } {
  if (!tls) return { sql: '', params: [] };
  const options: [string, string | undefined][] = [['CA', tls.caFile], ['CERT', tls.certFile], ['KEY', tls.keyFile]];
  const files = options.filter((entry): entry is [string, string] => Boolean(entry[1]));
  return {
    sql: `, ${prefix}_SSL = 1${files.map(([option]) => `, ${prefix}_SSL_${option} = ?`).join('')}, ${prefix}_SSL_VERIFY_SERVER_CERT = 1`,
    params: files.map(([, file]) => file),
  };
}
