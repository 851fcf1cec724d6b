import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * What a host agent knows of the one database server beside it: local
 * paths and commands only. A password, if the local account needs one,
 * lives in the client defaults file the config names, never in a task.
 */
export interface AgentConfig {
  /** The server's address as the cluster records it (host:port): the agent polls host:<server>. */
  server: string;
  datadir: string;
  socket: string;
  pidFile: string;
  /** How to start mariadbd (argv, started detached); the agent waits until it answers on its socket. */
  start: string[];
  /** How to stop it (argv, waited for); absent: SHUTDOWN over the socket. */
  stop?: string[];
  /** A [client] defaults file for the local account mariadb-backup and the agent use; absent: root over the socket. */
  clientDefaults?: string;
  /** The agent's own files: the transfer ledger, saved errant transactions, logs. */
  workDir: string;
  /** Where other agents reach this one for a copy. */
  transfer: { host: string; port: number };
  /** The key every agent of the cluster shares: a transfer's token is derived from it (agent/token.ts). */
  keyFile: string;
  /** mariadb-backup --throttle when this server donates a copy: at most this many IO operations a second (its load during a copy). */
  throttle?: number;
}

/** Reads and checks an agent's config; a bad one is one line naming what is wrong. */
export function loadAgentConfig(file: string): AgentConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`agent config ${file}: ${(err as Error).message}`);
  }
  const c = raw as Record<string, unknown>;
  const bad = (what: string) => new Error(`agent config ${file}: ${what}`);
  const text = (key: string) => {
    if (typeof c[key] !== 'string' || !c[key]) throw bad(`"${key}" must be a non-empty string`);
    return c[key] as string;
  };
  const argv = (key: string) => {
    const v = c[key];
    if (!Array.isArray(v) || !v.length || !v.every((a) => typeof a === 'string')) throw bad(`"${key}" must be a command as an array of strings`);
    return v as string[];
  };
  const server = text('server');
  if (!/^[^:\s]+:\d{1,5}$/.test(server)) throw bad(`"server" must be host:port, not "${server}"`);
  const transfer = c.transfer as { host?: unknown; port?: unknown } | undefined;
  if (!transfer || typeof transfer.host !== 'string' || !Number.isInteger(transfer.port) || (transfer.port as number) <= 0) {
    throw bad('"transfer" must be {"host": "...", "port": N}');
  }
  const keyFile = text('keyFile');
  if (!fs.existsSync(keyFile)) throw bad(`the key file ${keyFile} does not exist`);
  return {
    server,
    datadir: path.resolve(text('datadir')),
    socket: text('socket'),
    pidFile: text('pidFile'),
    start: argv('start'),
    ...(c.stop !== undefined && { stop: argv('stop') }),
    ...(c.clientDefaults !== undefined && { clientDefaults: text('clientDefaults') }),
    workDir: path.resolve(text('workDir')),
    transfer: { host: transfer.host, port: transfer.port as number },
    keyFile,
    ...(c.throttle !== undefined && { throttle: positive(c.throttle, 'throttle') }),
  };

  function positive(value: unknown, key: string): number {
    if (!Number.isInteger(value) || (value as number) <= 0) throw bad(`"${key}" must be a whole number > 0`);
    return value as number;
  }
}

/** Where a clone is received and prepared: beside the datadir, so that swapping it in is a rename on one filesystem. */
export const stagingDir = (config: AgentConfig) => `${config.datadir}.gtidflow-clone`;
/** Where the data a clone replaced is kept until the next clone (the operator may want its binlogs). */
export const replacedDir = (config: AgentConfig) => `${config.datadir}.gtidflow-replaced`;
