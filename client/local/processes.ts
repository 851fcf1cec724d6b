import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { sleep } from './ports';

export interface Started {
  pid: number;
}

/**
 * Starts a program in its own process group, detached from ours, with its
 * output in a log file, so it outlives the CLI that started it.
 */
export function startDetached(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Started {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], env });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  child.unref();
  return { pid: child.pid };
}

/**
 * Alive, and still the program we started (a pid can be reused). Alive
 * means some thread of it has not exited: a multi-threaded server's main
 * thread can exit first (a zombie leader, its command line already empty)
 * while other threads still hold its ports and files, and a pid is not
 * reused before its zombie is reaped, so such a process is still ours. An
 * exited process nobody has reaped yet (every thread a zombie) is gone.
 */
export function isRunning(pid: number | undefined, commandPart: string): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const threads = threadStates(pid);
  if (![...threads.values()].some((state) => !EXITED.has(state))) return false;
  if (EXITED.has(threads.get(pid) ?? 'X')) return true;
  // In its command line or its environment: pids are reused (pid_max is 32768 here), so a caller that can names
  // something only its own process has (a path under its state directory, GTIDFLOW_HOME=…).
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(commandPart) || fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(commandPart);
  } catch {
    return false;
  }
}

/** Zombie, dead. */
const EXITED = new Set(['Z', 'X', 'x']);

/** The state letter of each thread of `pid` (/proc/<pid>/task/<tid>/stat), by thread id; empty when it is gone. */
function threadStates(pid: number): Map<number, string> {
  const states = new Map<number, string>();
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    // gone
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The state follows the command name, which is in parentheses and may itself hold ") ".
      states.set(Number(tid), stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
    } catch {
      // that thread exited meanwhile
    }
  }
  return states;
}

export async function waitForExit(pid: number, commandPart: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid, commandPart)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** SIGTERM, then SIGKILL if it has not exited in time; resolves once it is gone. */
export async function stopProcess(pid: number | undefined, commandPart: string, graceMs = 10_000): Promise<void> {
  if (!pid || !isRunning(pid, commandPart)) return;
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, commandPart, graceMs)) return;
  signal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, commandPart, 5_000))) throw new Error(`process ${pid} (${commandPart}) did not exit`);
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
