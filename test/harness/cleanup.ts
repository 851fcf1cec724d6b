import { after } from 'node:test';
import { signal } from '../../client/local/processes';

/**
 * Every test file that uses the harness ends by stopping what it started:
 * one root `after` hook (registered when this module loads, so it belongs
 * to the file, not to the hook that happened to start a server) runs the
 * cleanups in reverse order, whether the tests passed or not. Pids are also
 * killed on exit, as a last resort if the file dies before the hook runs.
 */
const cleanups: (() => Promise<void>)[] = [];
const started = new Set<number>();

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

process.on('exit', () => {
  for (const pid of started) signal(pid, 'SIGKILL');
});

export function atEnd(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

export function track(pid: number): void {
  started.add(pid);
}

export function untrack(pid: number): void {
  started.delete(pid);
}
