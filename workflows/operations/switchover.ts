import { ApplicationFailure, CancellationScope, getExternalWorkflowHandle, isCancellation, workflowInfo } from '@temporalio/workflow';
import { promotedSignal } from '../api';
import { rootCauseMessage } from '../errors';
import { chooseSwitchoverCandidate } from '../logic/switchover-candidate';
import { readServers } from './steps/read-servers';
import { refuseIllegalPromotion } from './steps/transitions';
import { sourceAddress } from '../logic/address';
import { gtidErrant, type Flavor } from '../logic/gtid';
import type { OperationContext, OperationInput, OperationResult, ServerRecord } from '../model';
import { trackProgress } from './steps/progress';
import { readersOf, route } from './steps/routing';
import { pastPointOfNoReturn, rollForward, semiSyncAtPromotion } from './steps/roll-forward';
import { since } from '../versions';
import { activity, PERSISTENT, waiting } from '../steps';
import { runHooks } from './steps/finish';

const CATCH_UP_SECONDS = 30;

/**
 * Planned promotion: the old primary stops taking writes, the candidate
 * applies everything, then takes over; the old primary replicates from it.
 * Until the candidate is promoted, any failure (or cancellation) puts the
 * old primary back: writable and routed as before.
 */
export async function switchover(input: OperationInput<'switchover'>): Promise<OperationResult> {
  const step = trackProgress();
  const { access } = input.config;
  const oldPrimary = input.primary;

  if (input.updateOnly) {
    const candidate = input.candidate ?? recordedCandidate(input.servers, oldPrimary);
    refuseIllegalPromotion(input.servers, candidate);
    step(`recorded ${candidate} as primary (update-only: no server read or touched)`);
    return { primary: candidate, servers: promoted(input.servers, candidate, oldPrimary), summary: `${candidate} recorded as primary (update-only)` };
  }

  step('reading every server');
  const live = input.servers.filter((s) => s.status !== 'FAULTY');
  const states = await readServers(input, live);
  const primaryState = states.find((s) => s.address === oldPrimary);
  if (!primaryState?.reachable) throw ApplicationFailure.nonRetryable(`the primary ${oldPrimary} is unreachable: use failover, not switchover`, 'PrimaryUnreachable');
  const flavor: Flavor = primaryState.flavor;
  const view = (s: (typeof states)[number]) => {
    const record = input.servers.find((r) => r.address === s.address)!;
    return s.reachable
      ? { address: s.address, status: record.status, penalty: record.penalty, reachable: true, executed: s.executed,
          source: s.replication ? sourceAddress(s.replication) : null,
          ioRunning: Boolean(s.replication?.ioRunning || s.replication?.ioConnecting), sqlRunning: Boolean(s.replication?.sqlRunning),
          errant: input.primaries ? gtidErrant(flavor, s.history, input.primaries) : undefined }
      : { address: s.address, status: record.status, penalty: record.penalty, reachable: false, executed: '', source: null, ioRunning: false, sqlRunning: false };
  };
  const choice = chooseSwitchoverCandidate(flavor, view(primaryState), states.map(view), input.candidate);
  if (!choice.ok) throw ApplicationFailure.nonRetryable(choice.reason, 'NoCandidate');
  const candidate = choice.candidate;
  const servers = promoted(input.servers, candidate, oldPrimary);

  try {
    step(`routing writes away from ${oldPrimary}, making it read-only and ending its client sessions`);
    const router = input.config.router;
    const fenceWriter = () => (router ? activity('fenceWriter', `take ${oldPrimary} out of the writer backend`)({ router, server: oldPrimary }) : undefined);
    const { executed } = since.fenceInOneStep()
      ? (await Promise.all([fenceWriter(), activity('fencePrimary', `read_only on ${oldPrimary}, its client sessions ended, its final position read`)({ address: oldPrimary, access })]))[1]
      : await fenceInSteps(input, fenceWriter);
    step(`waiting for ${candidate} to apply ${executed || 'everything'}`);
    const caughtUp = await activity('waitForGtid', `${candidate} applies ${executed}`, waiting(CATCH_UP_SECONDS))({ address: candidate, access, gtid: executed, timeoutSeconds: CATCH_UP_SECONDS });
    if (!caughtUp.reached) throw ApplicationFailure.nonRetryable(`${candidate} did not apply ${executed} within ${CATCH_UP_SECONDS} s (it has ${caughtUp.executed})`, 'CatchUpTimeout');
  } catch (err) {
    // Preempted by a failover: that failover fences the old primary anyway; opening it again first would only delay it.
    if (isCancellation(err)) throw err;
    step(`rolling back: ${oldPrimary} stays primary`);
    await CancellationScope.nonCancellable(() => restoreOldPrimary(input));
    throw ApplicationFailure.nonRetryable(`switchover aborted, ${oldPrimary} is primary again: ${rootCauseMessage(err)}`, 'SwitchoverAborted');
  }

  step(`promoting ${candidate}`);
  const followers = [
    ...readersOf(servers, candidate).filter((a) => a !== oldPrimary).map((address) => ({ address })),
    { address: oldPrimary, demotedPrimary: true },
  ];
  const routeAtOnce = since.routeAtOnce();
  await activity('promote', `promote ${candidate}`, PERSISTENT)({ address: candidate, access, semiSync: semiSyncAtPromotion(input, followers, routeAtOnce) });
  // The point of no return: from here on the switchover rolls forward (safety rule 9), even when a failover preempts it.
  const after = await pastPointOfNoReturn(async () => {
    // Since 0.3.0 the signal goes with the routing, not before it: writes need not wait for the conductor to hear.
    const told = tellConductorPromoted(candidate);
    if (!routeAtOnce) await told;
    step(`pointing the replicas and ${oldPrimary} at ${candidate}`);
    const { servers: whole, notFollowing } = await rollForward(input, candidate, servers, followers, step, routeAtOnce);
    await told;
    await runHooks(input, 'after-switchover', candidate);
    step(`done: ${candidate} is primary, ${oldPrimary} replicates from it${notFollowing.length ? `; ${notFollowing.join(', ')} FAULTY` : ''}`);
    return whole;
  });
  const candidateState = states.find((s) => s.address === candidate);
  const primaryOrigin = candidateState?.reachable ? candidateState.originId : undefined;
  return { primary: candidate, servers: after, summary: `switchover from ${oldPrimary} to ${candidate}`, primaryOrigin };
}

