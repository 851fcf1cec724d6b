import { spawn } from 'node:child_process';
import { beating } from './context';

/** What a hook learns about the operation, as JSON on its stdin. */
export interface HookEvent {
  event: 'before-failover' | 'after-failover' | 'after-switchover';
  cluster: string;
  oldPrimary: string;
  newPrimary: string | null;
  viewId: number;
}

export interface HookResult {
  command: string;
  exitCode: number;
  /** The last lines it printed on stderr, for the operator. */
  output: string;
}

/**
 * Runs an operator command with the event on stdin. The exit code is an
 * answer, not a failure: the workflow decides what a non-zero one means.
 */
export async function runHook(args: { command: string; event: HookEvent; timeoutSeconds?: number }): Promise<HookResult> {
  const child = spawn('/bin/sh', ['-c', args.command], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  child.stdin.on('error', () => undefined); // a hook that ignores its stdin may close it early
  child.stdin.end(JSON.stringify(args.event) + '\n');
  const timer = setTimeout(() => child.kill('SIGKILL'), (args.timeoutSeconds ?? 60) * 1000);
  try {
    const exitCode = await beating(() => ({ hook: args.command }), () => new Promise<number>((resolve) => {
      child.on('error', () => resolve(127));
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    }));
    return { command: args.command, exitCode, output: stderr.trim().split('\n').slice(-3).join('\n') };
  } finally {
    clearTimeout(timer);
  }
}
