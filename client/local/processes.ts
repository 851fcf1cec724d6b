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

/** Alive, and still the program we started (a pid can be reused). */
export function isRunning(pid: number | undefined, commandPart: string): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return cmdline.includes(commandPart) && !/\) Z /.test(stat);
  } catch {
    return false;
  }
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
