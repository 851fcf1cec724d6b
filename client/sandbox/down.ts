import { isHaproxyRunning, stopHaproxy } from '../local/haproxy';
import { isMariadbRunning, stopMariadb } from '../local/mariadb';
import { isRunning, stopProcess } from '../local/processes';
import { isTemporalRunning, stopTemporal } from '../local/temporal';
import { loadState, saveState } from './state';

/** Stops every process the sandbox started and waits until each is gone; data stays. */
export async function sandboxDown(): Promise<string[]> {
  const state = loadState();
  if (!state) return [];
  const stopped: string[] = [];
  if (isRunning(state.worker.pid, 'gtidflow.js')) stopped.push(`worker ${state.worker.pid}`);
  await stopProcess(state.worker.pid, 'gtidflow.js');
  state.worker.pid = undefined;
  if (isHaproxyRunning(state.haproxy.pid)) stopped.push(`haproxy ${state.haproxy.pid}`);
  await stopHaproxy(state.haproxy.pid);
  state.haproxy.pid = undefined;
  await Promise.all(state.servers.map(async (server) => {
    if (isMariadbRunning(server.pid)) stopped.push(`mariadbd ${server.pid} (port ${server.port})`);
    await stopMariadb(server.pid);
    server.pid = undefined;
  }));
  if ('port' in state.temporal) {
    if (isTemporalRunning(state.temporal.pid)) stopped.push(`temporal ${state.temporal.pid}`);
    await stopTemporal(state.temporal.pid);
    state.temporal.pid = undefined;
  }
  saveState(state);
  return stopped;
}
