import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Access } from '../../activities/db/connection';
import type { TlsRef } from '../../activities/db/credentials';
import { accessOf, address, createAccounts, LocalAccounts, localAccounts, startLocalCluster } from '../../client/local/cluster';
import { isMariadbRunning, LocalMariadb, rootConnection, startMariadb, stopMariadb } from '../../client/local/mariadb';
import { freePort } from '../../client/local/ports';
import { changeSource, resetReplication } from '../../activities/replication';
import { setReadOnly } from '../../activities/read-only';
import { setSemiSync } from '../../activities/semi-sync';
import { getServerState } from '../../activities/server-state';
import { waitForGtid } from '../../activities/wait-for-gtid';
import { atEnd, killProcessesUnder, track, untrack } from './cleanup';
import { tempDir } from './tempdir';

export interface TestCluster {
  dir: string;
  servers: LocalMariadb[];
  addresses: string[];
  accounts: LocalAccounts;
  access: Access;
  /** Runs SQL as root over the server's socket (test set-up and checks, not gtidflow's path). */
  sql(server: number, statement: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  stop(server: number): Promise<void>;
  start(server: number): Promise<void>;
  /** A new, empty server with the cluster's accounts, replicating from nobody; its index is returned. */
  addServer(): Promise<number>;
  /** Takes the pid each running server's pid file names (a host agent restarted it), so that stop and the file's end reach it. */
  adoptPids(): void;
}

export interface TestClusterOptions {
  /** More mariadbd options for server i (its TLS files, say), kept when it is restarted. */
  serverArgs?: (server: number) => string[];
  /** The TLS the cluster's access asks for. */
  tls?: TlsRef;
}

/**
 * A replicating cluster of `size` real MariaDB servers for one test file:
 * server 0 primary, free loopback ports, a temp dir, all stopped and
 * removed when the file ends, whether its tests passed or not.
 */
export async function startTestCluster(size: number, options: TestClusterOptions = {}): Promise<TestCluster> {
  const dir = tempDir('cluster');
  const accounts = localAccounts(path.join(dir, 'secrets'));
  const servers = await startWithRetry(dir, size, accounts);
  const { serverArgs } = options;
  // startLocalCluster starts every server with the usual options: those that need more start again with them.
  if (serverArgs) {
    await Promise.all(servers.map(async (s, i) => {
      await stopMariadb(s.pid, s.dir);
      servers[i] = await startMariadb(s.dir, s.port, s.serverId, serverArgs(i));
    }));
  }
  servers.forEach((s) => track(s.pid));
  const cluster: TestCluster = {
    dir,
    servers,
    addresses: servers.map(address),
    accounts,
    access: { ...accessOf(accounts), ...(options.tls && { tls: options.tls }) },
    async sql(i, statement, params = []) {
      const conn = await rootConnection(servers[i].port);
      try {
        const [rows] = await conn.query(statement, params);
        return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
      } finally {
        await conn.end();
      }
    },
    async stop(i) {
      await stopMariadb(servers[i].pid, servers[i].dir);
      untrack(servers[i].pid);
    },
    async start(i) {
      const s = servers[i];
      servers[i] = await startMariadb(s.dir, s.port, s.serverId, serverArgs?.(i));
      track(servers[i].pid);
    },
    async addServer() {
      const n = servers.length + 1;
      const server = await startMariadb(path.join(dir, 'servers', `s${n}`), await freePort(), n, serverArgs?.(n - 1));
      track(server.pid);
      await createAccounts(server.port, accounts);
      servers.push(server);
      cluster.addresses.push(address(server));
      return n - 1;
    },
    adoptPids() {
      for (const s of servers) {
        const file = path.join(s.dir, 'mariadbd.pid');
        const pid = fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').trim()) : 0;
        if (!pid || pid === s.pid || !isMariadbRunning(pid, s.dir)) continue;
        untrack(s.pid);
        s.pid = pid;
        track(pid);
      }
    },
  };
  atEnd(async () => {
    await Promise.all(cluster.servers.map((s) => stopMariadb(s.pid, s.dir).then(() => untrack(s.pid))));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await resetTopology(cluster);
  return cluster;
}

/**
 * A free port can be taken by a parallel test file between the moment it is
 * picked and the moment the server binds it: start again on new ports.
 */
async function startWithRetry(dir: string, size: number, accounts: LocalAccounts): Promise<LocalMariadb[]> {
  for (let attempt = 1; ; attempt++) {
    const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
    try {
      return await startLocalCluster({ dir: path.join(dir, 'servers'), ports, accounts });
    } catch (err) {
      killProcessesUnder(dir);
      fs.rmSync(path.join(dir, 'servers'), { recursive: true, force: true });
      if (attempt === 3) throw err;
    }
  }
}

/** Back to the starting shape between test cases: server 0 the writable primary, the rest replicating from it. */
export async function resetTopology(cluster: TestCluster): Promise<void> {
  const { access, addresses } = cluster;
  const [primary, ...replicas] = addresses;
  await resetReplication({ address: primary, access });
  await setReadOnly({ address: primary, access, readOnly: false });
  for (const replica of replicas) {
    await setReadOnly({ address: replica, access, readOnly: true });
    await setSemiSync({ address: replica, access, primary: false });
    await changeSource({ address: replica, access, source: primary });
  }
  await setSemiSync({ address: primary, access, primary: true });
}

/** Waits until every replica has applied what the primary has executed. */
export async function waitForReplicas(cluster: TestCluster, primary = 0): Promise<void> {
  const gtid = await primaryExecuted(cluster, primary);
  for (const [i, address] of cluster.addresses.entries()) {
    if (i === primary) continue;
    const result = await waitForGtid({ address, access: cluster.access, gtid, timeoutSeconds: 20 });
    if (!result.reached) throw new Error(`${address} did not reach ${gtid}`);
  }
}

async function primaryExecuted(cluster: TestCluster, primary: number): Promise<string> {
  return (await getServerState({ address: cluster.addresses[primary], access: cluster.access })).executed;
}
