import { ApplicationFailure } from '@temporalio/workflow';
import { notAServer } from '../../logic/address';
import { checkTransition } from '../../logic/status';
import type { ServerRecord } from '../../model';

/** An operator-named server may become PRIMARY only as the status matrix allows (a SPARE, when named; never FAULTY). */
export function refuseIllegalPromotion(servers: ServerRecord[], candidate: string): void {
  const record = servers.find((s) => s.address === candidate);
  if (!record) throw ApplicationFailure.nonRetryable(notAServer(candidate), 'NoCandidate');
  const check = checkTransition(record.status, 'PRIMARY', 'promote', { named: true });
  if (!check.ok) throw ApplicationFailure.nonRetryable(check.reason, 'IllegalTransition');
}
