import { isHaproxyRunning, stopHaproxy } from '../local/haproxy';
import { stopMariadb } from '../local/mariadb';
import { isRunning, stopProcess } from '../local/processes';
import { isTemporalRunning, stopTemporal } from '../local/temporal';
import { loadState, marks, sandboxClusters, saveState } from './state';
import { agentConfigFile, serverPid } from './status';

/**
 * Stops every process the sandbox started, every cluster's, and returns
 * once each is gone (every thread of it exited, so its ports and files are
 * free for the next `up`); data stays. Each gets SIGTERM, then SIGKILL after
 * its grace period (processes.ts stopProcess): bounded. The host agents go
 * first (none restarts a server after that), then the worker, Temporal
 * last; a server is stopped by the pid its pid file names when an agent
 * restarted it. One that outlives even SIGKILL is named in the error, after
 * the others were stopped; its pid stays recorded, so `status` still shows it.
 */
export async function sandboxDown(): Promise<string[]> {
  const state = loadState();
  if (!state) return [];
  const stopped: string[] = [];
  const failed: string[] = [];
  const stop = async (what: string, pid: number | undefined, running: boolean, stopIt: (pid: number | undefined) => Promise<void>): Promise<boolean> => {
    try {
      await stopIt(pid);
      if (running) stopped.push(what);
      return true;
    } catch (err) {
      failed.push(`${what}: ${(err as Error).message}`);
      return false;
    }
  };
  const { worker, haproxy, temporal } = state;
  const servers = sandboxClusters(state).flatMap((cluster) => cluster.servers.map((server, i) => ({ cluster, server, i })));
  await Promise.all(servers.map(async ({ cluster, server: { agent }, i }) => {
    if (!agent) return;
    const mark = agentConfigFile(cluster, i);
    if (await stop(`agent ${agent.pid}`, agent.pid, isRunning(agent.pid, mark), (pid) => stopProcess(pid, mark))) agent.pid = undefined;
  }));
  if (await stop(`worker ${worker.pid}`, worker.pid, isRunning(worker.pid, marks.worker()), (pid) => stopProcess(pid, marks.worker()))) worker.pid = undefined;
  if (await stop(`haproxy ${haproxy.pid}`, haproxy.pid, isHaproxyRunning(haproxy.pid, marks.haproxy()), (pid) => stopHaproxy(pid, marks.haproxy()))) haproxy.pid = undefined;
  await Promise.all(servers.map(async ({ cluster, server, i }) => {
    const pid = serverPid(cluster, i);
    if (pid) server.pid = pid;
    if (await stop(`mariadbd ${pid ?? server.pid} (port ${server.port})`, pid, pid !== undefined, stopMariadb)) server.pid = undefined;
  }));
  if ('port' in temporal && (await stop(`temporal ${temporal.pid}`, temporal.pid, isTemporalRunning(temporal.pid, marks.temporal()), (pid) => stopTemporal(pid, marks.temporal())))) temporal.pid = undefined;
  saveState(state);
  if (failed.length) throw new Error(`sandbox down: still running after SIGKILL: ${failed.join('; ')}`);
  return stopped;
}
