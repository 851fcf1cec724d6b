import { notAServer } from './address';
import { gtidDivergent, type Flavor } from './gtid';
import type { ServerStatus } from './status';

export interface SwitchoverServer {
  address: string;
  status: ServerStatus;
  penalty: number;
  reachable: boolean;
  executed: string;
  source: string | null;
  /** Running or (re)connecting: a replica just repointed is still connecting, and will catch up. */
  ioRunning: boolean;
  sqlRunning: boolean;
  /** Transactions from no recorded primary (written locally): the server diverged (undefined: not known). */
  errant?: string;
}

export type SwitchoverChoice = { ok: true; candidate: string } | { ok: false; reason: string };

/**
 * A planned promotion's candidate: a healthy replica of the primary holding
 * nothing the primary lacks (it will catch up with the primary before it is
 * promoted, so lag does not matter); the named one, else the least penalised.
 */
export function chooseSwitchoverCandidate(flavor: Flavor, primary: SwitchoverServer, servers: SwitchoverServer[], named?: string): SwitchoverChoice {
  const problem = (s: SwitchoverServer): string | undefined => {
    if (s.address === primary.address) return 'it is the primary';
    if (s.status === 'FAULTY') return 'it is FAULTY';
    if (s.status === 'SPARE' && s.address !== named) return 'it is a SPARE (name it to promote it)';
    if (!s.reachable) return 'it is unreachable';
    if (s.source !== primary.address) return `it replicates from ${s.source ?? 'nobody'}, not from ${primary.address}`;
    if (!s.ioRunning || !s.sqlRunning) return 'its replication is not running';
    if (s.errant) return `it diverged: errant transactions ${s.errant}`;
    const divergent = gtidDivergent(flavor, s.executed, primary.executed);
    if (divergent) return `it holds transactions the primary lacks: ${divergent}`;
    return undefined;
  };
  if (named) {
    const server = servers.find((s) => s.address === named);
    if (!server) return { ok: false, reason: notAServer(named) };
    const why = problem(server);
    return why ? { ok: false, reason: `cannot promote ${named}: ${why}` } : { ok: true, candidate: named };
  }
  const eligible = servers.filter((s) => !problem(s)).sort((a, b) => a.penalty - b.penalty || (a.address < b.address ? -1 : 1));
  if (eligible.length === 0) {
    const reasons = servers.filter((s) => s.address !== primary.address).map((s) => `${s.address}: ${problem(s)}`);
    return { ok: false, reason: `no replica can be promoted${reasons.length ? `: ${reasons.join('; ')}` : ''}` };
  }
  return { ok: true, candidate: eligible[0].address };
}
