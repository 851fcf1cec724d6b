import { isHaproxyRunning } from '../local/haproxy';
import { isMariadbRunning } from '../local/mariadb';
import { isRunning } from '../local/processes';
import { isTemporalRunning } from '../local/temporal';
import { loadState } from './state';

export interface SandboxProcess {
  role: 'temporal' | 'mariadb' | 'haproxy' | 'worker';
  pid: number | null;
  running: boolean;
  address?: string;
}

/** Every process the sandbox runs, with its role, pid and whether it is alive. */
export function sandboxStatus(): SandboxProcess[] {
  const state = loadState();
  if (!state) return [];
  const entry = (role: SandboxProcess['role'], pid: number | undefined, running: boolean, address?: string): SandboxProcess =>
    ({ role, pid: pid ?? null, running, ...(address ? { address } : {}) });
  const t = state.temporal;
  return [
    'port' in t ? entry('temporal', t.pid, isTemporalRunning(t.pid), `127.0.0.1:${t.port}`) : entry('temporal', undefined, false, t.external),
    ...state.servers.map((s) => entry('mariadb', s.pid, isMariadbRunning(s.pid), `127.0.0.1:${s.port}`)),
    entry('haproxy', state.haproxy.pid, isHaproxyRunning(state.haproxy.pid), `127.0.0.1:${state.haproxy.writerPort}`),
    entry('worker', state.worker.pid, isRunning(state.worker.pid, 'gtidflow.js')),
  ];
}
