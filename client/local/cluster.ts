import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Access } from '../../activities/db/connection';
import type { CredentialsRef } from '../../activities/db/credentials';
import { isMariadbRunning, LocalMariadb, rootConnection, socketPath, startMariadb } from './mariadb';
import { passwordFile, readPassword } from './secrets';

/** The accounts of a local cluster: gtidflow's admin, replication, and an ordinary application account. */
export interface LocalAccounts {
  admin: CredentialsRef;
  replication: CredentialsRef;
  app: CredentialsRef;
}

export function localAccounts(secretsDir: string): LocalAccounts {
  return {
    admin: passwordFile(secretsDir, 'gtidflow'),
    replication: passwordFile(secretsDir, 'repl'),
    app: passwordFile(secretsDir, 'app'),
  };
}

export function accessOf(accounts: LocalAccounts): Access {
  return { admin: accounts.admin, replication: accounts.replication };
}

export const address = (server: { port: number }) => `127.0.0.1:${server.port}`;

/**
 * The same accounts on every server, kept out of the binlog so no server
 * holds a transaction the others lack. `app` may use every database whose
 * name starts with `app` (`app`, `app2`, … : it may create them too), and
 * nothing global: no SUPER and no READ ONLY ADMIN, so read_only really
 * stops it.
 */
export async function createAccounts(port: number, accounts: LocalAccounts): Promise<void> {
  const conn = await rootConnection(port);
  const q = (sql: string, params: unknown[] = []) => conn.query(sql, params);
  try {
    await q('SET SESSION sql_log_bin = 0');
    await q("CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", [accounts.admin.user, readPassword(accounts.admin)]);
    await q("GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", [accounts.admin.user]);
    await q("CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", [accounts.replication.user, readPassword(accounts.replication)]);
    await q("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO ?@'%'", [accounts.replication.user]);
    await q("CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", [accounts.app.user, readPassword(accounts.app)]);
    // A LIKE pattern: `_` would match any one character too, so the name holds none.
    await q("GRANT ALL PRIVILEGES ON `app%`.* TO ?@'%'", [accounts.app.user]);
  } finally {
    await conn.end();
  }
}

/** Where server i (from 0) of a local cluster keeps its datadir, pid file and logs. */
export const localServerDir = (dir: string, i: number) => path.join(dir, `s${i + 1}`);

/**
 * The pid of the mariadbd running on a local server's datadir: the one
 * recorded when it still runs, else the one its pid file names (a host
 * agent stops and starts mariadbd when it installs a clone, so the recorded
 * one may be gone while the server runs). Either must be a mariadbd of
 * this datadir: a pid another program, or another server, got since is not.
 */
export function runningServerPid(serverDir: string, recorded: number | undefined): number | undefined {
  const pidFile = path.join(serverDir, 'mariadbd.pid');
  const ours = (pid: number | undefined) => {
    if (!pid || !isMariadbRunning(pid)) return false;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      return false;
    }
    // A leader thread that exited already has no command line: isMariadbRunning said it still is ours.
    return argv.length <= 1 || argv.includes(`--pid-file=${pidFile}`);
  };
  if (ours(recorded)) return recorded;
  let written: number | undefined;
  try {
    written = Number(fs.readFileSync(pidFile, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
  return ours(written) ? written : undefined;
}

export interface LocalClusterLayout {
  dir: string;
  ports: number[];
  accounts: LocalAccounts;
  /** Pids of servers already running from an earlier start: those are kept, not started again (so is one its pid file names). */
  pids?: (number | undefined)[];
  /** Each server's server_id (default 1, 2, …): unique across every cluster that may ever replicate from another. */
  serverIds?: number[];
  /** The cluster's GTID domain (default 0): one per cluster when several run side by side. */
  gtidDomainId?: number;
}

/**
 * Starts the servers of a local cluster, and only that: every server
 * read-only, as MariaDB starts them here (--read-only, --init-rpl-role=SLAVE).
 * New ones get the accounts and the app database, outside the binlog, so no
 * server holds a transaction the others lack. Who is primary, who
 * replicates from whom and semi-sync are the conductor's to decide
 * (registration bootstraps them; later its health rounds keep them).
 */
export async function startLocalCluster(layout: LocalClusterLayout): Promise<LocalMariadb[]> {
  const fresh = !fs.existsSync(path.join(layout.dir, 'bootstrapped'));
  // Every start settles before a failure is told: the caller may remove the directory, which a start still copying into would refill.
  const settled = await Promise.allSettled(layout.ports.map((port, i) => {
    const dir = localServerDir(layout.dir, i);
    const serverId = layout.serverIds?.[i] ?? i + 1;
    const pid = runningServerPid(dir, layout.pids?.[i]);
    return pid
      ? Promise.resolve({ port, serverId, dir, pid, socket: socketPath(port) })
      : startMariadb(dir, port, serverId, [], layout.gtidDomainId);
  }));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const servers = settled.map((r) => (r as PromiseFulfilledResult<LocalMariadb>).value);
  if (fresh) {
    for (const server of servers) {
      await createAccounts(server.port, layout.accounts);
      await rootQuery(server.port, 'SET SESSION sql_log_bin = 0; CREATE DATABASE IF NOT EXISTS app');
    }
    fs.writeFileSync(path.join(layout.dir, 'bootstrapped'), new Date().toISOString() + '\n');
  }
  return servers;
}

async function rootQuery(port: number, sql: string): Promise<void> {
  const conn = await rootConnection(port);
  try {
    await conn.query(sql);
  } finally {
    await conn.end();
  }
}
