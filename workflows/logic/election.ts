import { Flavor, gtidDivergent, gtidIsEmpty, gtidNormalize, gtidSubtract, gtidTransactionCount, gtidUnion } from './gtid';
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
  /** Non-empty: transactions that originated on no recorded primary (written locally): the server diverged. */
  errant?: string;
  /** Its IO thread streamed from the failing primary when the failover froze it: a FAULTY one may have acknowledged writes too. */
  receivingFromPrimary?: boolean;
}

export interface ElectionInput {
  flavor: Flavor;
  servers: ElectionServer[];
  /** host:port the operator asked for. */
  named?: string;
  /** The exact set a refusal named as lost, accepted by an operator: promote without it. */
  acceptLoss?: string;
}

export interface Diverged {
  address: string;
  errant: string;
}

export type ElectionResult =
  | { ok: true; winner: string; catchUpFrom?: string; reason: string; diverged: Diverged[]; lost?: string }
  | { ok: false; reason: string };

interface Context {
  flavor: Flavor;
  named?: string;
  /** Every transaction owed: received (and so perhaps acknowledged) by a reachable, healthy SECONDARY or SPARE. */
  everything: string;
}

const refuse = (reason: string): ElectionResult => ({ ok: false, reason });

/** True when `holder` has every transaction of `wanted`; the same seq from another MariaDB server is a split, not held. */
function covers(flavor: Flavor, holder: string, wanted: string): boolean {
  return gtidIsEmpty(flavor, gtidDivergent(flavor, wanted, holder));
}

/** The very set, origins included (MariaDB's seq-only comparison would take another server's seq for it). */
function sameSet(flavor: Flavor, a: string, b: string): boolean {
  try {
    return gtidNormalize(flavor, a) === gtidNormalize(flavor, b);
  } catch {
    return false;
  }
}

/** What a replica holds or has received: semi-sync acknowledges on receipt, so all of it is owed (safety rule 2). */
function owed(server: ElectionServer, flavor: Flavor): string {
  return gtidUnion(flavor, server.executed, server.received);
}

function holdsEverything(server: ElectionServer, ctx: Context): boolean {
  return covers(ctx.flavor, server.executed, ctx.everything);
}

function isDiverged(server: ElectionServer, flavor: Flavor): boolean {
  return server.errant !== undefined && !gtidIsEmpty(flavor, server.errant);
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
  if (isDiverged(server, ctx.flavor)) return `diverged: errant transactions ${server.errant}`;
  if (server.status === 'SPARE' && server.address !== ctx.named) return 'SPARE not named';
  const sql = sqlProblem(server);
  if (sql) return sql;
  if (!covers(ctx.flavor, server.executed, server.received)) return 'relay log not applied';
  return undefined;
}

