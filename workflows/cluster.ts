import {
  CancellationScope, condition, continueAsNew, defineQuery, defineSignal, defineUpdate, startChild, isCancellation, metricMeter,
  setHandler, upsertMemo, upsertSearchAttributes, workflowInfo, allHandlersFinished,
} from '@temporalio/workflow';
import type { MonitorEvent } from '../activities/monitor';
import { automaticFailoverBlocked, fenceReturned, watchOnce, watchTargets } from './detection';
import { promotedSignal } from './signals';
import { rootCauseMessage } from './errors';
import { memoOf } from './memo';
import { recordOperation, trimViews } from './logic/views';
import { FAULTY_ANSWERING } from './logic/health';
import type { Warning } from './logic/warnings';
import { admit, watchMayRun, watchRunsDuring } from './logic/admission';
import { planServerChange, type ServerChange } from './logic/server-changes';
import type { ClusterState, OperationInput, OperationKind, OperationResult, RunningOperation, ServerRecord } from './model';
import type { RejoinInput } from './operations/rejoin';
import { CLUSTER, OPERATION, PRIMARY, VIEW_ID } from './search-attributes';

export interface OperationRequest {
  kind: OperationKind;
  candidate?: string;
  updateOnly?: boolean;
  reason?: string;
  /** Failover only, from an operator: the exact transactions a refusal named, accepted as lost. */
  acceptLoss?: string;
}

/** A queued operation; a reconfigure carries the servers as the operator's change leaves them, a rejoin the status it ends in. */
type Queued = OperationRequest & {
  id: number; changed?: ServerRecord[]; summary?: string; target?: string; reprovision?: boolean; join?: OperationInput['join']; status?: RejoinInput['status'];
};

export interface OperationStarted {
  id: number;
  kind: OperationKind;
  workflowId: string;
}

export const stateQuery = defineQuery<ClusterState>('state');
export const requestOperation = defineUpdate<OperationStarted, [OperationRequest]>('requestOperation');
/** A health round is due (sent by the cluster's schedule); ignored while the conductor is busy. */
export const healthRound = defineSignal('healthRound');
/** An operator's acknowledgement of an automatic failover: lifts the block on the next one. */
export const acknowledge = defineUpdate<string, []>('acknowledge');
/** An operator's change to one server's status, write penalty or capability: recorded, routed, published. */
export const changeServer = defineUpdate<OperationStarted, [ServerChange & { updateOnly?: boolean }]>('changeServer');
/** Adds a server (checked, provisioned if asked, caught up, routed) or removes a replica. */
export const addServerUpdate = defineUpdate<OperationStarted, [{ address: string; updateOnly?: boolean } & NonNullable<OperationInput['join']>]>('addServer');
export const removeServerUpdate = defineUpdate<OperationStarted, [{ address: string; updateOnly?: boolean }]>('removeServer');
/** Brings a returning FAULTY server back, if it has not diverged (or re-provisioned). */
export const rejoinServer = defineUpdate<OperationStarted, [{ address: string; reprovision?: boolean; updateOnly?: boolean }]>('rejoinServer');

const KEEP_VIEWS = 50;
const HISTORY_LIMIT = 4_000;

const ROLE_VALUE = { FAULTY: 0, SPARE: 1, SECONDARY: 2, PRIMARY: 3 } as const;

/**
 * The conductor of one cluster (workflow id `cluster:<name>`): it holds the
 * recorded state and runs operations as child workflows, one at a time.
 * A failover preempts any other operation (cancelled, it rolls itself back
 * or stops at a safe point), and the watch keeps running during every
 * operation but a switchover or a failover (safety rule 8).
 */
