import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import { readPassword } from '../../client/local/secrets';
import type { HaproxyRouter } from '../../activities/router/haproxy';
import type { ShardRouter } from '../../activities/router/shard-endpoint';
import { haproxyFiles, startHaproxy, stopHaproxy } from '../../client/local/haproxy';
import { freePort } from '../../client/local/ports';
import { atEnd, track, untrack } from './cleanup';
import type { TestCluster } from './cluster';

export interface TestRouter {
  router: HaproxyRouter;
  writerPort: number;
  readerPort: number;
  /** The same HAProxy for shard endpoints, its shard frontends gtidflow's own (as the sandbox's). */
  shards: ShardRouter;
}

/** A real HAProxy in front of a test cluster: writes to server 0, reads from the rest, stopped when the file ends. */
export async function startTestRouter(cluster: TestCluster): Promise<TestRouter> {
  const router = { adminSocket: path.join(cluster.dir, 'haproxy.sock'), writerBackend: 'writer', readerBackend: 'reader' };
  const backend = (enabled: (i: number) => boolean) => cluster.servers.map((s, i) => ({ name: cluster.addresses[i], port: s.port, enabled: enabled(i) }));
  const configFile = path.join(cluster.dir, 'haproxy.cfg');
  const { pid, writerPort, readerPort } = await startHaproxy(
    { adminSocket: router.adminSocket, writerPort: await freePort(), readerPort: await freePort(), writer: backend((i) => i === 0), reader: backend((i) => i !== 0) },
    configFile,
    path.join(cluster.dir, 'haproxy.log'),
  );
  track(pid);
  atEnd(async () => {
    await stopHaproxy(pid);
    untrack(pid);
  });
  return { router, writerPort, readerPort, shards: { adminSocket: router.adminSocket, owned: haproxyFiles(configFile) } };
}

/** Sessions through a test router as gtidflow's admin account (root may only use the local socket). */
export function proxySessions(cluster: () => TestCluster) {
  const viaProxy = async (port: number): Promise<mysql.Connection> => {
    const { admin } = cluster().accounts;
    const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: admin.user, password: readPassword(admin), connectTimeout: 2_000 });
    conn.on('error', () => undefined);
    return conn;
  };
  const serverPort = async (conn: mysql.Connection): Promise<number> => {
    const [rows] = await conn.query('SELECT @@port AS port');
    return Number((rows as { port: number }[])[0].port);
  };
  /** The servers (their ports) that `connections` new sessions through the proxy port reach. */
  const portsBehind = async (proxyPort: number, connections: number): Promise<number[]> => {
    const seen = new Set<number>();
    for (let i = 0; i < connections; i++) {
      const conn = await viaProxy(proxyPort);
      seen.add(await serverPort(conn));
      await conn.end();
    }
    return [...seen].sort();
  };
  return { viaProxy, serverPort, portsBehind };
}
