import * as net from 'node:net';
import { ApplicationFailure } from '@temporalio/common';

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
  name: string;
  adminState: number;
  /** Taken out by us (`state maint`): what fencing and routing set. */
  forcedMaint: boolean;
  /** In rotation as far as the admin state goes (health checks aside). */
  ready: boolean;
  /** The server's health check: none configured, configured but not enabled, or enabled. */
  healthCheck: 'none' | 'disabled' | 'enabled';
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
  return new Promise((resolve, reject) => {
    const conn = net.createConnection({ path: socket });
    let answer = '';
    const fail = (reason: string) => {
      conn.destroy();
      reject(ApplicationFailure.retryable(`HAProxy admin socket ${socket}: ${reason} (command: ${command})`, 'RouterUnreachable'));
    };
    conn.setEncoding('utf8');
    conn.setTimeout(TIMEOUT_MS, () => fail(`no answer within ${TIMEOUT_MS} ms`));
    conn.on('connect', () => conn.write(`${command}\n`));
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
  const answer = await haproxyCommand(socket, `show servers state ${checkName(backend, 'backend')}`);
  const rows = tableAfterHeader(answer, ' ');
  if (!rows) throw routerConfigError(`HAProxy admin socket ${socket}: show servers state ${backend}: ${answer.trim()}`);
  return rows.map((row) => {
    const adminState = Number(row.srv_admin_state);
    const checkState = Number(row.srv_check_state);
    return {
      backendId: Number(row.be_id),
      name: row.srv_name,
      adminState,
      forcedMaint: (adminState & FORCED_MAINT) !== 0,
      ready: (adminState & (ANY_MAINT | ANY_DRAIN)) === 0,
      healthCheck: (checkState & CHECK_CONFIGURED) === 0 ? 'none' : (checkState & CHECK_ENABLED) === 0 ? 'disabled' : 'enabled',
    };
  });
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
