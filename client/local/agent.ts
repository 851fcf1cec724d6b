import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AgentConfig } from '../../agent/config';
import { address } from './cluster';
import { LocalMariadb, serverOptions } from './mariadb';
import { startDetached } from './processes';

const CLI = path.join(__dirname, '..', 'gtidflow.js');

/** The key a machine's agents share (agent/token.ts), made once. */
export function ensureAgentKey(file: string): string {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return file;
}

/**
 * The config of the agent beside a local server: its datadir, socket and
 * pid file, and how to start it again with the options it runs with
 * (`extraArgs`: a test's TLS files), and `more` settings. Written into the server's directory.
 */
export function writeLocalAgentConfig(server: LocalMariadb, keyFile: string, transferPort: number, extraArgs: string[] = [], more: Partial<AgentConfig> = {}): string {
  const config: AgentConfig = {
    server: address(server),
    datadir: path.join(server.dir, 'data'),
    socket: server.socket,
    pidFile: path.join(server.dir, 'mariadbd.pid'),
    start: ['mariadbd', ...serverOptions(server.dir, server.port, server.serverId), ...extraArgs],
    workDir: path.join(server.dir, 'agent'),
    transfer: { host: '127.0.0.1', port: transferPort },
    keyFile,
    ...more,
  };
  const file = path.join(server.dir, 'agent.json');
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** Starts `gtidflow agent` on a config, detached, its output in `logFile`. */
export function startLocalAgent(configFile: string, logFile: string, env: NodeJS.ProcessEnv): { pid: number } {
  return startDetached(process.execPath, [CLI, 'agent', '--config', configFile], logFile, env);
}
