import {
  CancellationScope, condition, continueAsNew, startChild, isCancellation, metricMeter,
  setHandler, upsertMemo, upsertSearchAttributes, workflowInfo, allHandlersFinished,
} from '@temporalio/workflow';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import type { MonitorEvent } from '../activities/monitor';
import {
  acknowledge, addServer, changeServer, healthReport, healthRound, holdCluster, operationWorkflowId, releaseCluster, promotedSignal, rejoinServer, removeServer, requestOperation, stateQuery,
  type OperationStarted,
} from './api';
import { fenceReturned, watchOnce, watchTargets } from './detection';
import { rootCauseMessage } from './errors';
import { memoOf } from './memo';
import { trimViews } from './logic/views';
import type { Warning } from './logic/warnings';
import { admit, watchMayRun, watchRunsDuring } from './logic/admission';
import { planAdd, planChange, planOperation, planRejoin, planRemove, type RequestPlan } from './logic/requests';
import { answerReport, automaticFailoverBlocked, followUp, outdated, recordOutcome, respondToDeath, type Outcome } from './logic/outcomes';
import type { ClusterState, OperationContext, OperationKind, OperationParams, RunningOperation } from './model';
import { CLUSTER, OPERATION, PRIMARY, VIEW_ID } from './search-attributes';
import { since } from './versions';

/** A request refused: the update fails with this line (a plain Error thrown by a handler would fail the workflow task, again and again). */
const refused = (message: string | undefined) => ApplicationFailure.nonRetryable(message ?? 'refused', 'Refused');

/** An operation waiting its turn. */
type Queued = { id: number; params: OperationParams };

const KEEP_VIEWS = 50;
const HISTORY_LIMIT = 4_000;

const ROLE_VALUE = { FAULTY: 0, SPARE: 1, SECONDARY: 2, PRIMARY: 3 } as const;

/**
 * The conductor of one cluster (workflow id `cluster:<name>`): it holds the
 * recorded state and runs operations as child workflows, one at a time.
 * A failover preempts any other operation (cancelled, it rolls itself back
 * or stops at a safe point), and the watch keeps running during every
 * operation but a failover or a bootstrap (safety rule 8).
 */
