import * as mysql from 'mysql2/promise';
import { CredentialsRef, resolveCredentials } from './credentials';
import { connectTarget } from './connect-via';
import { classifyServerError } from './errors';

/** How to reach the servers of one cluster; references only, no secret. */
export interface Access {
  admin: CredentialsRef;
  /** The account replicas use to connect to their source. */
  replication: CredentialsRef;
  tls?: { ca?: string; rejectUnauthorized?: boolean };
  connectTimeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
const DEFAULT_QUERY_TIMEOUT_MS = 5_000;

export type Row = Record<string, unknown>;

/** One admin session to one server; every error leaves as a classified failure. */
export class Db {
  constructor(readonly address: string, private readonly conn: mysql.Connection) {}

  /** `secrets`: parameter values to blank out of any error this statement raises. */
  async query(sql: string, params: unknown[] = [], opts: { timeoutMs?: number; secrets?: string[] } = {}): Promise<Row[]> {
    try {
      const [rows] = await this.conn.query({ sql, values: params, timeout: opts.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS });
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

export async function connect(address: string, access: Pick<Access, 'admin' | 'tls' | 'connectTimeoutMs'>): Promise<Db> {
  try {
    const { host, port } = connectTarget(address);
    const { user, password } = resolveCredentials(access.admin);
    const conn = await mysql.createConnection({
      host, port, user, password,
      connectTimeout: access.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      ssl: access.tls ? { ca: access.tls.ca, rejectUnauthorized: access.tls.rejectUnauthorized ?? true } : undefined,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
    });
    // A server that dies under an idle connection must not crash the worker.
    conn.on('error', () => undefined);
    return new Db(address, conn);
  } catch (err) {
    throw classifyServerError(err, address);
  }
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
