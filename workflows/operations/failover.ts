import { ApplicationFailure } from '@temporalio/workflow';
import type { ServerState, UnreachableServer } from '../../activities/server-state';
import { electPrimary, type ElectionServer } from '../logic/election';
import type { OperationInput, OperationResult, ServerRecord } from '../model';
import { gtidErrant, type Flavor } from '../logic/gtid';
import { runHooks } from './steps/finish';
import { trackProgress } from './steps/progress';
import { markFaulty, pastPointOfNoReturn, rollForward, semiSyncAtPromotion } from './steps/roll-forward';
import { since } from '../versions';
import { refuseIllegalPromotion } from './steps/transitions';
import { activity, BEST_EFFORT, PERSISTENT, QUICK, waiting } from '../steps';
import { sourceAddress } from '../logic/address';

const APPLY_SECONDS = 60;
/** FAULTY servers are asked only if they answer at once: a hung one must not slow the failover. */
const AT_ONCE_MS = 500;
/** The old primary, found dead, is fenced if it answers sooner still: the promotion waits for that attempt. */
const OLD_PRIMARY_AT_ONCE_MS = 250;

/**
 * Unplanned failover: fence the old primary on every path that answers,
 * freeze what replicas receive, let each apply its relay log, elect (data
 * first, then penalty), catch the winner up if needed, promote, repoint.
 * Refuses, changing nothing more, when no candidate is safe.
 */
