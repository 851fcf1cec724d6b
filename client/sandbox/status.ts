import * as path from 'node:path';
import { localServerDir, runningServerPid } from '../local/cluster';
import { isHaproxyRunning } from '../local/haproxy';
import { isRunning } from '../local/processes';
import { isTemporalRunning } from '../local/temporal';
import { loadState, marks, SandboxCluster, sandboxClusters } from './state';

export interface SandboxProcess {
  role: 'temporal' | 'mariadb' | 'haproxy' | 'worker' | 'agent';
  pid: number | null;
  running: boolean;
  /** A server's, and its agent's: the server's address; HAProxy's: the first cluster's writer endpoint. */
  address?: string;
  /** A server's, and its agent's: the cluster it belongs to. */
  cluster?: string;
}

/** The config file of server i's host agent; its command line names it, which tells that agent's process from any other. */
export const agentConfigFile = (cluster: SandboxCluster, i: number) => path.join(localServerDir(cluster.dir, i), 'agent.json');

/**
 * The pid of server i's mariadbd when it runs: the recorded one, or the one
 * its pid file names when a host agent restarted it (installing a clone).
 */
export const serverPid = (cluster: SandboxCluster, i: number): number | undefined =>
  runningServerPid(localServerDir(cluster.dir, i), cluster.servers[i].pid);

/** Every process the sandbox runs (every cluster's servers and agents), with its role, pid and whether it is alive. */
export function sandboxStatus(): SandboxProcess[] {
  const state = loadState();
  if (!state) return [];
  const entry = (role: SandboxProcess['role'], pid: number | undefined, running: boolean, address?: string, cluster?: string): SandboxProcess =>
    ({ role, pid: pid ?? null, running, ...(address ? { address } : {}), ...(cluster ? { cluster } : {}) });
  const t = state.temporal;
  const clusters = sandboxClusters(state);
  return [
    'port' in t ? entry('temporal', t.pid, isTemporalRunning(t.pid, marks.temporal()), `127.0.0.1:${t.port}`) : entry('temporal', undefined, false, t.external),
    ...clusters.flatMap((c) => c.servers.map((s, i) => {
      const pid = serverPid(c, i);
      return entry('mariadb', pid ?? s.pid, pid !== undefined, `127.0.0.1:${s.port}`, c.name);
    })),
    entry('haproxy', state.haproxy.pid, isHaproxyRunning(state.haproxy.pid, marks.haproxy()), `127.0.0.1:${state.haproxy.writerPort}`),
    entry('worker', state.worker.pid, isRunning(state.worker.pid, marks.worker())),
    // After the servers: a process looked up by address alone is the server.
    ...clusters.flatMap((c) => c.servers.map((s, i) => entry('agent', s.agent?.pid, isRunning(s.agent?.pid, agentConfigFile(c, i)), `127.0.0.1:${s.port}`, c.name))),
  ];
}
