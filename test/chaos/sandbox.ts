import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import type { Access } from '../../activities/db/connection';
import { accessOf, localAccounts } from '../../client/local/cluster';
import { rootConnection } from '../../client/local/mariadb';
import { sleep } from '../../client/local/ports';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import type { SandboxState } from '../../client/sandbox/state';
import type { SandboxProcess } from '../../client/sandbox/status';
import type { ClusterStatus } from '../../client/status';
import type { View } from '../../workflows/model';
import { track, untrack } from '../harness/cleanup';
import { gtidflow, type CliResult } from '../harness/cli';
import { tempDir } from '../harness/tempdir';

export const CLI = path.join(__dirname, '..', '..', 'client', 'gtidflow.js');

/**
 * The chaos harness's own sandbox, driven through the CLI as an operator
 * drives it (GTIDFLOW_HOME a temp dir, the sandbox's own Temporal server).
 */
export class ChaosSandbox {
  readonly home = tempDir('chaos');
  readonly env = { GTIDFLOW_HOME: this.home, TEMPORAL_ADDRESS: '' };
  endpoints!: SandboxEndpoints;
  /** address → server_id, from `inspect sandbox --json`. */
  serverIds = new Map<string, number>();

  cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return gtidflow(args, { ...this.env, ...extraEnv });
  }

  /** `sandbox up --json`: starts whatever is missing (Temporal, a server, HAProxy, the worker) and runs a health round. */
  async up(): Promise<SandboxEndpoints> {
    const result = await this.cli(['sandbox', 'up', '--json']);
    await this.track();
    if (result.code !== 0) throw new Error(`sandbox up failed: ${result.stderr.trim()}`);
    this.endpoints = JSON.parse(result.stdout) as SandboxEndpoints;
    return this.endpoints;
  }

  private tracked = new Set<number>();

  /**
   * The sandbox's processes are detached (they outlive a CLI): if this
   * process is ended by a signal (a test runner's timeout) before `down`,
   * the harness's exit hook kills them by pid. Pids that are gone are let go.
   */
  async track(): Promise<void> {
    const running = new Set((await this.processes().catch(() => [])).filter((p) => p.running && p.pid).map((p) => p.pid!));
    for (const pid of this.tracked) if (!running.has(pid)) untrack(pid);
    for (const pid of running) track(pid);
    this.tracked = running;
  }

  async json<T>(args: string[]): Promise<T> {
    const result = await this.cli([...args, '--json']);
    if (result.code !== 0) throw new Error(`gtidflow ${args.join(' ')} failed: ${result.stderr.trim()}`);
    return JSON.parse(result.stdout) as T;
  }

  processes = () => this.json<SandboxProcess[]>(['sandbox', 'status']);
  status = () => this.json<ClusterStatus>(['status', 'sandbox']);
  history = () => this.json<View[]>(['history', 'sandbox']);

  get servers(): string[] {
    return this.endpoints.clusters[0].servers.map((s) => `${s.host}:${s.port}`);
  }

  get access(): Access {
    return accessOf(localAccounts(path.join(this.home, 'secrets')));
  }

  async readServerIds(): Promise<void> {
    const inspection = await this.json<{ servers: { address: string; reachable: boolean; serverId?: number }[] }>(['inspect', 'sandbox']);
    for (const s of inspection.servers) if (s.reachable) this.serverIds.set(s.address, s.serverId!);
    if (this.serverIds.size !== this.servers.length) throw new Error(`inspect read ${this.serverIds.size} of ${this.servers.length} servers`);
  }

  /** The application account through the writer endpoint: no SUPER, so read_only stops it. */
  appConnection(): Promise<mysql.Connection> {
    const { app } = this.endpoints.credentials;
    const { writer } = this.endpoints.clusters[0];
    return mysql.createConnection({
      host: writer.host, port: writer.port, user: app.user,
      password: fs.readFileSync(app.passwordFile, 'utf8').trim(), connectTimeout: 500,
    });
  }

  /** root over the server's unix socket: reads what the server itself says, whatever gtidflow recorded. */
  async root<T = Record<string, unknown>>(address: string, sql: string, params: unknown[] = []): Promise<T[]> {
    const conn = await rootConnection(Number(address.split(':')[1]));
    conn.on('error', () => undefined);
    try {
      return (await conn.query({ sql, values: params, timeout: 10_000 }))[0] as T[];
    } finally {
      conn.destroy();
    }
  }

  private get stateFile(): string {
    return path.join(this.home, 'sandbox.json');
  }

  /**
   * Records `pid` as the sandbox's worker. `sandbox up` starts a worker
   * only when the recorded one is not running, so a worker put here (the
   * partitioned one) is left alone by the heal's `sandbox up`.
   */
  recordWorker(pid: number | undefined): void {
    const state = JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as SandboxState;
    state.worker.pid = pid;
    fs.writeFileSync(this.stateFile, JSON.stringify(state, null, 2) + '\n');
  }

  temporalAddress(): string {
    return this.endpoints.temporal.address;
  }

  async down(remove: boolean): Promise<void> {
    await this.cli(['sandbox', 'down']);
    for (const pid of this.tracked) untrack(pid);
    this.tracked.clear();
    if (remove) fs.rmSync(this.home, { recursive: true, force: true });
  }
}

/** The pid of a sandbox process by role (and address for a server), if it runs. */
export function pidOf(processes: SandboxProcess[], role: SandboxProcess['role'], address?: string): number | undefined {
  const p = processes.find((x) => x.role === role && (!address || x.address === address));
  return p?.running && p.pid ? p.pid : undefined;
}

/** A CLI command left running (a switchover to interrupt): its output so far, and its end. */
export interface RunningCli {
  done: Promise<CliResult>;
  /** Resolves when its stdout matches (false if it ended or the time ran out first). */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<boolean>;
}

export function startCli(sandbox: ChaosSandbox, args: string[]): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...sandbox.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let ended = false;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => {
    child.on('error', (err) => { ended = true; resolve({ code: -1, stdout, stderr: String(err) }); });
    child.on('close', (code) => { ended = true; resolve({ code: code ?? -1, stdout, stderr }); });
  });
  return {
    done,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(stdout)) {
        if (ended || Date.now() > deadline) return false;
        await sleep(20);
      }
      return true;
    },
  };
}
