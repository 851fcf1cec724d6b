import * as path from 'node:path';
import { localServerDir, runningServerPid } from '../local/cluster';
import { isHaproxyRunning } from '../local/haproxy';
import { isRunning } from '../local/processes';
import { isTemporalRunning } from '../local/temporal';
import { loadState, paths, SandboxState } from './state';

export interface SandboxProcess {
  role: 'temporal' | 'mariadb' | 'haproxy' | 'worker' | 'agent';
  pid: number | null;
  running: boolean;
  /** A server's, and its agent's: the server's address; HAProxy's: the writer endpoint. */
  address?: string;
}

/** The config file of server i's host agent; its command line names it, which tells that agent's process from any other. */
export const agentConfigFile = (i: number) => path.join(localServerDir(paths.servers(), i), 'agent.json');

/**
 * The pid of server i's mariadbd when it runs: the recorded one, or the one
 * its pid file names when a host agent restarted it (installing a clone).
 */
export const serverPid = (state: SandboxState, i: number): number | undefined =>
  runningServerPid(localServerDir(paths.servers(), i), state.servers[i].pid);

/** Every process the sandbox runs, with its role, pid and whether it is alive. */
export function sandboxStatus(): SandboxProcess[] {
  const state = loadState();
  if (!state) return [];
  const entry = (role: SandboxProcess['role'], pid: number | undefined, running: boolean, address?: string): SandboxProcess =>
    ({ role, pid: pid ?? null, running, ...(address ? { address } : {}) });
  const t = state.temporal;
  return [
    'port' in t ? entry('temporal', t.pid, isTemporalRunning(t.pid), `127.0.0.1:${t.port}`) : entry('temporal', undefined, false, t.external),
    ...state.servers.map((s, i) => {
      const pid = serverPid(state, i);
      return entry('mariadb', pid ?? s.pid, pid !== undefined, `127.0.0.1:${s.port}`);
    }),
    entry('haproxy', state.haproxy.pid, isHaproxyRunning(state.haproxy.pid), `127.0.0.1:${state.haproxy.writerPort}`),
    entry('worker', state.worker.pid, isRunning(state.worker.pid, 'gtidflow.js')),
    // After the servers: a process looked up by address alone is the server.
    ...state.servers.map((s, i) => entry('agent', s.agent?.pid, isRunning(s.agent?.pid, agentConfigFile(i)), `127.0.0.1:${s.port}`)),
  ];
}
