import {
  ApplicationFailure, allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, ParentClosePolicy, setHandler, startChild, upsertMemo, workflowInfo,
} from '@temporalio/workflow';
import type { ClusterFacts } from '../activities/clusters';
import {
  addShard, cancelMove, cleanupShard, flipShard, mapPublished, moveEnded, moveShard, shardMoveWorkflowId, shardsQuery, splitShard, type AddShardRequest,
} from './api';
import { rootCauseMessage } from './errors';
import { databasesOf, movedTo, nextMap, shardProblem, splitAt, splitProblem } from './logic/shards';
import type { MoveParams, Shard, ShardsState, SplitParams } from './shard-model';
import { activity, PERSISTENT } from './steps';
import type { shardMove, ShardMoveInput } from './operations/shard-move';

const HISTORY_LIMIT = 4_000;
const KEEP_OUTCOMES = 20;

/**
 * The shard map of this installation (workflow id `shards`): which cluster
 * holds each shard, each change a new version, published in the `gtidflow`
 * schema of every cluster the map names and in the memo (readable without a
 * worker). Moves run as children of their own, one per shard and one into
 * a cluster at a time; the map flips when a move says so, at its cut-over.
 * Changes to the map are taken one at a time.
 */
export async function shards(initial: ShardsState): Promise<void> {
  let state = initial;
  let changing = false;
  const exclusive = async <T>(work: () => Promise<T>): Promise<T> => {
    await condition(() => !changing);
    changing = true;
    try {
      return await work();
    } finally {
      changing = false;
    }
  };
  const record = (next: ShardsState) => {
    state = next;
    upsertMemo({ shards: state });
  };
  /** A cluster's facts, or a refusal of the request with the one line that says why (an unknown cluster). */
  const read = (cluster: string) => activity('readCluster', `read cluster ${cluster} from its conductor`)({ cluster }).catch((err) => {
    throw refused(rootCauseMessage(err));
  });
  const shardNamed = (name: string) => state.map.shards.find((s) => s.name === name);
  const moveOf = (name: string) => state.moves.find((m) => m.shard === name);

  /** The map, on the primary of every cluster it names (and of `also`): from there it replicates. */
  const publishMap = async (also: string[] = []) => {
    const clusters = [...new Set([...state.map.shards.map((s) => s.cluster), ...also])];
    await Promise.all(clusters.map(async (cluster) => {
      const facts = await activity('readCluster', `read cluster ${cluster} from its conductor`, PERSISTENT)({ cluster });
      await activity('publishShardMap', `publish shard map ${state.map.version} on ${facts.primary}`, PERSISTENT)({ address: facts.primary, access: facts.access, map: state.map });
    }));
  };

  setHandler(shardsQuery, () => state);

  const addProblem = (request: AddShardRequest) => shardProblem(state.map, { ...request, ...(request.kind === 'database' && { endpoint: null }) } as Shard);
  setHandler(addShard, (request) => exclusive(async () => {
    refuseIf(addProblem(request));
    const facts = await read(request.cluster);
    const router = state.router ?? request.router ?? null;
    let shard: Shard;
    if (request.kind === 'database') {
      const { router: _router, endpoint: given, ...rest } = request;
      shard = { ...rest, endpoint: given ?? (router ? await openEndpoint(router, request.name, facts) : null) };
    } else {
      const { router: _router, endpoint: _endpoint, ...rest } = request;
      shard = rest;
    }
    record({ ...state, router, map: nextMap(state.map, new Date().toISOString(), (list) => [...list, shard]) });
    await publishMap();
    return state.map;
  }), { validator: (request) => void refuseIf(addProblem(request)) });

  /** Why a move (or split) of the shard to `to` cannot start: the checks both share. */
  const startProblem = (shardName: string, to: string): string | undefined => {
    const shard = shardNamed(shardName);
    if (!shard) return `no shard ${shardName}: gtidflow shard list shows the shards`;
    if (shard.cluster === to) return `shard ${shardName} is already on ${to}`;
    const running = moveOf(shardName);
    if (running) return `shard ${shardName} is already moving to ${running.to} (${running.workflowId})`;
    const into = state.moves.find((m) => m.to === to);
    if (into) return `shard ${into.shard} is moving into ${to} (${into.workflowId}): one move into a cluster at a time`;
    const leftover = state.leftovers.find((l) => l.cluster === to && databasesOf(shard).includes(l.database));
    if (leftover) return `${to} keeps the read-only copy of ${leftover.database} an earlier move left: run gtidflow shard cleanup ${leftover.shard} first`;
    return undefined;
  };
  const moveProblem = ({ shard, to }: MoveParams) => startProblem(shard, to)
    ?? (shardNamed(shard)?.kind === 'range' ? `shard ${shard} is a range shard: it moves by a split (gtidflow shard split)` : undefined);
  const splitProblemOf = (params: SplitParams) => {
    const problem = startProblem(params.shard, params.to);
    if (problem) return problem;
    const shard = shardNamed(params.shard)!;
    return shard.kind === 'range' ? splitProblem(state.map, shard, params) : `shard ${params.shard} is a database shard: it moves whole (gtidflow shard move)`;
  };
  /** Starts the move's workflow, recorded first: the map knows every move that may run. */
  const startMove = async (shard: Shard, input: Omit<ShardMoveInput, 'shard' | 'router'>, summary: string) => {
    await read(input.to);
    const workflowId = shardMoveWorkflowId(shard.name, ++state.moveCount);
    record({ ...state, moves: [...state.moves, { shard: shard.name, from: shard.cluster, to: input.to, workflowId, startedAt: new Date().toISOString() }] });
    await startChild<typeof shardMove>('shardMove', {
      workflowId,
      args: [{ ...input, shard, router: state.router }],
      // The map may continue as new while a move runs for hours: the move reports by signal, not as a child's result.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `${summary}${input.updateOnly ? ' (update-only)' : ''}`,
    });
    return { shard: shard.name, workflowId };
  };
  setHandler(moveShard, async (params) => {
    refuseIf(moveProblem(params));
    const shard = shardNamed(params.shard)!;
    return startMove(shard, { to: params.to, updateOnly: params.updateOnly, cleanup: params.cleanup }, `move shard ${shard.name} from ${shard.cluster} to ${params.to}`);
  }, { validator: (params) => void refuseIf(moveProblem(params)) });
  setHandler(splitShard, async (params) => {
    refuseIf(splitProblemOf(params));
    const shard = shardNamed(params.shard)!;
    return startMove(shard, { to: params.to, split: { at: params.at, as: params.as }, updateOnly: params.updateOnly },
      `split shard ${shard.name} at ${params.at}: ${params.as} on ${params.to}`);
  }, { validator: (params) => void refuseIf(splitProblemOf(params)) });

  setHandler(flipShard, ({ workflowId, shard, to, split }) => exclusive(async () => {
    const move = state.moves.find((m) => m.workflowId === workflowId);
    if (!move) return;
    if (!move.flipped) {
      record({
        ...state,
        moves: state.moves.map((m) => (m === move ? { ...m, flipped: true } : m)),
        map: nextMap(state.map, new Date().toISOString(), (list) => (split ? splitAt(list, shard, split, to) : movedTo(list, shard, to))),
      });
    }
    await publishMap([move.from]);
    await getExternalWorkflowHandle(workflowId).signal(mapPublished, state.map.version);
  }));

  setHandler(moveEnded, ({ workflowId, outcome, message, freezeMs, leftover }) => {
    const move = state.moves.find((m) => m.workflowId === workflowId);
    if (!move) return;
    const shard = shardNamed(move.shard);
    const left = leftover && shard?.kind === 'database' ? [{ shard: move.shard, cluster: move.from, database: shard.database }] : [];
    record({
      ...state,
      moves: state.moves.filter((m) => m !== move),
      outcomes: [...state.outcomes, { shard: move.shard, workflowId, outcome, message, at: new Date().toISOString(), freezeMs }].slice(-KEEP_OUTCOMES),
      leftovers: [...state.leftovers, ...left],
    });
  });

  const cancelProblem = (shard: string) => {
    const move = moveOf(shard);
    if (!move) return `shard ${shard} has no move running`;
    if (move.flipped) return `the move of shard ${shard} is past its flip: it finishes, it can no longer be cancelled`;
    return undefined;
  };
  setHandler(cancelMove, async ({ shard }) => {
    refuseIf(cancelProblem(shard));
    const move = moveOf(shard)!;
    await getExternalWorkflowHandle(move.workflowId).cancel();
    return `cancelling ${move.workflowId}: the source stays as it was, the copy on ${move.to} is removed`;
  }, { validator: ({ shard }) => void refuseIf(cancelProblem(shard)) });

  const cleanupProblem = (shard: string) => {
    if (!state.leftovers.some((l) => l.shard === shard)) return `shard ${shard} left no copy behind to clean up`;
    if (moveOf(shard)) return `shard ${shard} is moving: clean up when the move ends`;
    return undefined;
  };
  setHandler(cleanupShard, ({ shard }) => exclusive(async () => {
    refuseIf(cleanupProblem(shard));
    const leftover = state.leftovers.find((l) => l.shard === shard)!;
    const facts = await read(leftover.cluster);
    await activity('dropShardCopy', `drop ${leftover.database} on ${facts.primary}`, PERSISTENT)({ address: facts.primary, access: facts.access, data: { database: leftover.database, tables: null } });
    record({ ...state, leftovers: state.leftovers.filter((l) => l !== leftover) });
    return `dropped ${leftover.database} on ${leftover.cluster} (primary ${facts.primary})`;
  }), { validator: ({ shard }) => void refuseIf(cleanupProblem(shard)) });

  record(state);
  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > HISTORY_LIMIT);
  await condition(() => allHandlersFinished() && !changing);
  await continueAsNew<typeof shards>(state);
}

/** A request refused: the update fails with this one line (a plain Error would fail the workflow task instead). */
function refused(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'Refused');
}

function refuseIf(problem: string | undefined): void {
  if (problem) throw refused(problem);
}

/** A database shard's own endpoint: opened on the router (the sandbox's is reloaded) and routed to the cluster's primary. */
async function openEndpoint(router: NonNullable<ShardsState['router']>, shard: string, facts: ClusterFacts) {
  const servers = facts.servers.map((s) => s.address);
  const { endpoint } = await activity('openShardEndpoint', `open the endpoint of shard ${shard}`, PERSISTENT)({ router, shard, servers, writer: facts.primary });
  await activity('routeShard', `route shard ${shard} to ${facts.primary}`, PERSISTENT)({ router, shard, servers, writer: facts.primary });
  return endpoint;
}