/** Why a reachable, non-primary server may not feed a catch-up, or undefined when it may. */
function sourceProblem(server: ElectionServer, ctx: Context): string | undefined {
  if (server.status === 'FAULTY') return 'FAULTY';
  if (isDiverged(server, ctx.flavor)) return `diverged: errant transactions ${server.errant}`;
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
  const count = (s: ElectionServer) => gtidTransactionCount(flavor, owed(s, flavor));
  const [ahead] = [...survivors].sort((a, b) => count(b) - count(a) || byAddress(a, b));
  const [other] = survivors.filter((s) => !covers(flavor, owed(ahead, flavor), owed(s, flavor))).sort(byAddress);
  const extra = gtidDivergent(flavor, owed(other, flavor), owed(ahead, flavor));
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

type Chosen = { ok: true; winner: string; catchUpFrom?: string; reason: string } | { ok: false; reason: string };

/** Takes the first ranked server, made whole by a catch-up if needed, else the first that is already whole. */
function chooseWinner(ranked: ElectionServer[], survivors: ElectionServer[], why: string, ctx: Context): Chosen {
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

/** The survivor whose owed set covers every other survivor's, if any (none: their histories split). */
function mostAdvanced(survivors: ElectionServer[], flavor: Flavor): ElectionServer | undefined {
  return survivors.find((s) => survivors.every((t) => covers(flavor, owed(s, flavor), owed(t, flavor))));
}

/**
 * What was received but is executed nowhere (an applier that cannot apply
 * it, or is too slow): owed, and promoting without it loses it. Empty when
 * some survivor's binlog holds everything.
 */
function unapplied(survivors: ElectionServer[], everything: string, flavor: Flavor): { lost: string; executed: string } {
  const executed = survivors.map((s) => s.executed);
  const ahead = executed.find((e) => executed.every((other) => covers(flavor, e, other))) ?? executed.reduce((all, e) => gtidUnion(flavor, all, e), '');
  return { lost: gtidSubtract(flavor, everything, ahead), executed: ahead };
}

function describeLoss(lost: string, owedBy: ElectionServer[], flavor: Flavor): string {
  const holders = owedBy.filter((s) => s.status === 'FAULTY' || !covers(flavor, s.executed, s.received))
    .map((s) => `${s.address} (${s.status === 'FAULTY' ? 'FAULTY' : sqlProblem(s) ?? 'relay log not applied'})`);
  return `${lost} was received by ${holders.join(', ')} but is applied nowhere a new primary can get it from: promoting now would lose it; ` +
    `repair the applier or rejoin the server, or accept the loss with --accept-loss ${lost}`;
}

/**
 * Chooses the new primary: data first (it must end up with every
 * transaction any reachable replica received), then penalty. Diverged
 * servers (errant transactions) are never elected nor a source of data.
 */
export function electPrimary(input: ElectionInput): ElectionResult {
  const { flavor, servers, named } = input;
  const diverged = servers.filter((s) => s.reachable && s.status !== 'PRIMARY' && s.status !== 'FAULTY' && isDiverged(s, flavor))
    .map((s) => ({ address: s.address, errant: gtidNormalize(flavor, s.errant!) }));
  // A FAULTY server's transactions are suspect (a returning diverged primary): they are not owed to anyone; nor a diverged one's.
  const survivors = servers.filter((s) => s.reachable && s.status !== 'PRIMARY' && s.status !== 'FAULTY' && !isDiverged(s, flavor));
  // A FAULTY replica still streaming from the failing primary acknowledged what it received: owed, though it is no candidate.
  const acknowledging = servers.filter((s) => s.reachable && s.status === 'FAULTY' && s.receivingFromPrimary && !isDiverged(s, flavor));
  const owedBy = [...survivors, ...acknowledging];
  const ahead = mostAdvanced(owedBy, flavor);
  if (owedBy.length > 0 && !ahead) return refuse(describeDivergence(owedBy, flavor));
  const everything = ahead ? owed(ahead, flavor) : '';
  const ctx: Context = { flavor, named, everything };

  const namedServer = servers.find((s) => s.address === named);
  if (named !== undefined && !namedServer) return refuse(`cannot promote ${named}: not a server of this cluster`);
  const namedProblem = namedServer && candidateProblem(namedServer, ctx);
  if (namedProblem) return refuse(`cannot promote ${named}: ${namedProblem}`);

  const { lost, executed } = unapplied(survivors, everything, flavor);
  const accepted = !gtidIsEmpty(flavor, lost) && input.acceptLoss !== undefined && sameSet(flavor, input.acceptLoss, lost);
  if (!gtidIsEmpty(flavor, lost)) {
    if (!accepted) return refuse(describeLoss(lost, owedBy, flavor));
    ctx.everything = executed;
  }

  const candidates = servers.filter((s) => !candidateProblem(s, ctx));
  if (candidates.length === 0) {
    const problems = servers.map((s) => `${s.address} (${candidateProblem(s, ctx)})`);
    return refuse(`no eligible candidate: ${problems.join(', ')}`);
  }
  const ranked = namedServer ? [namedServer] : rankCandidates(candidates, ctx);
  const why = namedServer ? 'named by the operator' : `lowest penalty (${ranked[0].penalty})`;
  const chosen = chooseWinner(ranked, survivors, why, ctx);
  return chosen.ok ? { ...chosen, diverged, ...(accepted ? { lost } : {}) } : chosen;
}
