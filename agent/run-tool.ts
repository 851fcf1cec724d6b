import { execFile } from 'node:child_process';

/**
 * Runs a command-line tool (mariadb-backup, mariadb-binlog, the stop
 * command) and resolves with its stdout; a failure is one line: the tool,
 * its exit code and the last line it wrote to stderr, never all of it.
 */
export function runTool(argv: string[], opts: { signal?: AbortSignal; maxBuffer?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024, signal: opts.signal }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const last = String(stderr).trim().split('\n').pop() ?? '';
      reject(new Error(`${argv[0]} ${'code' in err ? `exited ${err.code}` : 'failed'}: ${last || err.message.split('\n')[0]}`));
    });
  });
}
