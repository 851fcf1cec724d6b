import { ActivityOptions, proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { ClusterActivities } from '../activities/clusters';
import type { AgentActivities } from '../agent/activities';
import { agentTaskQueue } from './api';

type Activities = typeof activities & ClusterActivities;

/**
 * Steps that should succeed within seconds; a dead server fails them fast.
 * The timeout is also how long a worker killed mid-step delays the retry.
 */
export const QUICK: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '2 seconds', maximumAttempts: 5 },
};

/**
 * One try, short: fencing a primary that is probably dead. Never handed
 * to the scheduling worker directly (eager dispatch): a step it took and
 * died with would time out untried; from the task queue, another worker
 * takes it.
 */
export const BEST_EFFORT: ActivityOptions = {
  startToCloseTimeout: '5 seconds',
  retry: { maximumAttempts: 1 },
  allowEagerDispatch: false,
};

/** Past the point of no return a step keeps trying: the cluster must end whole. */
export const PERSISTENT: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds', maximumAttempts: 20 },
};

/**
 * After the point of no return (a server promoted), the steps that make the
 * cluster whole around it (the writer routed to it) retry until they succeed.
 */
export const ROLL_FORWARD: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds' },
};

/**
 * Installing a freeze waits for each table's metadata lock (a few seconds
 * at most per table, activities/freeze.ts): a retry resumes where the last
 * try stopped. It heartbeats, so a worker that dies in it costs seconds,
 * not the whole timeout (a shard's cut-over holds its clusters meanwhile).
 */
export const FREEZING: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 8 },
};

/** Waits heartbeat; a worker that dies mid-wait is noticed within the heartbeat timeout. */
export function waiting(timeoutSeconds: number): ActivityOptions {
  return {
    startToCloseTimeout: `${timeoutSeconds + 30} seconds`,
    heartbeatTimeout: '5 seconds',
    retry: { initialInterval: '500 milliseconds', maximumAttempts: 3 },
  };
}

/** An activity with a summary of this very call, shown in the Web UI's event history. */
export function activity<K extends keyof Activities>(name: K, summary: string, options: ActivityOptions = QUICK): Activities[K] {
  return proxyActivities<Activities>({ ...options, summary })[name];
}

/**
 * A step of the host agent beside `address` (its own task queue). An agent
 * that does not poll fails the step after `scheduleToStartTimeout` (no
 * retry: nobody took it), which the caller turns into one line.
 */
export function agentActivity<K extends keyof AgentActivities>(address: string, name: K, summary: string, options: ActivityOptions = QUICK): AgentActivities[K] {
  return proxyActivities<AgentActivities>({ scheduleToStartTimeout: '15 seconds', ...options, taskQueue: agentTaskQueue(address), summary })[name];
}
