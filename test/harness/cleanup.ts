import * as fs from 'node:fs';
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
/** Each pid started, with its start time (/proc): pids are reused here (pid_max 32768), so a pid is killed only while it is still that process. */
const started = new Map<number, string | undefined>();

after(runCleanups);

/** Stops everything started so far, newest first; the benchmarks call it themselves. */
export async function runCleanups(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!();
}

function killStarted(): void {
  for (const [pid, since] of started) if (since !== undefined && startTime(pid) === since) signal(pid, 'SIGKILL');
}

process.on('exit', killStarted);
// The test runner ends a file that runs too long with a signal, which skips 'exit'.
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    killStarted();
    process.exit(128 + (sig === 'SIGTERM' ? 15 : 2));
  });
}

/** Kills every process whose command line names `dir` (servers a failed start left behind). */
export function killProcessesUnder(dir: string): void {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) signal(Number(entry), 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

export function atEnd(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

export function track(pid: number): void {
  started.set(pid, startTime(pid));
}

export function untrack(pid: number): void {
  started.delete(pid);
}

/** A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined when it is gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