export async function failover(input: OperationInput<'failover'>): Promise<OperationResult> {
  const step = trackProgress();
  const { access, router } = input.config;
  const oldPrimary = input.primary;

  if (input.updateOnly) {
    const winner = input.candidate;
    if (!winner) throw ApplicationFailure.nonRetryable('an update-only failover needs --candidate: nothing is read from the servers', 'NoCandidate');
    refuseIllegalPromotion(input.servers, winner);
    step(`recorded ${winner} as primary, ${oldPrimary} FAULTY (update-only: no server touched)`);
    const servers = markFaulty(input.servers.map((s): ServerRecord => (s.address === winner ? { ...s, status: 'PRIMARY' } : s)), [oldPrimary]);
    return { primary: winner, servers, summary: `${winner} recorded as primary (update-only)` };
  }

  step('running before-failover hooks');
  await runHooks(input, 'before-failover', null);

  // Fencing and freezing what replicas receive are independent: all at once.
  step(`fencing ${oldPrimary} and stopping what replicas receive`);
  const replicas = input.servers.filter((s) => s.address !== oldPrimary && s.status !== 'FAULTY');
  // A FAULTY replica may still stream from the primary and acknowledge writes: frozen and counted too, if it answers at once.
  const faulty = input.servers.filter((s) => s.address !== oldPrimary && s.status === 'FAULTY');
  const freeze = (address: string, connectTimeoutMs?: number) => attempt(() =>
    activity('freezeReplica', `${address} receives nothing more and applies what it received`, BEST_EFFORT)(
      { address, access: connectTimeoutMs ? { ...access, connectTimeoutMs } : access }));
  const fenceBesideApply = since.fenceBesideApply();
  const fenceRouter = router && activity('fenceWriter', `take ${oldPrimary} out of the writer backend`, QUICK)({ router, server: oldPrimary });
  // A frozen primary accepts the connection and never answers: the writer backend is the fence that holds then.
  const fenceOldPrimary = attempt(() => activity('setReadOnly', `read_only on ${oldPrimary} (if it answers)`, BEST_EFFORT)({ address: oldPrimary, access: { ...access, connectTimeoutMs: OLD_PRIMARY_AT_ONCE_MS }, readOnly: true })
    .then(() => activity('killClientConnections', `end sessions on ${oldPrimary} (if it answers)`, BEST_EFFORT)({ address: oldPrimary, access })));
  // The old primary's fence is waited for before the promotion, not the apply: a silent one takes its whole connect timeout.
  // A refusal waits for it too: its sessions are ended even then.
  const refuse = async (message: string, type: string): Promise<never> => {
    await fenceOldPrimary;
    throw ApplicationFailure.nonRetryable(message, type);
  };
  const [, , , frozenFaulty] = await Promise.all([
    fenceRouter,
    fenceBesideApply ? undefined : fenceOldPrimary,
    // Safety rule 2: what a replica received is owed; a stopped applier is started to apply it.
    Promise.all(replicas.map((r) => freeze(r.address))),
    Promise.all(faulty.map((f) => freeze(f.address, AT_ONCE_MS))),
  ]);
  const acknowledging = frozenFaulty.filter((f) => f?.replication && sourceAddress(f.replication) === oldPrimary
    && (f.changed || f.replication.ioRunning)).map((f) => f!.address);
  const read = [...replicas.map((r) => r.address), ...acknowledging];

  step('letting every replica apply what it received');
  const received = await Promise.all(read.map((address) => activity('probeServer', `read ${address}`)({ address, access })));
  // An applier that fails, stays stopped or is too slow shows in the next read: the election decides on it.
  await Promise.all(received.map((s) => s.reachable && s.replication?.sqlRunning
    ? attempt(() => activity('waitForGtid', `${s.address} applies ${s.replication!.received}`, waiting(APPLY_SECONDS))(
      { address: s.address, access, gtid: s.replication!.received, timeoutSeconds: APPLY_SECONDS }))
    : undefined));
  const states = await Promise.all(read.map((address) => activity('probeServer', `read ${address} after apply`)({ address, access })));

  step('electing the new primary');
  const flavor = states.find((s): s is ServerState => s.reachable)?.flavor;
  if (!flavor) return refuse(`no replica of ${input.config.name} answers: nothing to promote`, 'NoCandidate');
  const primaries = input.primaries ?? null;
  const election = electPrimary({
    flavor, named: input.candidate, acceptLoss: input.acceptLoss,
    servers: states.map((s) => ({ ...electionServer(s, input.servers, flavor, primaries), receivingFromPrimary: acknowledging.includes(s.address) })),
  });
  if (!election.ok) return refuse(`failover refused: ${election.reason}`, 'NoSafeCandidate');
  const winner = election.winner;
  step(election.reason);
  const diverged = election.diverged.map((d) => d.address);
  for (const d of election.diverged) step(`${d.address} diverged (errant transactions ${d.errant}): it becomes FAULTY`);
  if (election.lost) step(`the operator accepted the loss of ${election.lost}`);

  if (election.catchUpFrom) {
    const source = election.catchUpFrom;
    const target = (states.find((s) => s.address === source) as ServerState).executed;
    step(`catching ${winner} up from ${source}`);
    await activity('changeSource', `${winner} replicates from ${source}`, PERSISTENT)({ address: winner, access, source });
    const caughtUp = await activity('waitForGtid', `${winner} applies ${target}`, waiting(APPLY_SECONDS))({ address: winner, access, gtid: target, timeoutSeconds: APPLY_SECONDS });
    if (!caughtUp.reached) return refuse(`${winner} did not catch up to ${target} from ${source}`, 'CatchUpTimeout');
  }

  await fenceOldPrimary;
  step(`promoting ${winner}`);
  const unreachable = states.filter((s) => !s.reachable).map((s) => s.address);
  const others = states.filter((s) => s.reachable && s.address !== winner && !diverged.includes(s.address) && !acknowledging.includes(s.address))
    .map((s) => ({ address: s.address }));
  const routeAtOnce = since.routeAtOnce();
  await activity('promote', `promote ${winner}`, PERSISTENT)({ address: winner, access, semiSync: semiSyncAtPromotion(input, others, routeAtOnce) });
  // The point of no return: from here on the failover rolls forward (safety rule 9).
  const servers = await pastPointOfNoReturn(async () => {
    step(`pointing ${others.map((o) => o.address).join(', ') || 'no other replica'} at ${winner}`);
    const promoted = input.servers.map((s): ServerRecord => (s.address === winner ? { ...s, status: 'PRIMARY' } : s));
    const faulty = [oldPrimary, ...unreachable, ...diverged];
    const { servers: after, notFollowing } = await rollForward(input, winner, markFaulty(promoted, faulty), others, step, routeAtOnce);
    await runHooks(input, 'after-failover', winner);
    step(`done: ${winner} is primary; ${[...faulty, ...notFollowing].join(', ')} FAULTY`);
    return after;
  });
  const lost = election.lost ? `; accepted loss of ${election.lost}` : '';
  const winnerState = states.find((s) => s.address === winner) as ServerState;
  return { primary: winner, servers, summary: `failover from ${oldPrimary} to ${winner}${lost}`, primaryOrigin: winnerState.originId };
}

/** A step whose failure changes nothing about the decision (a dead server cannot be fenced, and need not be): its result, or undefined. */
async function attempt<T>(step: () => Promise<T>): Promise<T | undefined> {
  try {
    return await step();
  } catch {
    return undefined; // recorded in the history as a failed activity; the failover goes on
  }
}

function electionServer(state: ServerState | UnreachableServer, records: ServerRecord[], flavor: Flavor, primaries: string[] | null): ElectionServer {
  const record = records.find((r) => r.address === state.address)!;
  const base = { address: state.address, status: record.status, penalty: record.penalty };
  if (!state.reachable) return { ...base, reachable: false, executed: '', received: '', sqlThreadRunning: false };
  return {
    ...base,
    reachable: true,
    executed: state.executed,
    received: state.replication?.received ?? '',
    sqlThreadRunning: state.replication ? state.replication.sqlRunning : true,
    sqlError: state.replication?.sqlError || undefined,
    // Safety rule 3: only transactions from recorded primaries count; unknown primaries (update-only) check nothing.
    errant: primaries ? gtidErrant(flavor, state.history, primaries) : undefined,
  };
}

