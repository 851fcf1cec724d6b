import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AgentConfig } from './config';
import { localConnection } from './mariadbd';
import { runTool } from './run-tool';

/**
 * Writes the binlog events of a diverged server's own transactions (its
 * server_id, the domains it diverged in, after `startAfter`) to a file under the agent's
 * directory, before its data is replaced: what the operator inspects and
 * may re-apply by hand. Returns the file.
 */
export async function saveErrantEvents(config: AgentConfig, range: { domains: number[]; serverId: number; startAfter: string }, name: string): Promise<string> {
  const conn = await localConnection(config);
  let files: string[];
  try {
    const [[base]] = (await conn.query('SELECT @@log_bin_basename AS base')) as unknown as [{ base: string }[]];
    const [logs] = (await conn.query('SHOW BINARY LOGS')) as unknown as [{ Log_name: string }[]];
    files = logs.map((l) => path.join(path.dirname(base.base), l.Log_name));
  } finally {
    conn.destroy();
  }
  const dir = path.join(config.workDir, 'errant');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name.replace(/[^\w.-]+/g, '_')}.sql`);
  const args = ['--skip-gtid-strict-mode', '--verbose', `--do-domain-ids=${range.domains.join(',')}`, `--do-server-ids=${range.serverId}`,
    ...(range.startAfter ? [`--start-position=${range.startAfter}`] : []), ...files];
  fs.writeFileSync(file, await runTool(['mariadb-binlog', ...args], { maxBuffer: 512 * 1024 * 1024 }));
  return file;
}
