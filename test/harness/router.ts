import * as path from 'node:path';
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