export async function cluster(initial: ClusterState): Promise<void> {
  let state = initial;
  const queue: Queued[] = [];
  const started = new Map<number, string>();
  let running: { op: RunningOperation; scope: CancellationScope } | undefined;

  const publish = () => {
    upsertMemo({ state: memoOf(state) });
    upsertSearchAttributes([
      { key: PRIMARY, value: state.primary },
      { key: VIEW_ID, value: state.viewId },
      { key: OPERATION, value: state.operation?.kind ?? 'idle' },
    ]);
    const role = metricMeter.createGauge('gtidflow_server_role', 'int', '', '0 FAULTY, 1 SPARE, 2 SECONDARY, 3 PRIMARY');
    for (const s of state.servers) role.withTags({ cluster: state.config.name, server: s.address }).set(ROLE_VALUE[s.status]);
  };

  setHandler(stateQuery, () => state);
  /** Why a new operation cannot be taken now: the cluster is busy (logic/admission). */
  const busyWith = (kind: OperationKind): string | undefined => {
    const verdict = admit(kind, running?.op, queue, state.config.name);
    return verdict.ok ? undefined : verdict.reason;
  };

  /** Queues an operation if it may run (a failover first), cancelling the running one it preempts; else false. */
  const admitNow = (entry: Omit<Queued, 'id'>): number | false => {
    const verdict = admit(entry.kind, running?.op, queue, state.config.name);
    if (!verdict.ok) return false;
    const queued = { ...entry, id: ++state.operationCount };
    if (verdict.first) queue.unshift(queued);
    else queue.push(queued);
    if (verdict.preempt) running?.scope.cancel();
    return queued.id;
  };

  const enqueue = async (entry: Omit<Queued, 'id'>): Promise<OperationStarted> => {
    const id = admitNow(entry);
    if (id === false) throw new Error(busyWith(entry.kind));
    await condition(() => started.has(id));
    return { id, kind: entry.kind, workflowId: started.get(id)! };
  };

  setHandler(requestOperation, (request) => enqueue(request), {
    validator: (request) => {
      if (request.kind !== 'switchover' && request.kind !== 'failover') throw new Error(`unknown operation "${request.kind}": switchover or failover`);
      if (request.acceptLoss !== undefined && (request.kind !== 'failover' || request.updateOnly)) throw new Error('--accept-loss goes with a failover that reads the servers');
      if (request.candidate && !state.servers.some((s) => s.address === request.candidate)) {
        throw new Error(`${request.candidate} is not a server of cluster ${state.config.name}`);
      }
      const busy = busyWith(request.kind);
      if (busy) throw new Error(busy);
    },
  });

  setHandler(changeServer, (change) => {
    const plan = planServerChange(state.servers, change);
    if (!plan.ok) throw new Error(plan.reason);
    // Leaving FAULTY: the rejoin checks first (safety rule 5), ending in the status asked for.
    if (plan.kind === 'rejoin') return enqueue({ kind: 'rejoin', target: change.address, status: plan.status });
    const what = [change.status && `status ${change.status}`, change.penalty !== undefined && `write penalty ${change.penalty}`,
      change.capability && `${change.database ? `database ${change.database} ` : ''}${change.capability}`].filter(Boolean).join(', ');
    return enqueue({ kind: 'reconfigure', changed: plan.servers, summary: `${change.address}: ${what}${change.updateOnly ? ' (update-only)' : ''}`, updateOnly: change.updateOnly });
  }, {
    validator: (change) => {
      const plan = planServerChange(state.servers, change);
      if (!plan.ok) throw new Error(plan.reason);
      const busy = busyWith(plan.kind);
      if (busy) throw new Error(busy);
    },
  });

  setHandler(rejoinServer, (request) => enqueue({ kind: 'rejoin', target: request.address, reprovision: request.reprovision, updateOnly: request.updateOnly }), {
    validator: (request) => {
      const server = state.servers.find((s) => s.address === request.address);
      if (!server) throw new Error(`${request.address} is not a server of cluster ${state.config.name}`);
      if (server.status !== 'FAULTY') throw new Error(`${request.address} is ${server.status}, not FAULTY: nothing to rejoin`);
      const busy = busyWith('rejoin');
      if (busy) throw new Error(busy);
    },
  });

  setHandler(addServerUpdate, ({ address, updateOnly, ...join }) => enqueue({ kind: 'addServer', target: address, updateOnly, join }), {
    validator: ({ address, status, penalty }) => {
      if (!/^[^:\s]+:\d{1,5}$/.test(address)) throw new Error(`invalid server address "${address}": expected host:port`);
      if (state.servers.some((s) => s.address === address)) throw new Error(`${address} is already a server of cluster ${state.config.name}`);
      if (status !== 'SECONDARY' && status !== 'SPARE') throw new Error(`a new server is SECONDARY or SPARE, not ${status}`);
      if (!Number.isInteger(penalty) || penalty < 0) throw new Error(`write penalty must be a whole number ≥ 0, not ${penalty}`);
      const busy = busyWith('addServer');
      if (busy) throw new Error(busy);
    },
  });

  setHandler(removeServerUpdate, ({ address, updateOnly }) => enqueue({ kind: 'removeServer', target: address, updateOnly }), {
    validator: ({ address }) => {
      if (!state.servers.some((s) => s.address === address)) throw new Error(`${address} is not a server of cluster ${state.config.name}`);
      if (address === state.primary) throw new Error(`${address} is the primary: promote another server first`);
      const busy = busyWith('removeServer');
      if (busy) throw new Error(busy);
    },
  });

  // Only when nothing else runs or waits.
  setHandler(healthRound, () => void admitNow({ kind: 'health' }));

  setHandler(acknowledge, () => {
    state = { ...state, lastAutomaticFailoverAt: null, warnings: state.warnings.filter((w) => w.code !== 'failover-withheld') };
    publish();
    return `automatic failover of ${state.config.name} re-armed`;
  });

  let watchScope: CancellationScope | undefined;
  /** Whom the running watch looks at (watchTargets): when an operation changes that, the watch restarts. */
  let watching = '';
  let continuingAsNew = false;
  /**
   * Detection: decides on what the watch reports. The watch runs during
   * every operation but a switchover, a failover or a bootstrap
   * (logic/admission), which cancel it; it restarts when they end, and when
   * an operation changed the primary or the servers it looks at.
   */
  const watch = async () => {
    for (;;) {
      await condition(() => !continuingAsNew && state.bootstrapped !== false && state.config.policies.failover !== 'off' && watchMayRun(state.operation ?? undefined, queue));
      watchScope = new CancellationScope();
      watching = JSON.stringify(watchTargets(state, watchedPrimary()));
      const event = await watchOnce(state, watchScope, watchedPrimary());
      watchScope = undefined;
      if (event) await react(event);
    }
  };
  const restartWatchIfChanged = () => {
    if (watchScope && JSON.stringify(watchTargets(state, watchedPrimary())) !== watching) watchScope.cancel();
  };
  // A switchover past its promotion: the candidate is the primary to watch, before the conductor records it.
  let promoted: { operation: number; primary: string } | undefined;
  const watchedPrimary = () => (promoted && promoted.operation === running?.op.id ? promoted.primary : state.primary);
  setHandler(promotedSignal, (primary) => {
    if (running?.op.kind !== 'switchover') return;
    promoted = { operation: running.op.id, primary };
    restartWatchIfChanged();
  });

  const warn = (warnings: Warning[]) => {
    state = { ...state, warnings };
    publish();
  };

  const react = async (event: MonitorEvent) => {
    if (event.kind === 'warning') return warn([event.warning]);
    if (event.kind === 'warning-cleared') return warn([]);
    if (event.kind === 'faulty-writable') return fenceReturned(state, event.address);
    metricMeter.createHistogram('gtidflow_detection_latency', 'int', 'ms', 'first failed probe to a dead verdict')
      .withTags({ cluster: state.config.name }).record(event.detectedAfterMs);
    const blocked = automaticFailoverBlocked(state, Date.now());
    const why = state.config.policies.failover === 'notify' ? 'the failover policy is notify: run gtidflow failover' : blocked;
    if (why) {
      // Nothing to do by ourselves: say so, and look again when the cluster changes or a minute has passed.
      const viewId = state.viewId;
      warn([{ code: 'failover-withheld', server: state.primary, text: `primary ${state.primary} is dead (${event.reason}); no automatic failover: ${why}` }]);
      await condition(() => state.viewId !== viewId || !automaticFailoverBlocked(state, Date.now()), '1 minute');
      return;
    }
    // An operator's failover already runs or waits: it is the answer.
    if (busyWith('failover')) return;
    state = { ...state, lastAutomaticFailoverAt: new Date().toISOString(), warnings: [] };
    // Whatever else runs (a health round, a rejoin, a server being provisioned for hours) is cancelled.
    admitNow({ kind: 'failover', reason: `automatic: ${event.reason}` });
  };

  // A new registration: the first operation makes the cluster as recorded.
  if (state.bootstrapped === false && !queue.length) queue.push({ kind: 'bootstrap', id: ++state.operationCount });
  publish();
  void watch();
  for (;;) {
    await condition(() => queue.length > 0 || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > HISTORY_LIMIT);
    if (queue.length === 0) {
      continuingAsNew = true;
      watchScope?.cancel();
      await condition(() => allHandlersFinished() && !watchScope);
      await continueAsNew<typeof cluster>({ ...state, views: trimViews(state.views, KEEP_VIEWS) });
    }
    const request = queue.shift()!;
    // The watch keeps running during this operation (safety rule 8), unless it moves the primary itself (logic/admission).
    if (!watchRunsDuring(request.kind)) watchScope?.cancel();
    const op: RunningOperation = {
      id: request.id, kind: request.kind,
      workflowId: `cluster:${state.config.name}/${request.kind}/${request.id}`,
      startedAt: new Date().toISOString(),
    };
    state = { ...state, operation: op };
    publish();
    const input: RejoinInput & { changed?: ServerRecord[]; summary?: string } = {
      config: state.config, viewId: state.viewId, primary: state.primary, servers: state.servers,
      candidate: request.candidate, updateOnly: request.updateOnly, reason: request.reason, acceptLoss: request.acceptLoss, primaries: state.primaries ?? null,
      changed: request.changed, summary: request.summary, target: request.target, reprovision: request.reprovision, join: request.join,
      status: request.status,
    };
    const scope = new CancellationScope();
    running = { op, scope };
    const outcome = await scope.run(() => runChild(op, input, () => started.set(op.id, op.workflowId)));
    running = undefined;
    const at = new Date().toISOString();
    const tags = { cluster: state.config.name, outcome: outcome.ok ? 'completed' : 'failed' };
    metricMeter.createCounter(`gtidflow_${op.kind}s`, '1', `${op.kind}s run by the conductor`).withTags(tags).add(1);
    metricMeter.createHistogram(`gtidflow_${op.kind}_duration`, 'int', 'ms').withTags(tags).record(Date.parse(at) - Date.parse(op.startedAt));
    if (op.kind === 'health') {
      state = recordHealth(state, outcome, op, at);
      // Crash recovery: a FAULTY server answering again is brought back, if policy says so (rejoin refuses a diverged one).
      const returning = state.health?.findings.find((f) => f.problem === FAULTY_ANSWERING);
      if (returning && state.config.policies.rejoin === 'auto') admitNow({ kind: 'rejoin', target: returning.server });
    } else if (outcome.ok && op.kind === 'bootstrap') {
      state = { ...recordBootstrap(state, outcome.result, op, at), bootstrapped: true };
      state.lastOperation = { id: op.id, kind: op.kind, outcome: 'completed', message: outcome.result.summary, at };
    } else if (outcome.ok) {
      state = recordOperation(state, outcome.result, `${op.kind} #${op.id}`, at);
      state.lastOperation = { id: op.id, kind: op.kind, outcome: 'completed', message: outcome.result.summary, at };
    } else {
      state.lastOperation = { id: op.id, kind: op.kind, outcome: 'failed', message: outcome.message, at };
    }
    state = { ...state, operation: null };
    publish();
    // A new primary, a server added, removed, FAULTY or back: the watch looks at them from now on.
    restartWatchIfChanged();
  }
}

