import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAddress } from '../workflows/logic/address';
import type { Credentials } from './db/credentials';
import type { ClientCommand } from './db/flavor';

/** Running the database's command-line clients (dump, load, the operator's script) without a password on their command line. */

export function clientAccount(admin: Credentials): string[] {
  return [`user=${admin.user}`, `password="${admin.password.replace(/["\\]/g, '\\$&')}"`];
}

/**
 * Passwords reach command-line tools through a 0600 file, never argv
 * (visible in ps) or the environment; the cluster's TLS settings with them.
 */
export async function withDefaultsFile<T>(options: string[], work: (file: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gtidflow-provision-'));
  const file = path.join(dir, 'client.cnf');
  fs.writeFileSync(file, ['[client]', ...options, ''].join('\n'), { mode: 0o600 });
  try {
    return await work(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The defaults file must come first (both families' clients insist), then where to connect, then the flavor's options. */
export function connectArgs(command: ClientCommand, defaults: string, address: string): string[] {
  const { host, port } = parseAddress(address);
  return [`--defaults-extra-file=${defaults}`, `--host=${host}`, `--port=${port}`, ...command.args];
}

/** A cancelled copy (a failover preempting the operation) stops at once rather than writing on; each child leads its own process group. */
export function killGroup(child: ReturnType<typeof spawn>): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Resolves '' on exit 0, else the exit code and the last lines of stderr. */
export function exitOf(child: ReturnType<typeof spawn>, name: string): Promise<string> {
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  return new Promise((resolve) => {
    child.on('error', (err) => resolve(`${name}: ${err.message}`));
    child.on('close', (code) => resolve(code === 0 ? '' : `${name} exited ${code}: ${stderr.trim().split('\n').slice(-2).join(' ')}`));
  });
}
