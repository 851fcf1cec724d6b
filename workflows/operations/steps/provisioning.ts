import type { ProvisionMethod } from '../../../activities/provision';
import { donorCandidates, pickDonor } from '../../logic/donor';
import { gtidErrant } from '../../logic/gtid';
import type { OperationContext } from '../../model';
import { activity } from '../../steps';
import { cloneThroughAgents } from './clone';

/**
 * Where a copy comes from: the donor the operator named, else the replica
 * with the least lag (read now; one that does not answer, or holds errant
 * transactions, is passed over: they would be copied), else the primary.
 */
export async function chooseDonor(input: OperationContext, target: string, named: string | undefined): Promise<string> {
  if (named) return named;
  const { access } = input.config;
  const read = await Promise.all(donorCandidates(input.servers, input.primary, target)
    .map((address) => activity('getServerState', `lag of ${address}`, { startToCloseTimeout: '5 seconds', retry: { maximumAttempts: 1 } })({ address, access }).catch(() => undefined)));
  const replicas = read.filter((s): s is NonNullable<typeof s> => s !== undefined && !(input.primaries && gtidErrant(s.flavor, s.history, input.primaries)));
  return replicas.length ? pickDonor(replicas[0].flavor, replicas, input.primary) : input.primary;
}

/**
 * Replaces `target`'s data with a copy of `donor`'s and its GTID position:
 * a physical clone through the host agents when the cluster has them and
 * the method is clone; else the provision activity (a dump, the operator's
 * script, MySQL's CLONE). `label` names the copy within the operation.
 */
export async function provisionFrom(input: OperationContext, target: string, donor: string, method: ProvisionMethod, label: string, step: (s: string) => void): Promise<void> {
  // The agents copy with mariadb-backup: a MySQL cluster's clone is its CLONE INSTANCE, agents or not.
  if (method === 'clone' && input.config.agents && (await activity('getServerState', `flavor of ${donor}`)({ address: donor, access: input.config.access })).flavor === 'mariadb') {
    return cloneThroughAgents(input, target, donor, label, step);
  }
  await activity('provision', `copy ${donor} onto ${target}`, { startToCloseTimeout: '6 hours', heartbeatTimeout: '10 seconds', retry: { maximumAttempts: 3 } })(
    { address: target, access: input.config.access, source: donor, method });
}
