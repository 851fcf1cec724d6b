import {
  CancellationScope, condition, continueAsNew, defineQuery, defineUpdate, startChild,
  isCancellation, setHandler, upsertMemo, upsertSearchAttributes, workflowInfo, allHandlersFinished,
} from '@temporalio/workflow';
import { rootCauseMessage } from './errors';
import { recordOperation, trimViews } from './logic/views';
import type { ClusterState, OperationInput, OperationKind, OperationResult, RunningOperation } from './model';
import { CLUSTER, OPERATION, PRIMARY, VIEW_ID } from './search-attributes';

export interface OperationRequest {
  kind: OperationKind;
  candidate?: string;
  updateOnly?: boolean;
  reason?: string;
}

export interface OperationStarted {
  id: number;
  kind: OperationKind;
  workflowId: string;
}

export const stateQuery = defineQuery<ClusterState>('state');
export const requestOperation = defineUpdate<OperationStarted, [OperationRequest]>('requestOperation');

const KEEP_VIEWS = 50;
const HISTORY_LIMIT = 4_000;

/** The compact state published as memo: what `gtidflow status` and the Web UI show without a worker. */
export function memoOf(state: ClusterState) {
  return {
    cluster: state.config.name,
    viewId: state.viewId,
    primary: state.primary,
    servers: state.servers.map(({ address, status, penalty, capability }) => ({ address, status, penalty, capability })),
    // References only: lets the CLI read the servers' live state without asking a worker.
    access: state.config.access,
    operation: state.operation,
    lastOperation: state.lastOperation,
  };
}

/**
 * The conductor of one cluster (workflow id `cluster:<name>`): it holds the
 * recorded state and runs operations as child workflows, one at a time.
 * A failover preempts any other operation (which rolls itself back first).
 */
export async function cluster(initial: ClusterState): Promise<void> {
  let state = initial;
  const queue: (OperationRequest & { id: number })[] = [];
  const started = new Map<number, string>();
  let running: { op: RunningOperation; scope: CancellationScope } | undefined;

  const publish = () => {
    upsertMemo({ state: memoOf(state) });
    upsertSearchAttributes([
      { key: PRIMARY, value: state.primary },
      { key: VIEW_ID, value: state.viewId },
      { key: OPERATION, value: state.operation?.kind ?? 'idle' },
    ]);
  };

  setHandler(stateQuery, () => state);
  setHandler(requestOperation, async (request) => {
    const id = ++state.operationCount;
    queue.push({ ...request, id });
    if (request.kind === 'failover' && running && running.op.kind !== 'failover') running.scope.cancel();
    await condition(() => started.has(id));
    return { id, kind: request.kind, workflowId: started.get(id)! };
  }, {
    validator: (request) => {
      if (request.kind !== 'switchover' && request.kind !== 'failover') throw new Error(`unknown operation "${request.kind}"`);
      if (request.candidate && !state.servers.some((s) => s.address === request.candidate)) {
        throw new Error(`${request.candidate} is not a server of cluster ${state.config.name}`);
      }
      const busy = running?.op ?? (queue[0] && { kind: queue[0].kind, id: queue[0].id });
      if (busy && !(request.kind === 'failover' && busy.kind !== 'failover')) {
        throw new Error(`cluster ${state.config.name} is busy with ${busy.kind} #${busy.id}; try again when it ends`);
      }
    },
  });

  publish();
  for (;;) {
    await condition(() => queue.length > 0 || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > HISTORY_LIMIT);
    if (queue.length === 0) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof cluster>({ ...state, views: trimViews(state.views, KEEP_VIEWS) });
    }
    const request = queue.shift()!;
    const op: RunningOperation = {
      id: request.id, kind: request.kind,
      workflowId: `cluster:${state.config.name}/${request.kind}/${request.id}`,
      startedAt: new Date().toISOString(),
    };
    state = { ...state, operation: op };
    publish();
    const input: OperationInput = {
      config: state.config, viewId: state.viewId, primary: state.primary, servers: state.servers,
      candidate: request.candidate, updateOnly: request.updateOnly, reason: request.reason,
    };
    const scope = new CancellationScope();
    running = { op, scope };
    const outcome = await scope.run(() => runChild(op, input, () => started.set(op.id, op.workflowId)));
    running = undefined;
    const at = new Date().toISOString();
    if (outcome.ok) {
      state = recordOperation(state, outcome.result, `${op.kind} #${op.id}`, at);
      state.lastOperation = { id: op.id, kind: op.kind, outcome: 'completed', message: outcome.result.summary, at };
    } else {
      state.lastOperation = { id: op.id, kind: op.kind, outcome: 'failed', message: outcome.message, at };
    }
    state = { ...state, operation: null };
    publish();
  }
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
