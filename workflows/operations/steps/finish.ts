import { ApplicationFailure, log, type ActivityOptions } from '@temporalio/workflow';
import type { HookEvent } from '../../../activities/hooks';
import { rootCauseMessage } from '../../errors';
import type { Hooks, OperationContext, ServerRecord } from '../../model';
import { activity, PERSISTENT } from '../../steps';

/** Writes a view (by default the one this operation makes: the next id) into the gtidflow schema on the primary. */
export async function publishView(input: OperationContext, primary: string, servers: ServerRecord[], viewId = input.viewId + 1, options: ActivityOptions = PERSISTENT): Promise<void> {
  const view = {
    cluster: input.config.name,
    viewId,
    primary,
    servers: servers.map((s) => ({ address: s.address, status: s.status, penalty: s.penalty, capability: s.capability, databases: s.databases })),
  };
  await activity('publishTopology', `publish view ${view.viewId} on ${primary}`, options)({ address: primary, access: input.config.access, view });
}

const HOOKS: Record<HookEvent['event'], keyof Hooks> = {
  'before-failover': 'beforeFailover',
  'after-failover': 'afterFailover',
  'after-switchover': 'afterSwitchover',
};

/**
 * Runs the operator's hooks for an event. Before a failover a non-zero exit
 * aborts it; after an operation a failing hook is logged, the operation stands.
 */
export async function runHooks(input: OperationContext, event: HookEvent['event'], newPrimary: string | null): Promise<void> {
  const payload: HookEvent = { event, cluster: input.config.name, oldPrimary: input.primary, newPrimary, viewId: input.viewId + (newPrimary ? 1 : 0) };
  for (const command of input.config.hooks[HOOKS[event]]) {
    const message = await runHook(command, event, payload);
    if (!message) continue;
    if (event === 'before-failover') throw ApplicationFailure.nonRetryable(`failover aborted: ${message}`, 'HookAborted');
    log.warn(message);
  }
}

/** Why a hook failed (its exit code, or the step itself failing), or undefined when it succeeded. */
async function runHook(command: string, event: HookEvent['event'], payload: HookEvent): Promise<string | undefined> {
  try {
    const result = await activity('runHook', `${event} hook: ${command}`, { startToCloseTimeout: '90 seconds', heartbeatTimeout: '10 seconds', retry: { maximumAttempts: 1 } })({ command, event: payload });
    return result.exitCode === 0 ? undefined : `${event} hook "${command}" exited ${result.exitCode}${result.output ? `: ${result.output}` : ''}`;
  } catch (err) {
    return `${event} hook "${command}" did not run to its end: ${rootCauseMessage(err)}`;
  }
}
