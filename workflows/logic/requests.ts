import type { AddServerRequest, OperationRequest, RejoinRequest, RemoveServerRequest, ServerChangeRequest } from '../api';
import type { ClusterState, OperationParams } from '../model';
import { notAServer } from './address';
import { planServerChange } from './server-changes';
import { checkTransition } from './status';

/**
 * What an operator's message asks the conductor to run, judged on the
 * recorded state alone: the operation, or the one-line reason it is
 * refused. Whether the cluster is free for it is admission's (admission.ts).
 */
export type RequestPlan = { ok: true; params: OperationParams } | { ok: false; reason: string };

type State = Pick<ClusterState, 'servers' | 'primary'>;

const refuse = (reason: string): RequestPlan => ({ ok: false, reason });

export function planOperation(state: State, request: OperationRequest): RequestPlan {
  if (request.kind !== 'switchover' && request.kind !== 'failover') return refuse(`unknown operation "${(request as { kind: string }).kind}": switchover or failover`);
  const acceptLoss = 'acceptLoss' in request ? request.acceptLoss : undefined;
  if (acceptLoss !== undefined && (request.kind !== 'failover' || request.updateOnly)) return refuse('--accept-loss goes with a failover that reads the servers');
  if (request.candidate) {
    const named = state.servers.find((s) => s.address === request.candidate);
    if (!named) return refuse(notAServer(request.candidate));
    // The operation would refuse it too, but only once it ran (and preempted what was running).
    const promotion = checkTransition(named.status, 'PRIMARY', 'promote', { named: true });
    if (!promotion.ok) return refuse(`${request.candidate}: ${promotion.reason}`);
  }
  if (request.kind === 'failover') {
    // Refused here, not when it runs: it would preempt whatever runs (a switchover that fenced the primary) for nothing.
    if (request.updateOnly && !request.candidate) return refuse('an update-only failover needs --candidate: nothing is read from the servers');
    return { ok: true, params: { ...request, primary: state.primary } };
  }
  return { ok: true, params: request };
}

/** Leaving FAULTY goes through the rejoin checks (safety rule 5), ending in the status asked for; anything else is a reconfigure. */
export function planChange(state: State, change: ServerChangeRequest): RequestPlan {
  const plan = planServerChange(state.servers, change);
  if (!plan.ok) return plan;
  if (plan.kind === 'rejoin') return { ok: true, params: { kind: 'rejoin', target: change.address, status: plan.status } };
  const what = [change.status && `status ${change.status}`, change.penalty !== undefined && `write penalty ${change.penalty}`,
    change.capability && `${change.database ? `database ${change.database} ` : ''}${change.capability}`].filter(Boolean).join(', ');
  const summary = `${change.address}: ${what}${change.updateOnly ? ' (update-only)' : ''}`;
  return { ok: true, params: { kind: 'reconfigure', changed: plan.servers, summary, updateOnly: change.updateOnly } };
}

export function planRejoin(state: State, { address, reprovision, donor, updateOnly }: RejoinRequest): RequestPlan {
  const server = state.servers.find((s) => s.address === address);
  if (!server) return refuse(notAServer(address));
  if (server.status !== 'FAULTY') return refuse(`${address} is ${server.status}, not FAULTY: nothing to rejoin`);
  if (donor !== undefined && !reprovision) return refuse('--donor names where a copy comes from: it goes with --reprovision');
  const badDonor = donor === undefined ? undefined : donorProblem(state, donor, address);
  if (badDonor) return refuse(badDonor);
  return { ok: true, params: { kind: 'rejoin', target: address, reprovision, ...(donor !== undefined && { donor }), updateOnly } };
}

/** Why a server cannot give its data to `target`, or undefined. */
function donorProblem(state: State, donor: string, target: string): string | undefined {
  const server = state.servers.find((s) => s.address === donor);
  if (!server) return `unknown donor ${donor}: not a server of this cluster`;
  if (donor === target) return `${donor} cannot be its own donor`;
  if (server.status === 'FAULTY') return `donor ${donor} is FAULTY: name a server that replicates`;
  return undefined;
}

export function planAdd(state: State, { address, updateOnly, provision, status, penalty, donor, reprovision }: AddServerRequest): RequestPlan {
  if (!/^[^:\s]+:\d{1,5}$/.test(address)) return refuse(`invalid server address "${address}": expected host:port`);
  if (state.servers.some((s) => s.address === address)) return refuse(`${address} is already a server of this cluster`);
  if (status !== 'SECONDARY' && status !== 'SPARE') return refuse(`a new server is SECONDARY or SPARE, not ${status}`);
  if (!Number.isInteger(penalty) || penalty < 0) return refuse(`write penalty must be a whole number ≥ 0, not ${penalty}`);
  if ((donor !== undefined || reprovision) && provision === 'none') return refuse('--donor and --reprovision are about a copy: they go with --provision');
  const badDonor = donor === undefined ? undefined : donorProblem(state, donor, address);
  if (badDonor) return refuse(badDonor);
  const join = { provision, status, penalty, ...(donor !== undefined && { donor }), ...(reprovision && { reprovision }) };
  return { ok: true, params: { kind: 'addServer', target: address, updateOnly, join } };
}

export function planRemove(state: State, { address, updateOnly }: RemoveServerRequest): RequestPlan {
  if (!state.servers.some((s) => s.address === address)) return refuse(notAServer(address));
  if (address === state.primary) return refuse(`${address} is the primary: promote another server first`);
  return { ok: true, params: { kind: 'removeServer', target: address, updateOnly } };
}