/** Before 0.3.0: read_only beside the router's fence, then the sessions ended, then the position read, each a step. */
async function fenceInSteps(input: OperationContext, fenceWriter: () => Promise<unknown> | undefined): Promise<{ executed: string }> {
  const { primary: oldPrimary, config: { access } } = input;
  await Promise.all([fenceWriter(), activity('setReadOnly', `read_only on ${oldPrimary}`)({ address: oldPrimary, access, readOnly: true })]);
  await activity('killClientConnections', `end client sessions on ${oldPrimary}`)({ address: oldPrimary, access });
  return activity('getServerState', `final position of ${oldPrimary}`)({ address: oldPrimary, access });
}

/** The conductor's watch moves to the new primary now, not when the switchover ends. */
async function tellConductorPromoted(candidate: string): Promise<void> {
  const parent = workflowInfo().parent;
  if (parent) await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(promotedSignal, candidate).catch(() => undefined);
}

/** Without reading servers: the least penalised SECONDARY as recorded. */
function recordedCandidate(servers: ServerRecord[], oldPrimary: string): string {
  const [best] = servers.filter((s) => s.status === 'SECONDARY' && s.address !== oldPrimary)
    .sort((a, b) => a.penalty - b.penalty || (a.address < b.address ? -1 : 1));
  if (!best) throw ApplicationFailure.nonRetryable('no SECONDARY is recorded: name the candidate', 'NoCandidate');
  return best.address;
}

/** The candidate becomes PRIMARY, the old primary SECONDARY; everyone else keeps their status. */
function promoted(servers: ServerRecord[], candidate: string, oldPrimary: string): ServerRecord[] {
  return servers.map((s) =>
    s.address === candidate ? { ...s, status: 'PRIMARY' } : s.address === oldPrimary ? { ...s, status: 'SECONDARY' } : s);
}

async function restoreOldPrimary(input: OperationContext): Promise<void> {
  const { access } = input.config;
  await activity('setReadOnly', `read_only off on ${input.primary} again`, PERSISTENT)({ address: input.primary, access, readOnly: false });
  await route(input, input.primary, input.servers);
}
