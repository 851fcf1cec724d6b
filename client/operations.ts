import { type Client, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import {
  acknowledge, addServer, changeServer, clusterWorkflowId, progressQuery, rejoinServer, removeServer, requestOperation as requestOperationUpdate, stateQuery,
  type AddServerRequest, type OperationRequest, type OperationStarted, type RejoinRequest, type RemoveServerRequest, type ServerChangeRequest,
} from '../workflows/api';
import { memoIn } from './memo';
import type { ClusterState, OperationResult } from '../workflows/model';
import { oneLine } from './connect';
import { sleep } from './local/ports';

/** Asks the cluster's conductor for an operation; a refusal (busy, unknown server) comes back as one line. */
export function requestOperation(client: Client, cluster: string, request: OperationRequest): Promise<OperationStarted> {
  return conductorUpdate(client, cluster, requestOperationUpdate, request, request.kind);
}

/** Asks for a change of one server's status, penalty or capability; refused with the reason (the matrix, busy, unknown server). */
export function requestServerChange(client: Client, cluster: string, change: ServerChangeRequest): Promise<OperationStarted> {
  return conductorUpdate(client, cluster, changeServer, change, 'change');
}

export function requestAddServer(client: Client, cluster: string, request: AddServerRequest): Promise<OperationStarted> {
  return conductorUpdate(client, cluster, addServer, request, 'add');
}

export function requestRemoveServer(client: Client, cluster: string, request: RemoveServerRequest): Promise<OperationStarted> {
  return conductorUpdate(client, cluster, removeServer, request, 'remove');
}

/** Asks for a returning FAULTY server to rejoin. */
export function requestRejoin(client: Client, cluster: string, request: RejoinRequest): Promise<OperationStarted> {
  return conductorUpdate(client, cluster, rejoinServer, request, 'rejoin');
}

/** An operator's acknowledgement of an automatic failover: the conductor's answer, one line. */
export function acknowledgeFailover(client: Client, cluster: string): Promise<string> {
  return client.workflow.getHandle(clusterWorkflowId(cluster)).executeUpdate(acknowledge);
}

/** The conductor's whole recorded state (views included); needs a worker to answer. */
export function conductorState(client: Client, cluster: string): Promise<ClusterState> {
  return client.workflow.getHandle(clusterWorkflowId(cluster)).query(stateQuery);
}

async function conductorUpdate<A>(client: Client, cluster: string, update: UpdateDefinition<OperationStarted, [A]>, arg: A, what: string): Promise<OperationStarted> {
  const handle = client.workflow.getHandle(clusterWorkflowId(cluster));
  try {
    return await handle.executeUpdate(update, { args: [arg] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new Error(`${what} refused: ${oneLine(err.cause ?? err)}`);
    if ((err as Error).name === 'WorkflowNotFoundError') throw new Error(`unknown cluster "${cluster}": register it with gtidflow cluster apply -f`);
    throw err;
  }
}

/**
 * The conductor records an operation's end (clears its running operation)
 * a moment after the operation's result arrives: waits until it no longer
 * shows this one as running, so that a command that returned has finished
 * and the next one is not refused as busy. Bounded: a conductor that is
 * missing or does not answer never hangs the CLI.
 */
async function untilConductorRecorded(client: Client, workflowId: string, timeoutMs = 10_000): Promise<void> {
  const slash = workflowId.indexOf('/');
  if (slash < 0) return; // not an operation of a conductor (cluster:<name>/<kind>/<id>)
  const conductor = client.workflow.getHandle(workflowId.slice(0, slash));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const description = await client.connection.withDeadline(Math.max(deadline, Date.now() + 1_000), () => conductor.describe());
      if (description.status.name !== 'RUNNING' || memoIn(description)?.operation?.workflowId !== workflowId) return;
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError') return;
      // a transient error: look again until the deadline
    }
    if (Date.now() >= deadline) return;
    await sleep(50);
  }
}

/**
 * Follows an operation step by step (its `progress` query) until it ends
 * and its conductor has recorded the end; rejects with the operation's own
 * reason when it fails.
 */
export async function followOperation(client: Client, workflowId: string, print: (line: string) => void): Promise<OperationResult> {
  const handle = client.workflow.getHandle(workflowId);
  let shown = 0;
  const showNew = async () => {
    try {
      // A query waits for a worker to answer; without one it gives up, and the result still comes.
      const steps = await client.connection.withDeadline(Date.now() + 2_000, () => handle.query(progressQuery));
      for (; shown < steps.length; shown++) print(steps[shown]);
    } catch {
      // the workflow is gone or the query failed: the result still comes
    }
  };
  const result = handle.result() as Promise<OperationResult>;
  let done = false;
  void result.finally(() => (done = true)).catch(() => undefined);
  while (!done) {
    await showNew();
    await Promise.race([result.catch(() => undefined), sleep(300)]);
  }
  await showNew();
  await untilConductorRecorded(client, workflowId);
  try {
    return await result;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      let cause: Error | undefined = err.cause;
      while (cause && (cause as { cause?: Error }).cause) cause = (cause as { cause?: Error }).cause;
      throw new Error(`${workflowId} failed: ${oneLine(cause ?? err)}`);
    }
    throw err;
  }
}
