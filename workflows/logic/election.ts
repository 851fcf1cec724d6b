import { Flavor, gtidContains, gtidIsEmpty, gtidSubtract, gtidTransactionCount, gtidUnion } from './gtid';
import type { ServerStatus } from './status';

export interface ElectionServer {
  address: string;
  status: ServerStatus;
  penalty: number;
  reachable: boolean;
  executed: string;
  received: string;
  sqlThreadRunning: boolean;
  sqlError?: string;
  /** Non-empty: transactions this server has that the old primary never had. */
  errant?: string;
}

export interface ElectionInput {
  flavor: Flavor;
  servers: ElectionServer[];
  /** host:port the operator asked for. */
  named?: string;
}

export type ElectionResult =
  | { ok: true; winner: string; catchUpFrom?: string; reason: string }
  | { ok: false; reason: string };

interface Context {
  flavor: Flavor;
  named?: string;
  /** Every transaction held by a reachable SECONDARY or SPARE. */
  everything: string;
}

const refuse = (reason: string): ElectionResult => ({ ok: false, reason });

function holdsEverything(server: ElectionServer, ctx: Context): boolean {
  return gtidContains(ctx.flavor, server.executed, ctx.everything);
}

function hasErrant(server: ElectionServer, ctx: Context): boolean {
  return server.errant !== undefined && !gtidIsEmpty(ctx.flavor, server.errant);
}

function sqlProblem(server: ElectionServer): string | undefined {
  if (server.sqlError) return `SQL thread error: ${server.sqlError.replace(/\s+/g, ' ').trim()}`;
  if (!server.sqlThreadRunning) return 'SQL thread stopped';
  return undefined;
}

/** Why a server may not be promoted (safety rules 2 and 3), or undefined when it may. */
function candidateProblem(server: ElectionServer, ctx: Context): string | undefined {
  if (server.status === 'PRIMARY') return 'failing primary';
  if (!server.reachable) return 'unreachable';
  if (server.status === 'FAULTY') return 'FAULTY';
  if (server.status === 'SPARE' && server.address !== ctx.named) return 'SPARE not named';
  const sql = sqlProblem(server);
  if (sql) return sql;
  if (!gtidContains(ctx.flavor, server.executed, server.received)) return 'relay log not applied';
  if (hasErrant(server, ctx) && !holdsEverything(server, ctx)) {
    return `errant transactions ${server.errant} and not the most advanced`;
  }
  return undefined;
}

/** Why a reachable, non-primary server may not feed a catch-up, or undefined when it may. */
function sourceProblem(server: ElectionServer, ctx: Context): string | undefined {
  if (server.status === 'FAULTY') return 'FAULTY';
  if (hasErrant(server, ctx)) return `errant transactions ${server.errant}`;
  return sqlProblem(server);
}

function byAddress(a: ElectionServer, b: ElectionServer): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

function byPenaltyThenAddress(a: ElectionServer, b: ElectionServer): number {
  return a.penalty - b.penalty || byAddress(a, b);
}

/** Names the most advanced survivor and one that holds something it lacks. */
function describeDivergence(survivors: ElectionServer[], flavor: Flavor): string {
  const count = (s: ElectionServer) => gtidTransactionCount(flavor, s.executed);
  const [ahead] = [...survivors].sort((a, b) => count(b) - count(a) || byAddress(a, b));
  const [other] = survivors.filter((s) => !gtidContains(flavor, ahead.executed, s.executed)).sort(byAddress);
  const extra = gtidSubtract(flavor, other.executed, ahead.executed);
  return `no server holds every transaction: ${other.address} has ${extra} that ${ahead.address} lacks`;
}

/** Lowest penalty first; ties go to the one holding every transaction, then the larger, then by address. */
function rankCandidates(candidates: ElectionServer[], ctx: Context): ElectionServer[] {
  const count = (s: ElectionServer) => gtidTransactionCount(ctx.flavor, s.executed);
  const incomplete = (s: ElectionServer) => (holdsEverything(s, ctx) ? 0 : 1);
  return [...candidates].sort(
    (a, b) => a.penalty - b.penalty || incomplete(a) - incomplete(b) || count(b) - count(a) || byAddress(a, b),
  );
}

function describeHolder(server: ElectionServer, ctx: Context): string {
  const problems = new Set([candidateProblem(server, ctx), sourceProblem(server, ctx)]);
  return `${server.address} (${[...problems].filter(Boolean).join('; ')})`;
}

/** Takes the first ranked server, made whole by a catch-up if needed, else the first that is already whole. */
function chooseWinner(ranked: ElectionServer[], survivors: ElectionServer[], why: string, ctx: Context): ElectionResult {
  const preferred = ranked[0];
  if (holdsEverything(preferred, ctx)) {
    return { ok: true, winner: preferred.address, reason: `${preferred.address} elected: ${why}, holds every transaction` };
  }
  const missing = gtidSubtract(ctx.flavor, ctx.everything, preferred.executed);
  const holders = survivors.filter((s) => holdsEverything(s, ctx));
  const [source] = holders.filter((s) => !sourceProblem(s, ctx)).sort(byPenaltyThenAddress);
  if (source) {
    return {
      ok: true,
      winner: preferred.address,
      catchUpFrom: source.address,
      reason: `${preferred.address} elected: ${why}, catches up ${missing} from ${source.address} first`,
    };
  }
  const whole = ranked.find((s) => holdsEverything(s, ctx));
  if (whole) {
    return {
      ok: true,
      winner: whole.address,
      reason: `${whole.address} elected: holds every transaction, while ${preferred.address} lacks ${missing} and no healthy server can catch it up`,
    };
  }
  const described = holders.map((s) => describeHolder(s, ctx)).join(', ');
  return refuse(`cannot promote ${preferred.address}: it lacks ${missing} and no healthy server to catch up from holds it: ${described}`);
}

/** Chooses the new primary: data first (it must end up with every transaction), then penalty. */
export function electPrimary(input: ElectionInput): ElectionResult {
  const { flavor, servers, named } = input;
  // A FAULTY server's transactions are suspect (a returning diverged primary): they are not owed to anyone.
  const survivors = servers.filter((s) => s.reachable && s.status !== 'PRIMARY' && s.status !== 'FAULTY');
  const everything = survivors.reduce((all, s) => gtidUnion(flavor, all, s.executed), '');
  const ctx: Context = { flavor, named, everything };

  const namedServer = servers.find((s) => s.address === named);
  if (named !== undefined && !namedServer) return refuse(`cannot promote ${named}: not a server of this cluster`);
  const namedProblem = namedServer && candidateProblem(namedServer, ctx);
  if (namedProblem) return refuse(`cannot promote ${named}: ${namedProblem}`);

  if (survivors.length > 0 && !survivors.some((s) => holdsEverything(s, ctx))) {
    return refuse(describeDivergence(survivors, flavor));
  }
  const candidates = servers.filter((s) => !candidateProblem(s, ctx));
  if (candidates.length === 0) {
    const problems = servers.map((s) => `${s.address} (${candidateProblem(s, ctx)})`);
    return refuse(`no eligible candidate: ${problems.join(', ')}`);
  }
  if (namedServer) return chooseWinner([namedServer], survivors, 'named by the operator', ctx);
  const ranked = rankCandidates(candidates, ctx);
  return chooseWinner(ranked, survivors, `lowest penalty (${ranked[0].penalty})`, ctx);
}
