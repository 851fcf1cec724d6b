/**
 * A deliberately incompatible release, for the replay test to catch: every
 * workflow as today, but a conductor that waits a moment before it
 * publishes its state, a command no recorded history has at that point.
 */
import { sleep } from '@temporalio/workflow';
import { cluster as current } from '../../../workflows/cluster';
import type { ClusterState } from '../../../workflows/model';

export * from '../../../workflows';

export async function cluster(initial: ClusterState): Promise<void> {
  await sleep('1 second');
  return current(initial);
}
