import { rootConnection } from '../../client/local/mariadb';
import { sleep } from '../../client/local/ports';
import { signal } from '../../client/local/processes';
import type { SandboxProcess } from '../../client/sandbox/status';
import type { ManagerPartition } from './partition';
import type { Rng } from './random';
import { pidOf, startCli, type ChaosSandbox, type RunningCli } from './sandbox';

export const FAULT_NAMES = [
  'kill-primary', 'stop-primary', 'kill-replica', 'kill-worker', 'restart-temporal',
  'partition-manager', 'switchover-during-fault', 'failover-during-switchover',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

export interface FaultContext {
  sandbox: ChaosSandbox;
  partition: ManagerPartition;
  rng: Rng;
  /** The recorded primary and view when the round started. */
  primary: string;
  viewId: number;
  /** The writer's clock (ms). */
  now(): number;
}

export interface FaultResult {
  /** What was done, for the round's line. */
  detail: string;
  /**
   * When writes could first be disturbed (the writer's clock): just after
   * the signal, or as an operation is requested. From then on, the longest
   * wait for an acknowledged write is the round's "time to the first
   * accepted write" (a switchover's write window).
   */
  at: number;
  /** Commands still running (a switchover the fault interrupted): the heal waits for them. */
  pending?: RunningCli[];
  /** What the fault itself saw go wrong (a failover during a manager-only partition). */
  problems?: string[];
}

/** Signals a sandbox process (by role, and address for a server); its pid. */
async function send(ctx: FaultContext, sig: NodeJS.Signals, role: SandboxProcess['role'], address?: string): Promise<number> {
  const pid = pidOf(await ctx.sandbox.processes(), role, address);
  if (!pid) throw new Error(`no running ${role}${address ? ` ${address}` : ''} to send ${sig}`);
  signal(pid, sig);
  return pid;
}

const replicas = (ctx: FaultContext) => ctx.sandbox.servers.filter((a) => a !== ctx.primary);

/** Waits until the conductor records a view after `viewId` (a failover), at most `timeoutMs`; the new primary if so. */
async function newView(ctx: FaultContext, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await ctx.sandbox.status().catch(() => undefined);
    if (status && status.viewId > ctx.viewId && !status.operation) return status.primary;
    await sleep(1_000);
  }
  return undefined;
}

/**
 * A switchover held in the middle: a table lock on the candidate stops its
 * applier, so the switchover waits for it to catch up (the old primary
 * fenced) until `release`. What a slow replica does, made certain.
 */
async function heldSwitchover(ctx: FaultContext): Promise<{ promote: RunningCli; held: boolean; release(): Promise<void> }> {
  const candidate = ctx.rng.pick(replicas(ctx));
  const lock = await rootConnection(Number(candidate.split(':')[1]));
  lock.on('error', () => undefined);
  await lock.query('LOCK TABLES app.writes READ');
  const promote = startCli(ctx.sandbox, ['promote', 'sandbox', '--candidate', candidate]);
  const held = await promote.waitFor(/waiting for .* to apply/, 30_000);
  return {
    promote, held,
    async release() {
      await lock.query('UNLOCK TABLES').catch(() => undefined);
      lock.destroy();
    },
  };
}

const outcome = async (cli: RunningCli) => {
  const r = await cli.done;
  return `exit ${r.code}: ${(r.code === 0 ? r.stdout : r.stderr).trim().split('\n').at(-1)}`;
};

