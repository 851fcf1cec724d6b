import * as net from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { parseAddress } from '../../workflows/logic/address';

const TIMEOUT_MS = 2_000;

/**
 * srv_admin_state bits (HAProxy 2.6 include/haproxy/server-t.h, checked
 * against haproxy 2.6.12 here): 0x01 forced maint (`set server … state
 * maint`), 0x02 maint inherited from a tracked server, 0x20 maint after a
 * failed address resolution; 0x08/0x10 forced/inherited drain. 0x04 only
 * marks "disabled in the configuration": it stays set after `state ready`
 * while the server takes traffic, so it is not part of the maint mask.
 */
const FORCED_MAINT = 0x01;
const ANY_MAINT = 0x23;
const ANY_DRAIN = 0x18;

/**
 * srv_check_state bits (include/haproxy/check-t.h, checked the same way):
 * 0x02 a health check is configured (`check`), 0x04 it is enabled (a
 * server added at runtime has it configured but disabled until `enable
 * health`), 0x08 paused while the server is in maintenance.
 */
const CHECK_CONFIGURED = 0x02;
const CHECK_ENABLED = 0x04;

export interface BackendServer {
  backendId: number;
  backend: string;
  name: string;
  /** Where HAProxy sends its traffic, "host:port" as a server line writes it. */
  address: string;
  adminState: number;
  /** Taken out by us (`state maint`): what fencing and routing set. */
  forcedMaint: boolean;
  /** In rotation as far as the admin state goes (health checks aside). */
  ready: boolean;
  /** The server's health check: none configured, configured but not enabled, or enabled. */
  healthCheck: 'none' | 'disabled' | 'enabled';
}

const queues = new Map<string, Promise<unknown>>();

/**
 * One change at a time to a HAProxy from this process, in the order asked.
 * A reload (shard-endpoint.ts) carries over the runtime states it dumps
 * first: a state set on the old worker after the dump would be lost with
 * it, so routing waits for a reload, and a reload for routing.
 */
export function exclusive<T>(adminSocket: string, change: () => Promise<T>): Promise<T> {
  const run = (queues.get(adminSocket) ?? Promise.resolve()).catch(() => undefined).then(change);
  queues.set(adminSocket, run);
  return run;
}

/** Unknown backend or server, or a socket without `level admin`: retrying will not help. */
export function routerConfigError(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'RouterConfig');
}

/**
 * Sends one command over the runtime API (non-interactive: HAProxy answers
 * and closes the connection) and returns the text answer.
 */
export function haproxyCommand(socket: string, command: string): Promise<string> {
  return cliCommand('admin socket', socket, command);
}

/** The same over the master CLI (`haproxy -W -S <socket>`): the master's own commands, or `@!<pid> <command>` for one of its workers. */
export function masterCommand(socket: string, command: string): Promise<string> {
  return cliCommand('master socket', socket, command);
}

function cliCommand(what: string, socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection({ path: socket });
    let answer = '';
    const fail = (reason: string) => {
      conn.destroy();
      reject(ApplicationFailure.retryable(`HAProxy ${what} ${socket}: ${reason} (command: ${command})`, 'RouterUnreachable'));
    };
    conn.setEncoding('utf8');
    conn.setTimeout(TIMEOUT_MS, () => fail(`no answer within ${TIMEOUT_MS} ms`));
    // Half-closed after the command: the master CLI, unlike the admin socket, answers and closes only then.
    conn.on('connect', () => conn.end(`${command}\n`));
    conn.on('data', (chunk) => (answer += chunk));
    conn.on('error', (err: NodeJS.ErrnoException) => fail(`cannot connect: ${err.code ?? err.message}`));
    conn.on('end', () => {
      conn.destroy();
      resolve(answer);
    });
  });
}

/** Runs a command whose success answer is empty; any text back is HAProxy refusing it. */
export async function haproxyAction(socket: string, command: string): Promise<void> {
  const answer = (await haproxyCommand(socket, command)).trim();
  if (answer) throw routerConfigError(`HAProxy admin socket ${socket}: "${command}" refused: ${answer}`);
}

