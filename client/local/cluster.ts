import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Access } from '../../activities/db/connection';
import type { CredentialsRef } from '../../activities/db/credentials';
import { changeSource, startReplication } from '../../activities/replication';
import { setReadOnly } from '../../activities/read-only';
import { setSemiSync } from '../../activities/semi-sync';
import { getServerState } from '../../activities/server-state';
import { isMariadbRunning, LocalMariadb, rootConnection, socketPath, startMariadb } from './mariadb';
import { sleep } from './ports';
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
 * holds a transaction the others lack. `app` has no SUPER and no READ ONLY
 * ADMIN, so read_only really stops it.
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
    await q("GRANT ALL PRIVILEGES ON app.* TO ?@'%'", [accounts.app.user]);
  } finally {
    await conn.end();
  }
}

export interface LocalClusterLayout {
  dir: string;
  ports: number[];
  accounts: LocalAccounts;
  /** Pids of servers already running from an earlier start: those are kept, not started again. */
  pids?: (number | undefined)[];
  /** The primary gtidflow recorded, if any: it alone is made writable on a restart. */
  primary?: string;
}

/**
 * Starts the servers of a local cluster. New: accounts everywhere, the
 * first server primary, the rest replicating from it with GTID. Existing:
 * each server resumes the role its replication configuration says.
 * Semi-sync's primary side goes on only once a replica is attached.
 */
export async function startLocalCluster(layout: LocalClusterLayout): Promise<{ servers: LocalMariadb[]; primary: LocalMariadb; replicas: LocalMariadb[] }> {
  const fresh = !fs.existsSync(path.join(layout.dir, 'bootstrapped'));
  const servers = await Promise.all(layout.ports.map((port, i) => {
    const dir = path.join(layout.dir, `s${i + 1}`);
    const pid = layout.pids?.[i];
    return pid && isMariadbRunning(pid)
      ? { port, serverId: i + 1, dir, pid, socket: socketPath(port) }
      : startMariadb(dir, port, i + 1);
  }));
  const access = accessOf(layout.accounts);
  if (fresh) {
    for (const server of servers) await createAccounts(server.port, layout.accounts);
    const [primary, ...replicas] = servers;
    await setReadOnly({ address: address(primary), access, readOnly: false });
    await rootQuery(primary.port, 'CREATE DATABASE IF NOT EXISTS app');
    for (const replica of replicas) await changeSource({ address: address(replica), access, source: address(primary) });
    fs.writeFileSync(path.join(layout.dir, 'bootstrapped'), new Date().toISOString() + '\n');
  }
  const { primary, replicas } = await resumeRoles(servers, access, layout.primary);
  if (replicas.length > 0) {
    await waitForReplicasAttached(primary, replicas.length);
    await setSemiSync({ address: address(primary), access, primary: true });
  }
  return { servers, primary, replicas };
}

/**
 * The recorded primary, else the one server replicating from nobody, is
 * made writable. Another server replicating from nobody (an old primary
 * after a failover) stays read-only: rejoining it is gtidflow's decision.
 */
async function resumeRoles(servers: LocalMariadb[], access: Access, recorded?: string): Promise<{ primary: LocalMariadb; replicas: LocalMariadb[] }> {
  const detached: LocalMariadb[] = [];
  for (const server of servers) {
    const state = await getServerState({ address: address(server), access });
    if (state.replication) await startReplication({ address: address(server), access });
    else detached.push(server);
  }
  const primary = recorded ? servers.find((s) => address(s) === recorded) : detached.length === 1 ? detached[0] : undefined;
  if (!primary) throw new Error(`cannot tell the primary: ${detached.length} servers replicate from nobody and none is recorded as primary`);
  await setReadOnly({ address: address(primary), access, readOnly: false });
  return { primary, replicas: servers.filter((s) => !detached.includes(s)) };
}

async function waitForReplicasAttached(primary: LocalMariadb, count: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const conn = await rootConnection(primary.port);
    const [rows] = await conn.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'");
    await conn.end();
    if (Number((rows as { n: number }[])[0].n) >= count) return;
    if (Date.now() > deadline) throw new Error(`replicas did not attach to ${address(primary)} within 20 s`);
    await sleep(100);
  }
}

async function rootQuery(port: number, sql: string): Promise<void> {
  const conn = await rootConnection(port);
  try {
    await conn.query(sql);
  } finally {
    await conn.end();
  }
}
