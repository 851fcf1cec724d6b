import { ActivityFailure, ApplicationFailure, TimeoutFailure, workflowInfo } from '@temporalio/workflow';
import { AGENT_PROTOCOL, agentTaskQueue } from '../../api';
import type { OperationContext } from '../../model';
import { activity, agentActivity } from '../../steps';
import type { AgentStatus } from '../../../agent/activities';

const task = { protocol: AGENT_PROTOCOL };
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

/**
 * A physical clone through the host agents: the target's agent checks it
 * has room, receives a mariadb-backup stream from the donor's agent,
 * prepares it, swaps it in for its datadir and restarts mariadbd; then the
 * server takes the copy's GTID position. Each step is idempotent on the
 * agent (a retried copy starts again, a finished one is not redone), and
 * `label` names this clone within the operation.
 */
export async function cloneThroughAgents(input: OperationContext, target: string, donor: string, label: string, step: (s: string) => void): Promise<void> {
  const cloneId = `${workflowInfo().workflowId}/${label}`;
  const donorStatus = await besideIts(input, donor, await reachAgent(donor, () => agentActivity(donor, 'agentStatus', `the agent of ${donor}`)(task)));
  await besideIts(input, target, await reachAgent(target, () => agentActivity(target, 'agentStatus', `the agent of ${target}`)(task)));
  await agentActivity(target, 'checkCloneRoom', `room on ${target} for ${mb(donorStatus.dataBytes)}`)({ ...task, bytes: donorStatus.dataBytes });
  step(`cloning ${donor} onto ${target}: copying ${mb(donorStatus.dataBytes)}`);
  await agentActivity(target, 'receiveClone', `copy ${donor} onto ${target}`, {
    startToCloseTimeout: '6 hours', heartbeatTimeout: '5 seconds', scheduleToStartTimeout: '15 seconds', retry: { initialInterval: '1 second', maximumAttempts: 5 },
  })({ ...task, cloneId, donorServer: donor, donor: donorStatus.transfer, expectedBytes: donorStatus.dataBytes });
  step(`cloning ${donor} onto ${target}: preparing the copy`);
  await agentActivity(target, 'prepareClone', `prepare the copy on ${target}`, { startToCloseTimeout: '2 hours', heartbeatTimeout: '5 seconds', retry: { maximumAttempts: 3 } })({ ...task, cloneId });
  step(`cloning ${donor} onto ${target}: swapping it in and restarting mariadbd`);
  const { gtid } = await agentActivity(target, 'installClone', `swap the copy in on ${target}`, { startToCloseTimeout: '10 minutes', heartbeatTimeout: '5 seconds', retry: { initialInterval: '1 second', maximumAttempts: 5 } })({ ...task, cloneId });
  await activity('adoptClonePosition', `${target} takes the copy's position ${gtid}`)({ address: target, access: input.config.access, gtid });
}

/**
 * The agent polling host:<address> must sit beside that very server (a
 * config copied from another host would copy or replace the wrong data):
 * the server answering on its socket has the server_id the address has.
 */
async function besideIts(input: OperationContext, address: string, status: AgentStatus): Promise<AgentStatus> {
  const { serverId } = await activity('getServerState', `server_id of ${address}`)({ address, access: input.config.access });
  if (status.serverId !== serverId) {
    throw ApplicationFailure.nonRetryable(`the agent polling ${agentTaskQueue(address)} serves server_id ${status.serverId ?? 'none'}, ${address} has ${serverId}: its config names the wrong server; nothing copied`, 'WrongAgent');
  }
  return status;
}

/** An agent that does not poll its queue: one line that says which and what to run, not a timeout. */
export async function reachAgent<T>(address: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) {
      throw ApplicationFailure.nonRetryable(`no host agent answers for ${address} (task queue ${agentTaskQueue(address)}): start \`gtidflow agent\` there`, 'NoAgent');
    }
    throw err;
  }
}