/** A bootstrap keeps view 1 unless it found a server FAULTY (then view 2). */
function recordBootstrap(state: ClusterState, result: OperationResult, op: RunningOperation, at: string): ClusterState {
  const changed = result.servers.some((s, i) => s.status !== state.servers[i].status);
  return changed ? recordOperation(state, result, `bootstrap #${op.id}`, at) : state;
}

/** A health round records its findings; a new view only when it changed a status (a replica marked FAULTY). */
function recordHealth(state: ClusterState, outcome: Outcome, op: RunningOperation, at: string): ClusterState {
  if (!outcome.ok) return { ...state, health: { at, findings: [{ server: state.primary, problem: `health round failed: ${outcome.message}` }] } };
  const changed = outcome.result.servers.some((s, i) => s.status !== state.servers[i].status);
  const next = changed ? recordOperation(state, outcome.result, `health #${op.id}`, at) : state;
  const primaries = next.primaries ?? outcome.result.learnedPrimaries ?? null;
  return { ...next, primaries, health: { at, findings: outcome.result.findings ?? [] } };
}

type Outcome = { ok: true; result: OperationResult } | { ok: false; message: string };

async function runChild(op: RunningOperation, input: OperationInput, onStarted: () => void): Promise<Outcome> {
  try {
    const child = await startChild(op.kind, {
      workflowId: op.workflowId,
      args: [input],
      staticSummary: `${op.kind} #${op.id} of cluster ${input.config.name}${input.candidate ? ` to ${input.candidate}` : ''}${input.updateOnly ? ' (update-only)' : ''}`,
      staticDetails: `view ${input.viewId} → ${input.viewId + 1}; primary before: ${input.primary}${input.reason ? `; reason: ${input.reason}` : ''}`,
      typedSearchAttributes: [{ key: CLUSTER, value: input.config.name }, { key: OPERATION, value: op.kind }],
    });
    onStarted();
    return { ok: true, result: await child.result() };
  } catch (err) {
    onStarted();
    return { ok: false, message: failureMessage(err) };
  }
}

function failureMessage(err: unknown): string {
  return isCancellation(err) ? 'cancelled (a failover took precedence)' : rootCauseMessage(err);
}
