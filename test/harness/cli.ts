import { spawn } from 'node:child_process';
import * as path from 'node:path';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const CLI = path.join(__dirname, '..', '..', 'client', 'gtidflow.js');

/** Runs the real `gtidflow` CLI as an operator would, in its own process. */
export function gtidflow(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
