import * as fs from 'node:fs';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { cacheDir } from './cache';
import { isRunning, startDetached, stopProcess } from './processes';
import { freePort, listensOn, sleep } from './ports';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../workflows/search-attributes';

/** The Temporal CLI version whose dev server we build (the last tag without replace directives). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const BINARY = 'temporal';

export interface LocalTemporal {
  pid: number;
  port: number;
  uiPort: number;
  address: string;
  ui: string;
}

export function temporalCliPath(): string {
  const built = path.join(cacheDir(), 'temporal-cli', TEMPORAL_CLI_VERSION, 'temporal');
  if (!fs.existsSync(built)) {
    throw new Error(`the Temporal CLI is not built at ${built}: run "bash client/setup.sh" first`);
  }
  return built;
}

/**
 * Starts the Temporal dev server: SQLite file, Web UI on uiPort, the
 * project's search attributes registered. Resolves once it serves requests.
 */
export async function startTemporal(opts: { dbFile: string; port: number; uiPort: number; logFile: string; ui?: boolean }): Promise<LocalTemporal> {
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(opts.port),
    '--db-filename', opts.dbFile,
    '--log-level', 'warn',
    // A step scheduled by a workflow task goes back with its answer, not through matching (README: Eager activities).
    '--dynamic-config-value', 'system.enableActivityEagerExecution=true',
  ];
  if (opts.ui === false) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  for (const flag of SEARCH_ATTRIBUTE_FLAGS) args.push('--search-attribute', flag);
  const { pid } = startDetached(temporalCliPath(), args, opts.logFile);
  const server = {
    pid, port: opts.port, uiPort: opts.uiPort,
    address: `127.0.0.1:${opts.port}`, ui: `http://127.0.0.1:${opts.uiPort}`,
  };
  try {
    await waitUntilServing(server, opts.logFile);
  } catch (err) {
    await stopTemporal(pid);
    throw err;
  }
  return server;
}

/**
 * The same on ports chosen free that may be taken before the server binds
 * them (a parallel test file, a second sandbox coming up at once that also
 * chose 7233, the dev server's own random ports): started again on other
 * free ports, three tries in all. The server returned names its ports.
 */
export async function startTemporalOnFreePorts(opts: Parameters<typeof startTemporal>[0]): Promise<LocalTemporal> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTemporal(opts);
    } catch (err) {
      if (attempt === 3) throw err;
      opts = { ...opts, port: await freePort(), uiPort: await freePort() };
    }
  }
}

class PortTaken extends Error {}

async function waitUntilServing(server: LocalTemporal, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!isRunning(server.pid, BINARY)) throw new Error(`the Temporal dev server exited; see ${logFile}`);
    try {
      const connection = await Connection.connect({ address: server.address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        // Answered: by this server, or by another that held the port first (this one then exits).
        if (!listensOn(server.pid, server.port)) throw new PortTaken(`127.0.0.1:${server.port} is another server's; see ${logFile}`);
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (err instanceof PortTaken) throw err;
      if (Date.now() > deadline) throw new Error(`the Temporal dev server did not answer on ${server.address} within 60 s; see ${logFile}`);
      await sleep(200);
    }
  }
}

/** `mark`: what only this server's process has (its SQLite file): a pid reused by another is not stopped. */
export function stopTemporal(pid: number | undefined, mark = BINARY): Promise<void> {
  return stopProcess(pid, mark, 20_000);
}

export function isTemporalRunning(pid: number | undefined, mark = BINARY): boolean {
  return isRunning(pid, mark);
}
