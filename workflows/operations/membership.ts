import { ApplicationFailure } from '@temporalio/workflow';
import { publishView } from './steps/finish';
import { joinProblems } from '../logic/joining';
import type { OperationInput, OperationResult, ServerRecord } from '../model';
import { trackProgress } from './steps/progress';
import { route } from './steps/routing';
import { catchUpWithPrimary } from './steps/catch-up';
import { chooseDonor, provisionFrom } from './steps/provisioning';
import { activity, PERSISTENT } from '../steps';
import { since } from '../versions';
import { gtidErrant } from '../logic/gtid';

const CATCH_UP_SECONDS = 300;

/**
 * Adds a server: it must suit the cluster (flavor, its own server_id, binlog
 * and GTID settings); provisioned from a replica (or the primary) if asked,
 * else checked not to hold transactions the primary lacks; read-only,
 * replicating from the primary, caught up; then routed and published.
 */
export async function addServer(input: OperationInput<'addServer'>): Promise<OperationResult> {
  const { join } = input;
  const step = trackProgress();
  const address = input.target;
  const { access } = input.config;
  const record: ServerRecord = { address, status: join.status, penalty: join.penalty, capability: 'read-write', databases: {} };
  const servers = [...input.servers, record];
  if (input.updateOnly) {
    step(`recorded ${address} as ${record.status} (update-only: no server touched)`);
    return { primary: input.primary, servers, summary: `${address} added (update-only)` };
  }

  step(`checking ${address}`);
  const config = await activity('checkServerConfig', `settings of ${address}`)({ address, access });
  const primary = await activity('checkServerConfig', `settings of ${input.primary}`)({ address: input.primary, access });
  const others = await Promise.all(input.servers.filter((s) => s.status !== 'FAULTY' && s.address !== input.primary)
    .map((s) => activity('checkServerConfig', `server_id of ${s.address}`)({ address: s.address, access }).catch(() => undefined)));
  const problems = joinProblems(config, primary.flavor, [primary, ...others].filter((c) => c !== undefined).map((c) => c!.serverId));
  if (problems.length) throw ApplicationFailure.nonRetryable(`${address} cannot join: ${problems.join('; ')}`, 'NotJoinable');

  if (join.provision !== 'none') {
    const checked = since.provisioning();
    if (checked && !join.reprovision) {
      const lost = await transactionsOnlyOn(input, address);
      if (lost) throw ApplicationFailure.nonRetryable(`${address} not provisioned, nothing changed: ${lost}; add it with --reprovision to replace its data`, 'Diverged');
    }
    if (checked) {
      // Its data is replaced next: a write it took during the copy would be lost.
      await activity('setReadOnly', `read_only on ${address}`)({ address, access, readOnly: true });
      await activity('killClientConnections', `end client sessions on ${address}`)({ address, access });
    }
    const donor = checked ? await chooseDonor(input, address, join.donor) : input.servers.find((s) => s.status === 'SECONDARY')?.address ?? input.primary;
    step(`provisioning ${address} from ${donor} (${join.provision})`);
    await provisionFrom(input, address, donor, join.provision, 'provision', step);
  } else {
    const check = await activity('checkJoinable', `does ${address} hold transactions ${input.primary} lacks?`)({ address, access, source: input.primary });
    if (!check.joinable) throw ApplicationFailure.nonRetryable(`${address} cannot join without provisioning: ${check.reason}`, 'Diverged');
  }

  step(`pointing ${address} at ${input.primary}`);
  await activity('setReadOnly', `read_only on ${address}`)({ address, access, readOnly: true });
  await activity('setSemiSync', `replica side of semi-sync on ${address}`)({ address, access, primary: false, policy: input.config.policies.semiSync });
  await activity('changeSource', `${address} replicates from ${input.primary}`, PERSISTENT)({ address, access, source: input.primary });
  await catchUpWithPrimary(input, address, CATCH_UP_SECONDS, ': not added', step);

  step(`routing reads to ${address} and publishing`);
  if (input.config.router) await activity('addToRouter', `add ${address} to the router`)({ router: input.config.router, server: address });
  await route(input, input.primary, servers);
  await publishView(input, input.primary, servers);
  return { primary: input.primary, servers, summary: `${address} added as ${record.status}` };
}

/**
 * What a copy onto `address` would destroy that the cluster does not hold:
 * transactions the primary lacks (checkJoinable), or written by a server
 * that was never a recorded primary (a MariaDB position alone does not
 * show a new server's own writes, their seqs being lower). '' if none.
 */
async function transactionsOnlyOn(input: OperationInput<'addServer'>, address: string): Promise<string> {
  const { access } = input.config;
  const check = await activity('checkJoinable', `does ${address} hold transactions ${input.primary} lacks?`)({ address, access, source: input.primary });
  if (!check.joinable) return check.reason;
  if (!input.primaries) return '';
  const state = await activity('getServerState', `history of ${address}`)({ address, access });
  const errant = gtidErrant(state.flavor, state.history, input.primaries);
  return errant && `${address} holds transactions no primary of this cluster wrote: ${errant}`;
}

/** Removes a replica: out of routing, replication stopped (if it answers), gone from the view. */
export async function removeServer(input: OperationInput<'removeServer'>): Promise<OperationResult> {
  const step = trackProgress();
  const address = input.target;
  const { access, router } = input.config;
  const servers = input.servers.filter((s) => s.address !== address);
  if (!input.updateOnly) {
    step(`taking ${address} out of routing`);
    await route(input, input.primary, servers);
    if (router) await activity('removeFromRouter', `remove ${address} from the router`)({ router, server: address });
    step(`stopping replication on ${address}`);
    await activity('stopReplication', `stop replication on ${address} (if it answers)`, { startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 2 } })(
      { address, access, ioOnly: false }).catch(() => undefined);
  }
  await publishView(input, input.primary, servers);
  step(`done: ${address} removed`);
  return { primary: input.primary, servers, summary: `${address} removed${input.updateOnly ? ' (update-only)' : ''}` };
}
