import * as net from 'node:net';
import * as mysql from 'mysql2/promise';
import { parseAddress, type HostPort } from '../../workflows/logic/address';
import { CredentialsRef, resolveCredentials, resolveTls, TlsRef } from './credentials';
import { connectTarget } from './connect-via';
import { classifyServerError } from './errors';

/** How to reach the servers of one cluster; references only, no secret. */
export interface Access {
  admin: CredentialsRef;
  /** The account replicas use to connect to their source. */
  replication: CredentialsRef;
  /** Set: every connection uses TLS and checks the server's certificate and name. */
  tls?: TlsRef;
  connectTimeoutMs?: number;
  /** How long a statement may take by default (a probe's must fail within the probe interval). */
  queryTimeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
const DEFAULT_QUERY_TIMEOUT_MS = 5_000;

export type Row = Record<string, unknown>;

/** One admin session to one server; every error leaves as a classified failure. */
export class Db {
  constructor(readonly address: string, private readonly conn: mysql.Connection, private readonly queryTimeoutMs = DEFAULT_QUERY_TIMEOUT_MS) {}

  /** `secrets`: parameter values to blank out of any error this statement raises. */
  async query(sql: string, params: unknown[] = [], opts: { timeoutMs?: number; secrets?: string[] } = {}): Promise<Row[]> {
    try {
      const [rows] = await this.conn.query({ sql, values: params, timeout: opts.timeoutMs ?? this.queryTimeoutMs });
      return Array.isArray(rows) ? (rows as Row[]) : [];
    } catch (err) {
      throw classifyServerError(err, this.address, opts.secrets);
    }
  }

  async value(sql: string, params: unknown[] = []): Promise<unknown> {
    const [row] = await this.query(sql, params);
    return row ? Object.values(row)[0] : undefined;
  }

  async close(): Promise<void> {
    this.conn.destroy();
  }

  /** Resolves when the server or the network ends this session (not when it is closed here). */
  ended(): Promise<void> {
    return new Promise((resolve) => {
      this.conn.once('end', () => resolve());
      this.conn.once('error', () => resolve());
    });
  }
}

export async function connect(address: string, access: Pick<Access, 'admin' | 'tls' | 'connectTimeoutMs' | 'queryTimeoutMs'>): Promise<Db> {
  try {
    const target = connectTarget(address);
    const { user, password } = resolveCredentials(access.admin);
    // The certificate must name the server as recorded, whatever path the worker takes to it.
    const recorded = parseAddress(address).host;
    const tls = access.tls && {
      host: recorded,
      stream: tlsTransport(target, recorded),
      // mysql2 checks the name in the certificate only when asked.
      ssl: { ...resolveTls(access.tls), rejectUnauthorized: true, verifyIdentity: true },
    };
    const conn = await mysql.createConnection({
      host: target.host, port: target.port, user, password,
      ...tls,
      connectTimeout: access.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
    });
    // A server that dies under an idle connection must not crash the worker.
    conn.on('error', () => undefined);
    return new Db(address, conn, access.queryTimeoutMs);
  } catch (err) {
    throw classifyServerError(err, address);
  }
}

/**
 * The TCP connection under a TLS session, to `target`, for a certificate
 * that must name `certifiedHost`. mysql2 hands a host name to TLS as the
 * server name, but an IP address not at all: Node then checks the
 * certificate against the socket's _host (net sets it only for a name it
 * looked up), else against "localhost". Setting it makes an IP SAN count;
 * were Node to stop reading it, connections would be refused, not let through.
 */
function tlsTransport(target: HostPort, certifiedHost: string): () => net.Socket {
  return () => Object.assign(net.connect(target.port, target.host).setNoDelay(true), { _host: certifiedHost });
}

/** Opens, runs, and always closes: activities hold no connection between calls. */
export async function withDb<T>(address: string, access: Access, work: (db: Db) => Promise<T>): Promise<T> {
  const db = await connect(address, access);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}