/** Backend and server names go into command lines: refuse anything that could end or extend a command. */
export function checkName(name: string, what: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) throw routerConfigError(`invalid HAProxy ${what} name ${JSON.stringify(name)}`);
  return name;
}

export async function showServersState(socket: string, backend: string): Promise<BackendServer[]> {
  return (await serversState(socket, `show servers state ${checkName(backend, 'backend')}`)).servers;
}

/** Every backend's servers, and the answer as it is: the format HAProxy's server-state-file is read in. */
export function dumpServersState(socket: string): Promise<{ text: string; servers: BackendServer[] }> {
  return serversState(socket, 'show servers state');
}

async function serversState(socket: string, command: string): Promise<{ text: string; servers: BackendServer[] }> {
  const answer = await haproxyCommand(socket, command);
  const rows = tableAfterHeader(answer, ' ');
  if (!rows) throw routerConfigError(`HAProxy admin socket ${socket}: ${command}: ${answer.trim()}`);
  const servers = rows.map((row): BackendServer => {
    const adminState = Number(row.srv_admin_state);
    const checkState = Number(row.srv_check_state);
    return {
      backendId: Number(row.be_id),
      backend: row.be_name,
      name: row.srv_name,
      address: `${row.srv_addr}:${row.srv_port}`,
      adminState,
      forcedMaint: (adminState & FORCED_MAINT) !== 0,
      ready: (adminState & (ANY_MAINT | ANY_DRAIN)) === 0,
      healthCheck: (checkState & CHECK_CONFIGURED) === 0 ? 'none' : (checkState & CHECK_ENABLED) === 0 ? 'disabled' : 'enabled',
    };
  });
  return { text: answer, servers };
}

/** A database shard's frontend and backend are `shard-<name>` (activities/router/shard-endpoint.ts). */
export const shardBackendName = (shard: string) => `shard-${shard}`;

/**
 * The backends of the shards a cluster holds, with their servers: those
 * whose servers are all the cluster's (`members`, its writer backend's).
 * They follow the cluster's writer: fenced and routed with it. While a move
 * routes a shard (servers of both clusters for a moment) it is no cluster's.
 */
export async function shardBackendsOf(socket: string, members: string[]): Promise<{ backend: string; servers: BackendServer[] }[]> {
  const found = [];
  for (const backend of (await showBackends(socket)).filter((b) => b.startsWith(shardBackendName('')))) {
    const servers = await showServersState(socket, backend);
    if (servers.length && servers.every((s) => members.includes(s.name))) found.push({ backend, servers });
  }
  return found;
}

export async function showBackends(socket: string): Promise<string[]> {
  return (await haproxyCommand(socket, 'show backend')).split('\n').filter((line) => line.trim() && !line.startsWith('#'));
}

/** The port of every listener HAProxy holds, with the frontend it belongs to (`show fd`: `fe=<name> fam=<family> lport=<port>`). */
export async function listeners(socket: string): Promise<Map<number, string>> {
  const answer = await haproxyCommand(socket, 'show fd');
  return new Map([...answer.matchAll(/\bfe=(\S+) fam=\S+ lport=(\d+)/g)].map(([, frontend, port]) => [Number(port), frontend]));
}

/**
 * Takes servers of one backend out of rotation. Maint stops new
 * connections only; open sessions are shut too. Sessions are counted after
 * maint, not inferred from it, so a retry after a crash between the two
 * steps still shuts them.
 */
export async function takeOut(socket: string, backend: string, servers: BackendServer[]): Promise<boolean> {
  if (servers.length === 0) return false;
  let changed = await setState(socket, backend, servers, 'maint');
  const sessions = await serverSessions(socket, servers[0].backendId);
  for (const server of servers.filter((s) => (sessions.get(s.name) ?? 0) > 0)) {
    await haproxyAction(socket, `shutdown sessions server ${backend}/${server.name}`);
    changed = true;
  }
  return changed;
}

