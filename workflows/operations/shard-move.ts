import {
  ActivityCancellationType, ApplicationFailure, CancellationScope, condition, getExternalWorkflowHandle, isCancellation, setHandler, sleep, workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ClusterFacts } from '../../activities/clusters';
import type { FreezeSpec } from '../../activities/freeze';
import type { ShardRouter } from '../../activities/router/shard-endpoint';
import { flipShard, mapPublished, moveEnded, SHARDS_WORKFLOW_ID } from '../api';
import { rootCauseMessage } from '../errors';
import { channelName, movedData, movedTables, moveFreezeName, type MovedData } from '../logic/shards';
import type { Shard } from '../shard-model';
import { activity, BEST_EFFORT, FREEZING, PERSISTENT, QUICK } from '../steps';
import { trackProgress } from './steps/progress';

export interface ShardMoveInput {
  /** A database shard moves whole; a range shard only by a split. */
  shard: Shard;
  to: string;
  router: ShardRouter | null;
  /** A split: the upper part [at, hi) of the range shard becomes shard `as` on `to`. */
  split?: { at: number; as: string };
  updateOnly?: boolean;
  cleanup?: boolean;
}

export interface ShardMoveResult {
  summary: string;
  mapVersion: number;
  freezeMs?: number;
}

/** A copy heartbeats every 2 s while it streams; it may take hours. */
const COPYING: ActivityOptions = {
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
  // A cancelled move rolls back only once the copy has stopped (its dump and load killed), or the load would refill what the rollback dropped.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};
/** Deleting a split's rows heartbeats per batch; after the flip it must finish (onPrimaryOf tries again on the primary of then). */
const DELETING: ActivityOptions = { ...PERSISTENT, startToCloseTimeout: '2 hours', heartbeatTimeout: '1 minute' };
/** A read of a position takes milliseconds: under the freeze, a worker that died in it is waited for 5 s, not 10. */
const READING: ActivityOptions = { ...QUICK, startToCloseTimeout: '5 seconds' };
/** Cut-overs that ran past half their hold, in a row, before the move gives up and rolls back (a freeze that always takes that long). */
const LATE_CUT_OVERS = 3;
/** How long the cut-over may hold both clusters: freeze, final wait, flip, route, thaw. */
const HOLD_SECONDS = 60;
/** The last wait under the freeze: past it, writes are allowed again and the catch-up goes on. */
const FINAL_WAIT_SECONDS = 10;

const holderOf = (moveId: string) => `shard move ${moveId}`;

/**
 * Moves a shard's data to another cluster (workflow id
 * shards/move/<shard>/<n>, a child of the map): check, copy from a source
 * replica, catch up through a filtered replication connection on the
 * destination's primary, then a short cut-over: writes frozen on the
 * source, the destination caught up to the freeze, the map flipped, the
 * shard's endpoint routed to the destination, writes allowed there. A
 * split carries the range shard's tables whole, and once flipped deletes
 * on each side the rows the other holds. Before the flip, a failure or a
 * cancellation rolls back (the destination's copy and connection removed,
 * the source thawed); after it, every step rolls forward. Each cluster's
 * primary is read from its conductor at every step, so a failover of
 * either cluster is followed.
 */
export async function shardMove(input: ShardMoveInput): Promise<ShardMoveResult> {
  const step = trackProgress();
  const { shard, to, split } = input;
  const from = shard.cluster;
  const data = movedData(shard, split);
  const what = describe(data);
  const moveId = workflowInfo().workflowId;
  const channel = channelName(shard.name);
  const freezeName = moveFreezeName(split?.as ?? shard.name);
  const map = getExternalWorkflowHandle(SHARDS_WORKFLOW_ID);
  let published: number | undefined;
  setHandler(mapPublished, (version) => void (published = version));
  let flipped = false;
  const read = (cluster: string) => activity('readCluster', `read cluster ${cluster} from its conductor`)({ cluster });
  const both = async () => Promise.all([read(from), read(to)]);

  /** Tells the map (from then on the move only rolls forward); `published` resolves with the version the map then published. */
  const flip = async (): Promise<{ published: Promise<number> }> => {
    flipped = true;
    await map.signal(flipShard, { workflowId: moveId, shard: shard.name, to, split });
    return { published: condition(() => published !== undefined).then(() => published!) };
  };
  const end = async (outcome: 'completed' | 'failed' | 'cancelled', message: string, extra: { freezeMs?: number; leftover?: boolean } = {}) =>
    map.signal(moveEnded, { workflowId: moveId, outcome, message, ...extra });
  const done = split ? `shard ${shard.name} split at ${split.at}: ${split.as} on ${to}` : `shard ${shard.name} moved from ${from} to ${to}`;

  try {
    if (input.updateOnly) {
      step(`update-only: the map records ${split ? `${split.as} [${split.at}, …) on ${to}` : `shard ${shard.name} on ${to}`}; no data moves, no endpoint changes`);
      const version = await (await flip()).published;
      const summary = `${split ? `shard ${split.as} [${split.at}, …) of ${shard.name}` : `shard ${shard.name}`} recorded on ${to} (update-only): map version ${version}`;
      step(`done: ${summary}`);
      await end('completed', summary);
      return { summary, mapVersion: version };
    }

    step(`checking clusters ${from} and ${to}`);
    let [src, dst] = await both();
    const present = await activity('shardDataPresent', `look for ${what} on ${dst.primary}`)({ address: dst.primary, access: dst.access, data });
    if (present.length) throw ApplicationFailure.nonRetryable(`cluster ${to} already holds ${present.join(', ')}: a move never overwrites data`, 'DestinationNotEmpty');
    const donor = donorOf(src);
    step(`copying ${what} from ${donor} (a replica of ${from}) to ${dst.primary}`);
    const copy = await activity('copyShard', `copy ${what} from ${donor} to ${dst.primary}`, COPYING)({
      address: dst.primary, access: dst.access, data, donor, donorAccess: src.access,
    });
    step(`copied ${copy.bytes} bytes (about ${copy.rows} rows), up to ${copy.position}; catching up through ${channel} on ${dst.primary}`);

    let channelOn: string | undefined;
    let freezeMs: number | undefined;
    let mapVersion = 0;
    let lateCutOvers = 0;
    const freeze: FreezeSpec = { database: data.database, ...(data.tables && { tables: data.tables }), ...(data.key && { key: data.key }) };
    for (;;) {
      [src, dst] = await both();
      if (channelOn && channelOn !== dst.primary) {
        step(`${to}'s primary is now ${dst.primary}: the catch-up moves there`);
        await activity('removeShardChannel', `stop ${channel} on ${channelOn}`, BEST_EFFORT)({ address: channelOn, access: dst.access, channel }).catch(() => undefined);
      }
      await activity('startShardChannel', `replicate ${what} from ${src.primary} into ${dst.primary}`)({
        address: dst.primary, access: dst.access, channel, source: src.primary, sourceAccess: src.access, tables: movedTables(data), from: copy.position,
      });
      // A connection stopped by an error fails the next round's start (startShardChannel): the move then rolls back.
      channelOn = dst.primary;
      if (!(await caughtUp(src, dst, 5))) continue;

      // The cut-over, under a hold of both conductors: no switchover starts meanwhile (a failover may; then it is done again).
      const holder = holderOf(moveId);
      const [srcHold, dstHold] = await Promise.all([src, dst].map((c) => activity('holdCluster', `hold ${c.name} for the cut-over`, PERSISTENT)({ cluster: c.name, holder, seconds: HOLD_SECONDS })));
      const heldAt = Date.now();
      if (srcHold.primary !== src.primary || dstHold.primary !== dst.primary) {
        await releaseBoth(input);
        continue;
      }
      step(`cutting over: freezing writes to ${what} on ${src.primary}`);
      const frozenAt = Date.now();
      await activity('freezeWrites', `freeze writes to ${what} on ${src.primary}`, FREEZING)({
        address: src.primary, access: src.access, freeze, name: freezeName, reason: `shard ${split?.as ?? shard.name} moves to ${to}`,
      });
      const reached = await caughtUp(src, dst, FINAL_WAIT_SECONDS);
      const source = await read(from);
      const failedOver = source.primary !== src.primary;
      // The flip needs half the hold still ahead (a worker that died in the cut-over costs its steps' timeouts): else the cut-over starts again.
      const late = Date.now() - heldAt > (HOLD_SECONDS * 1000) / 2;
      if (!reached || failedOver || late) {
        // Not there in time, or the source failed over meanwhile: writes go on (thawed on whichever server is its primary now), and the cut-over is tried again.
        step(!reached ? `${dst.primary} did not reach the freeze within ${FINAL_WAIT_SECONDS} s: writes allowed again, catching up`
          : failedOver ? `${from} failed over to ${source.primary} during the cut-over: writes allowed again, catching up from there`
            : `the cut-over took more than half its ${HOLD_SECONDS} s hold: writes allowed again, trying again`);
        await activity('thawWrites', `thaw writes to ${what} on ${source.primary}`, FREEZING)({ address: source.primary, access: source.access, database: data.database, name: freezeName });
        await releaseBoth(input);
        lateCutOvers = reached && !failedOver ? lateCutOvers + 1 : 0;
        if (lateCutOvers >= LATE_CUT_OVERS) {
          throw ApplicationFailure.nonRetryable(`the cut-over took more than half its ${HOLD_SECONDS} s hold ${LATE_CUT_OVERS} times in a row (freezing ${what} is that slow)`, 'CutOverTooSlow');
        }
        continue;
      }
      await activity('removeShardChannel', `stop ${channel} on ${dst.primary}`)({ address: dst.primary, access: dst.access, channel });
      step(`${dst.primary} holds every write to ${what}: flipping the map`);
      // The flip is recorded once the map has the signal; while it publishes the new version on the clusters,
      // the endpoint moves and the destination takes writes (the source stays frozen: no write can go there meanwhile).
      const { published: publishedVersion } = await flip();
      await Promise.all([
        input.router && shard.kind === 'database' && onPrimaryOf(to, (target) => activity('routeShard', `route shard ${shard.name} to ${target.primary}`, PERSISTENT)({
          router: input.router!, shard: shard.name, servers: target.servers.map((s) => s.address), writer: target.primary,
        }), dst),
        // The freeze replicated to the destination with the data: lifted there, writes are allowed.
        onPrimaryOf(to, (target) => activity('thawWrites', `allow writes to ${what} on ${target.primary}`, PERSISTENT)({
          address: target.primary, access: target.access, database: data.database, name: freezeName,
        }), dst),
      ]);
      freezeMs = Date.now() - frozenAt;
      mapVersion = await publishedVersion;
      await releaseBoth(input);
      break;
    }
    step(`writes to ${what} go to ${dst.primary} (map version ${mapVersion}); the freeze lasted ${freezeMs} ms`);
    if (split) {
      // Each row on one cluster: the destination's copy keeps its range, the source loses it (still frozen there: a write to a moved key is refused).
      step(`deleting the rows outside [${split.at}, …) on ${to}, and those inside on ${from}`);
      await onPrimaryOf(to, (target) => activity('deleteShardRows', `delete rows outside the range on ${target.primary}`, DELETING)({ address: target.primary, access: target.access, data, inside: false }));
      await onPrimaryOf(from, (source) => activity('deleteShardRows', `delete the moved rows on ${source.primary}`, DELETING)({ address: source.primary, access: source.access, data, inside: true }));
    } else if (input.cleanup) {
      step(`cleanup: dropping ${what} on ${from}`);
      await onPrimaryOf(from, (source) => activity('dropShardCopy', `drop ${what} on ${source.primary}`, PERSISTENT)({ address: source.primary, access: source.access, data }));
    }
    const summary = `${done}: map version ${mapVersion}, writes frozen ${freezeMs} ms` +
      (split || input.cleanup ? '' : `; ${from} keeps a read-only copy (gtidflow shard cleanup ${shard.name})`);
    step(`done: ${summary}`);
    await end('completed', summary, { freezeMs, leftover: !split && !input.cleanup });
    return { summary, mapVersion, freezeMs };
  } catch (err) {
    const cancelled = isCancellation(err);
    await CancellationScope.nonCancellable(async () => {
      if (!flipped) await rollBack(input, data, freezeName, step);
      await end(cancelled ? 'cancelled' : 'failed', `${cancelled ? 'cancelled' : 'failed'}: ${rootCauseMessage(err)}${flipped ? '' : '; rolled back: the source unchanged and writable'}`);
    });
    throw err;
  }

  /**
   * After the flip a step must finish on a cluster's primary: when it fails
   * (that server failed over meanwhile), the primary is read again from the
   * conductor and the step tried there, until it succeeds; 2 s apart at
   * first, a minute at most (a withheld failover may take an operator).
   */
  async function onPrimaryOf<T>(cluster: string, run: (facts: ClusterFacts) => Promise<T>, known?: ClusterFacts): Promise<T> {
    for (let facts = known ?? await read(cluster), pause = 2; ; facts = await read(cluster), pause = Math.min(60, pause * 2)) {
      try {
        return await run(facts);
      } catch (err) {
        if (isCancellation(err)) throw err;
        step(`${rootCauseMessage(err)}: reading ${cluster}'s primary again in ${pause} s`);
        await sleep(`${pause} seconds`);
      }
    }
  }

  /** Whether the destination's primary has applied everything the source's primary has (it waits up to `seconds`). */
  async function caughtUp(src: ClusterFacts, dst: ClusterFacts, seconds: number): Promise<boolean> {
    const { executed } = await activity('getServerState', `read ${src.primary}'s position`, READING)({ address: src.primary, access: src.access });
    const waited = await activity('waitForGtid', `wait for ${dst.primary} to reach ${executed}`, waitOptions(seconds))({ address: dst.primary, access: dst.access, gtid: executed, timeoutSeconds: seconds });
    if (!waited.reached) await sleep('1 second');
    return waited.reached;
  }
}

/**
 * Before the flip nothing of the move may stay: the destination's
 * connection and copy go (its primary, whichever it is now), the source is
 * thawed (its primary now: the freeze replicated to its replicas).
 */
async function rollBack(input: ShardMoveInput, data: MovedData, freezeName: string, step: (line: string) => void): Promise<void> {
  const { shard, to } = input;
  const channel = channelName(shard.name);
  step(`rolling back: removing the copy on ${to}, thawing ${shard.cluster}`);
  const read = (cluster: string) => activity('readCluster', `read cluster ${cluster} from its conductor`, PERSISTENT)({ cluster });
  const [src, dst] = await Promise.all([read(shard.cluster), read(to)]);
  await activity('removeShardChannel', `stop ${channel} on ${dst.primary}`, PERSISTENT)({ address: dst.primary, access: dst.access, channel });
  await activity('dropShardCopy', `drop ${describe(data)} on ${dst.primary}`, PERSISTENT)({ address: dst.primary, access: dst.access, data });
  await activity('thawWrites', `thaw writes to ${describe(data)} on ${src.primary}`, PERSISTENT)({ address: src.primary, access: src.access, database: data.database, name: freezeName });
  await releaseBoth(input);
}

/** Ends the cut-over's hold of both conductors (twice is the same; a lost release would keep them held until the hold ends). */
async function releaseBoth({ shard, to }: ShardMoveInput): Promise<void> {
  const holder = holderOf(workflowInfo().workflowId);
  await Promise.all([shard.cluster, to].map((cluster) => activity('releaseCluster', `release ${cluster}`)({ cluster, holder }).catch(() => false)));
}

function describe(data: MovedData): string {
  return data.tables ? data.tables.map((t) => `${data.database}.${t}`).join(', ') : data.database;
}

/** The copy comes from a replica (a SECONDARY), so the primary's load is spared; a cluster without one gives its primary. */
function donorOf(cluster: ClusterFacts): string {
  return cluster.servers.find((s) => s.status === 'SECONDARY')?.address ?? cluster.primary;
}

/** The waits heartbeat every second: a worker that dies in one under the freeze costs 5 s of it, not the timeout. */
function waitOptions(seconds: number): ActivityOptions {
  return { ...QUICK, startToCloseTimeout: `${seconds + 10} seconds`, heartbeatTimeout: '5 seconds' };
}
