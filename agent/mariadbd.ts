import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import type { AgentConfig } from './config';
import { runTool } from './run-tool';
const STOP_SECONDS = 120;
const START_SECONDS = 120;

/** The pid mariadbd wrote, when that process still runs. */
export function mariadbdPid(config: AgentConfig): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(config.pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  try {
    if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'mariadbd') return undefined;
    // A stale pid file's pid may now be another server's on this host: one started with a datadir names it.
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const datadir = args.find((a) => a.startsWith('--datadir='))?.slice('--datadir='.length);
    return datadir === undefined || path.resolve(datadir) === config.datadir ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The local account: the defaults file's user and password, else root over the socket. */
function localAccount(config: AgentConfig): { user: string; password?: string } {
  if (!config.clientDefaults) return { user: 'root' };
  const text = fs.readFileSync(config.clientDefaults, 'utf8');
  const option = (name: string) => text.match(new RegExp(`^\\s*${name}\\s*=\\s*"?([^"\\n]*)"?\\s*$`, 'm'))?.[1];
  return { user: option('user') ?? 'root', password: option('password') };
}

export function localConnection(config: AgentConfig): Promise<mysql.Connection> {
  return mysql.createConnection({ socketPath: config.socket, ...localAccount(config), connectTimeout: 2_000 });
}

/** The options mariadb-backup and the other client tools take first: the local account. */
export function clientToolArgs(config: AgentConfig): string[] {
  return config.clientDefaults ? [`--defaults-extra-file=${config.clientDefaults}`, `--socket=${config.socket}`] : [`--socket=${config.socket}`, '--user=root'];
}

/** The local server as it answers on its socket: its server_id and read_only; undefined when nothing answers. */
export async function localServer(config: AgentConfig): Promise<{ serverId: number; readOnly: boolean } | undefined> {
  let conn: mysql.Connection;
  try {
    conn = await localConnection(config);
  } catch {
    return undefined;
  }
  try {
    const [[row]] = (await conn.query('SELECT @@server_id AS id, @@read_only AS ro')) as unknown as [{ id: number; ro: number }[]];
    return { serverId: Number(row.id), readOnly: Number(row.ro) === 1 };
  } finally {
    conn.destroy();
  }
}

/**
 * Stops the local mariadbd (its stop command, else SHUTDOWN) and waits
 * until its process is gone and nothing answers on its socket any more:
 * a datadir is never swapped under a server still running (a pidFile that
 * is not the server's would make it look stopped).
 */
export async function stopMariadbd(config: AgentConfig): Promise<void> {
  const pid = mariadbdPid(config);
  if (pid !== undefined) {
    if (config.stop) await runTool(config.stop);
    else {
      const conn = await localConnection(config);
      await conn.query('SHUTDOWN').finally(() => conn.destroy());
    }
    for (let waited = 0; mariadbdPid(config) === pid; waited += 100) {
      if (waited > STOP_SECONDS * 1000) throw new Error(`mariadbd (pid ${pid}) did not stop within ${STOP_SECONDS} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (await localServer(config)) throw new Error(`a server still answers on ${config.socket} with mariadbd stopped: is ${config.pidFile} its pid file?`);
}

/** Starts the local mariadbd with its start command and waits until it answers on its socket. */
export async function startMariadbd(config: AgentConfig): Promise<void> {
  if (mariadbdPid(config) === undefined) {
    const log = fs.openSync(path.join(config.workDir, 'mariadbd-start.log'), 'a');
    spawn(config.start[0], config.start.slice(1), { detached: true, stdio: ['ignore', log, log] }).unref();
    fs.closeSync(log);
  }
  const deadline = Date.now() + START_SECONDS * 1000;
  for (;;) {
    try {
      (await localConnection(config)).destroy();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`mariadbd did not answer on ${config.socket} within ${START_SECONDS} s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
