import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import type { ClusterStatus } from '../../client/status';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'client', 'gtidflow.js');

/**
 * The operation a status shows running, the schedule's health round aside:
 * the sandbox's schedule starts one every 60 s, at any read, and any
 * operator's request preempts it, so it is no operation a test ran.
 */
export const operatorOperation = (s: ClusterStatus) => (s.operation?.kind === 'health' ? null : s.operation);

/** Runs the real `gtidflow` CLI as an operator would, in its own process. */
export function gtidflow(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return finished(spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/**
 * `npx gtidflow …` as an operator types it in the repository (or any
 * directory under it): npm runs the package's own bin, client/gtidflow.js.
 * Slower to start than the bin itself (npm's own start), so the tests use
 * it to show that it works, and the bin for the rest.
 */
export function npxGtidflow(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<CliResult> {
  return finished(spawn('npx', ['--offline', 'gtidflow', ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

function finished(child: ChildProcess): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A command that runs until stopped (`status --watch`) or that the test lets run while it does something else. */
export interface RunningCli {
  child: ChildProcess;
  /** Everything it printed so far. */
  stdout(): string;
  stderr(): string;
  /** Its end: exit code and the whole output. */
  done: Promise<CliResult>;
  /** Resolves once its stdout so far satisfies `check`; rejects after `timeoutMs`, or when it exits first. */
  until(what: string, check: (stdout: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Sends a signal (SIGINT: Ctrl-C) and waits for its end. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

export function startGtidflow(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  let exited = false;
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      exited = true;
      resolve({ code: code ?? -1, stdout: out, stderr: err });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    async until(what, check, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (check(out)) return out;
        if (exited) throw new Error(`gtidflow ${args.join(' ')} exited before ${what}: ${err.trim() || out.slice(-500)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; gtidflow ${args.join(' ')} printed: ${out.slice(-1500)}${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop(signal = 'SIGINT') {
      if (!exited) child.kill(signal);
      return done;
    },
  };
}

/** A refusal as an operator must see it: non-zero exit, one line on stderr naming the reason, no stack trace. */
export function assertRefusal(result: CliResult, message: RegExp, what: string): void {
  assert.notEqual(result.code, 0, `${what}: exit code 0\n${result.stdout}`);
  assert.match(result.stderr.trim(), message, what);
  assert.equal(result.stderr.trim().split('\n').length, 1, `${what}: not one line:\n${result.stderr}`);
  assert.doesNotMatch(result.stderr, /\n\s+at |^\s+at /m, `${what}: a stack trace`);
}

/**
 * `gtidflow sandbox up --json` for a test file's own new sandbox (its
 * GTIDFLOW_HOME fresh). A new sandbox prefers Temporal's well-known ports
 * (7233, 8233) when they look free, so two files bringing theirs up at the
 * same moment can both pick them, and one Temporal exits at start. That
 * one is started again from a clean state directory, once, which then
 * takes other ports.
 */
export async function upNewSandbox(env: NodeJS.ProcessEnv, servers = 3, more: string[] = []): Promise<SandboxEndpoints> {
  const args = ['sandbox', 'up', '--servers', String(servers), ...more, '--json'];
  let result = await gtidflow(args, env);
  if (result.code !== 0 && /the Temporal dev server exited/.test(result.stderr)) {
    await gtidflow(['sandbox', 'down'], env);
    for (const entry of fs.readdirSync(env.GTIDFLOW_HOME!)) fs.rmSync(path.join(env.GTIDFLOW_HOME!, entry), { recursive: true, force: true });
    result = await gtidflow(args, env);
  }
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as SandboxEndpoints;
}
