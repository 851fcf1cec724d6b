import { ApplicationFailure } from '@temporalio/workflow';
import type { OperationContext } from '../../model';
import { activity, waiting } from '../../steps';

/** Waits until `address` has applied everything the primary has now; `otherwise` says what a timeout means for it. */
export async function catchUpWithPrimary(input: OperationContext, address: string, timeoutSeconds: number, otherwise: string, step: (s: string) => void): Promise<void> {
  const { access } = input.config;
  const { executed } = await activity('getServerState', `position of ${input.primary}`)({ address: input.primary, access });
  step(`waiting for ${address} to apply ${executed}`);
  const caughtUp = await activity('waitForGtid', `${address} applies ${executed}`, waiting(timeoutSeconds))({ address, access, gtid: executed, timeoutSeconds });
  if (!caughtUp.reached) throw ApplicationFailure.nonRetryable(`${address} did not catch up within ${timeoutSeconds} s${otherwise}`, 'CatchUpTimeout');
}
