import * as path from 'node:path';
import type { HaproxyRouter } from '../../activities/router/haproxy';
import { startHaproxy, stopHaproxy } from '../../client/local/haproxy';
import { freePort } from '../../client/local/ports';
import { atEnd, track, untrack } from './cleanup';
import type { TestCluster } from './cluster';

export interface TestRouter {
  router: HaproxyRouter;
  writerPort: number;
  readerPort: number;
}

/** A real HAProxy in front of a test cluster: writes to server 0, reads from the rest, stopped when the file ends. */
export async function startTestRouter(cluster: TestCluster): Promise<TestRouter> {
  const router = { adminSocket: path.join(cluster.dir, 'haproxy.sock'), writerBackend: 'writer', readerBackend: 'reader' };
  const backend = (enabled: (i: number) => boolean) => cluster.servers.map((s, i) => ({ name: cluster.addresses[i], port: s.port, enabled: enabled(i) }));
  const { pid, writerPort, readerPort } = await startHaproxy(
    { adminSocket: router.adminSocket, writerPort: await freePort(), readerPort: await freePort(), writer: backend((i) => i === 0), reader: backend((i) => i !== 0) },
    path.join(cluster.dir, 'haproxy.cfg'),
    path.join(cluster.dir, 'haproxy.log'),
  );
  track(pid);
  atEnd(async () => {
    await stopHaproxy(pid);
    untrack(pid);
  });
  return { router, writerPort, readerPort };
}