/** Sets the admin state of the servers not already in it; true when there was one. */
export async function setState(socket: string, backend: string, servers: BackendServer[], state: 'ready' | 'maint'): Promise<boolean> {
  const differing = servers.filter((s) => (state === 'ready' ? !s.ready : !s.forcedMaint));
  for (const server of differing) await haproxyAction(socket, `set server ${backend}/${server.name} state ${state}`);
  return differing.length > 0;
}

/** A dynamic server named by its address (`add server`): it starts in maintenance. */
export async function addServer(socket: string, backend: string, server: string, options = ''): Promise<void> {
  const { host, port } = parseAddress(server);
  await expectAnswer(socket, `add server ${backend}/${checkName(server, 'server')} ${host}:${port}${options && ` ${options}`}`, /New server registered/);
}

/** add/del server answer in words on success; anything else is the reason it did not happen. */
export async function expectAnswer(socket: string, command: string, success: RegExp): Promise<void> {
  const answer = (await haproxyCommand(socket, command)).trim();
  if (!success.test(answer)) throw routerConfigError(`HAProxy refused "${command}": ${answer}`);
}

/** Current sessions per server of one backend (`show stat` takes the numeric backend id). */
export async function serverSessions(socket: string, backendId: number): Promise<Map<string, number>> {
  const answer = await haproxyCommand(socket, `show stat ${backendId} 4 -1`);
  const rows = tableAfterHeader(answer, ',');
  if (!rows) throw new Error(`HAProxy admin socket ${socket}: unexpected answer to show stat: ${answer.trim()}`);
  return new Map(rows.map((row) => [row.svname, Number(row.scur)]));
}

/** Rows keyed by the column names of the `# name name …` header line; null when there is no header. */
function tableAfterHeader(answer: string, separator: string): Record<string, string>[] | null {
  const lines = answer.split('\n');
  const headerAt = lines.findIndex((line) => line.startsWith('# '));
  if (headerAt < 0) return null;
  const columns = lines[headerAt].slice(2).split(separator);
  return lines.slice(headerAt + 1).filter((line) => line.trim()).map((line) => {
    const values = line.split(separator);
    return Object.fromEntries(columns.map((column, i) => [column, values[i]]));
  });
}

export interface MasterProcesses {
  master: { pid: number; reloads: number };
  /** The worker serving now (one: HAProxy 2.6 runs one process with threads). */
  workers: number[];
  /** Workers of earlier configurations still finishing their sessions. */
  oldWorkers: number[];
}

/** `show proc` on the master CLI. */
export async function showProc(masterSocket: string): Promise<MasterProcesses> {
  const answer = await masterCommand(masterSocket, 'show proc');
  const found: MasterProcesses = { master: { pid: 0, reloads: 0 }, workers: [], oldWorkers: [] };
  let section: number[] | null = null;
  for (const line of answer.split('\n')) {
    if (line.startsWith('#')) {
      section = line === '# workers' ? found.workers : line === '# old workers' ? found.oldWorkers : null;
      continue;
    }
    const row = /^(\d+)\s+(\S+)\s+(\d+)/.exec(line);
    if (row?.[2] === 'master') found.master = { pid: Number(row[1]), reloads: Number(row[3]) };
    else if (row && section) section.push(Number(row[1]));
  }
  if (!found.master.pid) throw new Error(`HAProxy master socket ${masterSocket}: unexpected answer to show proc: ${answer.trim()}`);
  return found;
}

/** The master's current worker when it is the one answering on the admin socket (after a reload, once the new worker serves); null otherwise. */
export async function servingWorker(masterSocket: string, adminSocket: string): Promise<number | null> {
  const { workers } = await showProc(masterSocket);
  const pid = Number(/^Pid: (\d+)$/m.exec(await haproxyCommand(adminSocket, 'show info'))?.[1]);
  return workers.includes(pid) ? pid : null;
}