export const FAULTS: Record<FaultName, (ctx: FaultContext) => Promise<FaultResult>> = {
  async 'kill-primary'(ctx) {
    await send(ctx, 'SIGKILL', 'mariadb', ctx.primary);
    const at = ctx.now();
    const next = await newView(ctx, 60_000);
    return { at, detail: `kill -9 ${ctx.primary}; ${next ? `failed over to ${next}` : 'no failover within 60 s'}` };
  },

  async 'stop-primary'(ctx) {
    const seconds = ctx.rng.int(5, 30);
    const pid = await send(ctx, 'SIGSTOP', 'mariadb', ctx.primary);
    const at = ctx.now();
    await sleep(seconds * 1000);
    signal(pid, 'SIGCONT');
    const next = await newView(ctx, 5_000);
    return { at, detail: `SIGSTOP ${ctx.primary} for ${seconds} s; ${next ? `failed over to ${next}` : 'no failover'}` };
  },

  async 'kill-replica'(ctx) {
    const victim = ctx.rng.pick(replicas(ctx));
    const seconds = ctx.rng.int(3, 20);
    await send(ctx, 'SIGKILL', 'mariadb', victim);
    const at = ctx.now();
    await sleep(seconds * 1000);
    return { at, detail: `kill -9 replica ${victim}, down ${seconds} s` };
  },

  'kill-worker': (ctx) => killProcess(ctx, 'worker', [2, 5], (seconds, during) => `kill -9 worker${during}, down ${seconds} s`),

  'restart-temporal': (ctx) => killProcess(ctx, 'temporal', [3, 15], (seconds, during) => `kill -9 Temporal for ${seconds} s${during}`),

  async 'partition-manager'(ctx) {
    const seconds = ctx.rng.int(15, 30);
    const at = ctx.now();
    await ctx.partition.begin(ctx.primary);
    const problems: string[] = [];
    const until = Date.now() + seconds * 1000;
    let warned = false;
    while (Date.now() < until) {
      const status = await ctx.sandbox.status().catch(() => undefined);
      if (status && (status.viewId !== ctx.viewId || status.operation?.kind === 'failover')) {
        problems.push(`manager-only partition of ${ctx.primary}: the conductor moved to view ${status.viewId} (${status.operation?.kind ?? status.lastOperation?.kind}), expected no failover`);
        break;
      }
      warned ||= Boolean(status?.warnings.some((w) => w.code === 'manager-cut-off'));
      await sleep(2_000);
    }
    const last = await ctx.sandbox.status().catch(() => undefined);
    if (!problems.length && last && last.viewId !== ctx.viewId) problems.push(`manager-only partition of ${ctx.primary}: the conductor moved to view ${last.viewId}, expected no failover`);
    await ctx.partition.end();
    return { at, problems, detail: `manager cut off from ${ctx.primary} for ${seconds} s; ${problems.length ? 'FAILED OVER' : 'no failover'}${warned ? ', warned' : ''}` };
  },

  async 'switchover-during-fault'(ctx) {
    const victim = ctx.rng.pick(replicas(ctx));
    const freeze = ctx.rng.next() < 0.5;
    const pid = await send(ctx, freeze ? 'SIGSTOP' : 'SIGKILL', 'mariadb', victim);
    await sleep(ctx.rng.int(1, 3) * 1000);
    const at = ctx.now();
    const promote = startCli(ctx.sandbox, ['promote', 'sandbox']);
    const result = await outcome(promote);
    if (freeze) signal(pid, 'SIGCONT');
    return { at, detail: `${freeze ? 'SIGSTOP' : 'kill -9'} replica ${victim}, then promote: ${result}` };
  },

  async 'failover-during-switchover'(ctx) {
    const at = ctx.now();
    const switchover = await heldSwitchover(ctx);
    let failover: RunningCli;
    try {
      failover = startCli(ctx.sandbox, ['failover', 'sandbox']);
      await failover.waitFor(/failover #\d+ started/, 30_000);
      await sleep(ctx.rng.int(0, 2_000));
    } finally {
      await switchover.release();
    }
    return {
      at,
      detail: `failover while a switchover ${switchover.held ? 'waited for its candidate' : 'ran (not seen waiting)'}: ${await outcome(failover)}; promote ${await outcome(switchover.promote)}`,
    };
  },
};

/** kill -9 of the worker or Temporal for a few seconds, half the time while a switchover is held waiting (the same draws either way). */
async function killProcess(ctx: FaultContext, role: 'worker' | 'temporal', [lo, hi]: [number, number], describe: (seconds: number, during: string) => string) {
  const during = ctx.rng.next() < 0.5;
  const seconds = ctx.rng.int(lo, hi);
  const at = ctx.now();
  const switchover = during ? await heldSwitchover(ctx) : undefined;
  try {
    await send(ctx, 'SIGKILL', role);
    await sleep(seconds * 1000);
  } finally {
    await switchover?.release();
  }
  const held = switchover ? ` during a switchover${switchover.held ? '' : ' (not seen waiting)'}` : '';
  return { at, pending: switchover && [switchover.promote], detail: describe(seconds, held) };
}
