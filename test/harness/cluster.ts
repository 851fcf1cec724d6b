import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Access } from '../../activities/db/connection';
import { accessOf, address, LocalAccounts, localAccounts, startLocalCluster } from '../../client/local/cluster';
import { LocalMariadb, rootConnection, startMariadb, stopMariadb } from '../../client/local/mariadb';
import { freePort } from '../../client/local/ports';
import { atEnd, track, untrack } from './cleanup';
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
}

/**
 * A replicating cluster of `size` real MariaDB servers for one test file:
 * server 0 primary, free loopback ports, a temp dir, all stopped and
 * removed when the file ends, whether its tests passed or not.
 */
export async function startTestCluster(size: number): Promise<TestCluster> {
  const dir = tempDir('cluster');
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const accounts = localAccounts(path.join(dir, 'secrets'));
  const { servers } = await startLocalCluster({ dir: path.join(dir, 'servers'), ports, accounts });
  servers.forEach((s) => track(s.pid));
  const cluster: TestCluster = {
    dir,
    servers,
    addresses: servers.map(address),
    accounts,
    access: accessOf(accounts),
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
      await stopMariadb(servers[i].pid);
      untrack(servers[i].pid);
    },
    async start(i) {
      const s = servers[i];
      servers[i] = await startMariadb(s.dir, s.port, s.serverId);
      track(servers[i].pid);
    },
  };
  atEnd(async () => {
    await Promise.all(cluster.servers.map((s) => stopMariadb(s.pid).then(() => untrack(s.pid))));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return cluster;
}
