import { sleep } from '../../client/local/ports';
import { signal } from '../../client/local/processes';
import type { ChaosSandbox, RunningCli } from './sandbox';

export interface HealResult {
  /** FAULTY servers whose rejoin was refused as diverged, re-provisioned; with the refusal. */
  divergent: string[];
  rejoined: string[];
  /** What went wrong while healing: each one fails the round. */
  problems: string[];
}

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

/** Whether `work` ended within `ms` (its timer cleared, so nothing is left holding the process). */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The refusal in short: what the server holds that the primary lacks. */
function divergence(refusal: string): string {
  const gtid = /start from GTID (\S+), which is not in the master's binlog/.exec(refusal);
  if (gtid) return `holds ${gtid[1]}, which the primary's binlog lacks (error 1236)`;
  return refusal.replace(/^.*rejoin refused, \S+ stays FAULTY: /, '').replace(/; if it is an old primary.*$/, '').slice(0, 200);
}

/** Until the conductor runs no operation (the CLI's memo read; no worker needed). */
async function idle(sandbox: ChaosSandbox, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await sandbox.status().catch(() => undefined);
    if (status && !status.operation) return true;
    if (Date.now() > deadline) return false;
    await sleep(1_000);
  }
}

/**
 * After a fault: every process running again and the cluster whole, by the
 * operator's commands only. SIGCONT to every server; `sandbox up` starts
 * what is missing (a killed server, worker or Temporal server); commands
 * the fault interrupted finish; `gtidflow ack` lifts the block period
 * (every round may fail over); each FAULTY server that answers is
 * rejoined, and re-provisioned (`--reprovision`) when refused as diverged.
 */
export async function heal(sandbox: ChaosSandbox, pending: RunningCli[] = []): Promise<HealResult> {
  const result: HealResult = { divergent: [], rejoined: [], problems: [] };
  for (const p of await sandbox.processes()) if (p.role === 'mariadb' && p.pid) signal(p.pid, 'SIGCONT');
  // up waits up to 60 s for a health round, which an operation still in flight can outlast: again.
  for (let attempt = 1; ; attempt++) {
    try {
      await sandbox.up();
      break;
    } catch (err) {
      if (attempt === 3) {
        result.problems.push(`heal: ${(err as Error).message}`);
        return result;
      }
      await sleep(2_000);
    }
  }
  const ended = await within(Promise.all(pending.map((p) => p.done)), 180_000);
  if (!ended) result.problems.push('heal: an interrupted command did not end within 180 s of the heal');
  if (!(await idle(sandbox, 180_000))) result.problems.push('heal: the conductor still runs an operation 180 s after the heal');
  const ack = await sandbox.cli(['ack', 'sandbox']);
  if (ack.code !== 0) result.problems.push(`heal: ack failed: ${lastLine(ack.stderr)}`);

  for (let pass = 0; pass < 10; pass++) {
    const status = await sandbox.status();
    const faulty = status.servers.filter((s) => s.status === 'FAULTY' && s.readOnly !== null);
    if (!faulty.length) break;
    for (const { address } of faulty) {
      const rejoin = await sandbox.cli(['rejoin', 'sandbox', address]);
      if (rejoin.code === 0) {
        result.rejoined.push(address);
        continue;
      }
      const why = lastLine(rejoin.stderr);
      if (/rejoin refused/.test(why)) {
        if (!result.divergent.some((d) => d.startsWith(`${address}:`))) result.divergent.push(`${address}: ${divergence(why)}`);
        const again = await sandbox.cli(['rejoin', 'sandbox', address, '--reprovision']);
        if (again.code === 0) result.rejoined.push(`${address} (re-provisioned)`);
        else if (pass === 9) result.problems.push(`heal: rejoin --reprovision ${address} failed: ${lastLine(again.stderr)}`);
      } else if (pass === 9) {
        result.problems.push(`heal: rejoin ${address} failed: ${why}`);
      }
      // busy (a health round, an operation) or failed: the next pass looks again
      await idle(sandbox, 60_000);
    }
    await sleep(1_000);
  }
  const left = (await sandbox.status()).servers.filter((s) => s.status === 'FAULTY').map((s) => `${s.address}${s.readOnly === null ? ' (unreachable)' : ''}`);
  if (left.length) result.problems.push(`heal: still FAULTY after the heal: ${left.join(', ')}`);
  return result;
}