export async function cluster(initial: ClusterState): Promise<void> {
  let state = initial;
  const queue: Queued[] = [];
  const started = new Map<number, string>();
  /** Operations taken off the queue without running (logic/outcomes outdated), with the reason. */
  const dropped = new Map<number, string>();
  let running: { op: RunningOperation; scope: CancellationScope } | undefined;
  /** A shard move's cut-over hold (not carried across continue-as-new: it lasts seconds, and the move re-checks). */
  let hold: { holder: string; until: number } | undefined;
  const heldBy = () => (hold && Date.now() < hold.until ? hold.holder : undefined);

  const publish = () => {
    upsertMemo({ state: memoOf(state, hold && heldBy() ? { holder: hold.holder, until: new Date(hold.until).toISOString() } : undefined) });
    upsertSearchAttributes([
      { key: PRIMARY, value: state.primary },
      { key: VIEW_ID, value: state.viewId },
      { key: OPERATION, value: state.operation?.kind ?? 'idle' },
    ]);
    const role = metricMeter.createGauge('gtidflow_server_role', 'int', '', '0 FAULTY, 1 SPARE, 2 SECONDARY, 3 PRIMARY');
    for (const s of state.servers) role.withTags({ cluster: state.config.name, server: s.address }).set(ROLE_VALUE[s.status]);
  };

  /** The metrics of an operation that ended (a health tick's report counts as a round). */
  const countOperation = (kind: OperationKind, ok: boolean, ms: number) => {
    const tags = { cluster: state.config.name, outcome: ok ? 'completed' : 'failed' };
    metricMeter.createCounter(`gtidflow_${kind}s`, '1', `${kind}s run by the conductor`).withTags(tags).add(1);
    metricMeter.createHistogram(`gtidflow_${kind}_duration`, 'int', 'ms').withTags(tags).record(ms);
  };

  setHandler(stateQuery, () => state);
  const pending = () => queue.map(({ id, params }) => ({ id, kind: params.kind }));
  /** Why a new operation cannot be taken now: the cluster is busy (logic/admission). */
  const busyWith = (kind: OperationKind): string | undefined => {
    const verdict = admit(kind, running?.op, pending(), state.config.name, heldBy());
    return verdict.ok ? undefined : verdict.reason;
  };

  /** Queues an operation if it may run (a failover first), cancelling the running one it preempts; else false. */
  const admitNow = (params: OperationParams): number | false => {
    const verdict = admit(params.kind, running?.op, pending(), state.config.name, heldBy());
    if (!verdict.ok) return false;
    const queued = { id: ++state.operationCount, params };
    if (verdict.first) queue.unshift(queued);
    else queue.push(queued);
    if (verdict.preempt) running?.scope.cancel();
    return queued.id;
  };

  const enqueue = async (params: OperationParams): Promise<OperationStarted> => {
    const id = admitNow(params);
    if (id === false) throw refused(busyWith(params.kind));
    await condition(() => started.has(id) || dropped.has(id));
    if (dropped.has(id)) throw refused(`${params.kind} #${id} ${dropped.get(id)}`);
    return { id, kind: params.kind, workflowId: started.get(id)! };
  };

  /** An operator's request: planned on the recorded state (logic/requests), refused with one line, or queued. */
  const planned = (plan: RequestPlan): OperationParams => {
    if (!plan.ok) throw refused(plan.reason);
    const busy = busyWith(plan.params.kind);
    if (busy) throw refused(busy);
    return plan.params;
  };
  const answer = <A>(message: UpdateDefinition<OperationStarted, [A]>, plan: (state: ClusterState, arg: A) => RequestPlan) =>
    setHandler(message, (arg) => enqueue(planned(plan(state, arg))), { validator: (arg) => void planned(plan(state, arg)) });
  answer(requestOperation, planOperation);
  answer(changeServer, planChange);
  answer(rejoinServer, planRejoin);
  answer(addServer, planAdd);
  answer(removeServer, planRemove);

  // Only when nothing else runs or waits.
  setHandler(healthRound, () => void admitNow({ kind: 'health' }));
  setHandler(healthReport, (report) => {
    // A 0.2.0 conductor drops the signal (no handler): one replaying that history must do the same.
    if (!since.healthReport() || busyWith('health')) return;
    const answer = answerReport(state, report);
    if (answer.action === 'round') admitNow({ kind: 'health' });
    if (answer.action !== 'record') return;
    state = answer.state;
    countOperation('health', report.outcome.ok, report.durationMs);
    const next = followUp(state);
    if (next) admitNow(next);
    publish();
  });

  setHandler(holdCluster, async ({ holder, seconds }) => {
    const granted = await condition(() => !running && !queue.length && !(heldBy() && heldBy() !== holder), '30 seconds');
    if (!granted) throw refused(busyWith('switchover') ?? `cluster ${state.config.name} did not become idle within 30 s`);
    hold = { holder, until: Date.now() + seconds * 1000 };
    publish();
    return { viewId: state.viewId, primary: state.primary };
  }, { validator: ({ holder, seconds }) => {
    if (!holder || !(seconds > 0 && seconds <= 300)) throw refused('a hold names its holder and lasts 1 to 300 s');
  } });
  setHandler(releaseCluster, ({ holder }) => {
    if (hold?.holder !== holder) return false;
    hold = undefined;
    publish();
    return true;
  });

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
   * every operation but a failover or a bootstrap (logic/admission), which
   * cancel it; it restarts when they end, when a switchover says it
   * promoted its candidate, and when an operation changed the primary or
   * the servers it looks at.
   */
  const watch = async () => {
    for (;;) {
      await condition(() => !continuingAsNew && state.bootstrapped !== false && state.config.policies.failover !== 'off' && watchMayRun(state.operation ?? undefined, pending()));
      watchScope = new CancellationScope();
      const watched = watchedPrimary();
      watching = JSON.stringify(watchTargets(state, watched));
      const event = await watchOnce(state, watchScope, watched);
      watchScope = undefined;
      if (event) await react(event, watched);
    }
  };
  const restartWatchIfChanged = () => {
    if (watchScope && JSON.stringify(watchTargets(state, watchedPrimary())) !== watching) watchScope.cancel();
  };
  // A switchover past its promotion: the candidate is the primary to watch, before the conductor records it.
  let promotion: { operation: number; primary: string } | undefined;
  const watchedPrimary = () => (promotion && promotion.operation === running?.op.id ? promotion.primary : state.primary);
  setHandler(promotedSignal, (primary) => {
    if (running?.op.kind !== 'switchover') return;
    promotion = { operation: running.op.id, primary };
    restartWatchIfChanged();
  });

  const warn = (warnings: Warning[]) => {
    state = { ...state, warnings };
    publish();
  };

  const react = async (event: MonitorEvent, watched: string) => {
    if (event.kind === 'warning') return warn([event.warning]);
    if (event.kind === 'warning-cleared') return warn([]);
    if (event.kind === 'faulty-writable') return fenceReturned(state, event.address);
    metricMeter.createHistogram('gtidflow_detection_latency', 'int', 'ms', 'first failed probe to a dead verdict')
      .withTags({ cluster: state.config.name }).record(event.detectedAfterMs);
    const response = respondToDeath(state, event.reason, Date.now(), busyWith('failover') !== undefined);
    if (response.action === 'withhold') {
      // Nothing to do by ourselves: say so, and look again when the cluster changes or a minute has passed.
      const viewId = state.viewId;
      warn([response.warning]);
      await condition(() => state.viewId !== viewId || !automaticFailoverBlocked(state, Date.now()), '1 minute');
    } else if (response.action === 'failover') {
      // Whatever else runs (a health round, a rejoin, a server being provisioned for hours) is cancelled.
      admitNow({ kind: 'failover', reason: response.reason, primary: watched, automatic: true });
    }
  };

  // A new registration: the first operation makes the cluster as recorded.
  if (state.bootstrapped === false && !queue.length) queue.push({ id: ++state.operationCount, params: { kind: 'bootstrap' } });
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
    const { id, params } = queue.shift()!;
    const notRun = outdated(state, params);
    if (notRun) {
      dropped.set(id, notRun);
      state = { ...state, lastOperation: { id, kind: params.kind, outcome: 'failed', message: notRun, at: new Date().toISOString() } };
      publish();
      continue;
    }
    if (params.kind === 'failover' && params.automatic) state = { ...state, lastAutomaticFailoverAt: new Date().toISOString(), warnings: [] };
    // The watch keeps running during this operation (safety rule 8), unless it moves the primary itself (logic/admission).
    if (!watchRunsDuring(params.kind)) watchScope?.cancel();
    const op: RunningOperation = { id, kind: params.kind, workflowId: operationWorkflowId(state.config.name, params.kind, id), startedAt: new Date().toISOString() };
    state = { ...state, operation: op };
    publish();
    const context: OperationContext = { config: state.config, viewId: state.viewId, primary: state.primary, servers: state.servers, primaries: state.primaries ?? null };
    const scope = new CancellationScope();
    running = { op, scope };
    const outcome = await scope.run(() => runChild(op, context, params, () => started.set(op.id, op.workflowId)));
    running = undefined;
    const at = new Date().toISOString();
    countOperation(op.kind, outcome.ok, Date.parse(at) - Date.parse(op.startedAt));
    state = recordOutcome(state, op, outcome, at);
    if (op.kind === 'health') {
      // Only a 0.1.0 round's findings lack codes: the patch is asked for them alone, so new runs record no marker (rollback stays open).
      const legacy = state.health?.findings.some((f) => f.code === undefined) && !since.findingCodes();
      const next = followUp(state, !legacy);
      if (next) admitNow(next);
    }
    publish();
    // A new primary, a server added, removed, FAULTY or back: the watch looks at them from now on.
    restartWatchIfChanged();
  }
}

async function runChild(op: RunningOperation, context: OperationContext, params: OperationParams, onStarted: () => void): Promise<Outcome> {
  const candidate = 'candidate' in params && params.candidate ? ` to ${params.candidate}` : '';
  const updateOnly = 'updateOnly' in params && params.updateOnly ? ' (update-only)' : '';
  const reason = 'reason' in params && params.reason ? `; reason: ${params.reason}` : '';
  try {
    const child = await startChild(op.kind, {
      workflowId: op.workflowId,
      args: [{ ...context, ...params }],
      staticSummary: `${op.kind} #${op.id} of cluster ${context.config.name}${candidate}${updateOnly}`,
      staticDetails: `view ${context.viewId} → ${context.viewId + 1}; primary before: ${context.primary}${reason}`,
      typedSearchAttributes: [{ key: CLUSTER, value: context.config.name }, { key: OPERATION, value: op.kind }],
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
