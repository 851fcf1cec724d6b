import { ApplicationFailure, sleep } from '@temporalio/workflow';
import { publishView } from './steps/finish';
import type { OperationInput, OperationResult, ServerRecord } from '../model';
import { trackProgress } from './steps/progress';
import { route } from './steps/routing';
import { catchUpWithPrimary, provisionFrom } from './steps/catch-up';
import { activity, PERSISTENT } from '../steps';
import type { JoinableResult } from '../../activities/joinable';

const CATCH_UP_SECONDS = 120;

/**
 * Brings a returning FAULTY server back (an old primary after a failover,
 * a replica that was down): it may replicate only if it holds nothing the
 * primary lacks (safety rule 5). Diverged: it stays FAULTY with the
 * transactions named, or with `reprovision` its data is replaced by a copy.
 * Then read-only, replicating from the primary, caught up: SPARE, SECONDARY
 * (or SPARE only, when an operator's set-status out of FAULTY asked for it).
 */
export async function rejoin(input: OperationInput<'rejoin'>): Promise<OperationResult> {
  const step = trackProgress();
  const address = input.target;
  const { access } = input.config;
  const status = input.status ?? 'SECONDARY';
  const servers = input.servers.map((s): ServerRecord => (s.address === address ? { ...s, status } : s));
  if (input.updateOnly) {
    step(`recorded ${address} as ${status} (update-only: no server touched)`);
    return { primary: input.primary, servers, summary: `${address} rejoined (update-only)` };
  }

  step(`checking ${address} can replicate from ${input.primary} without diverging`);
  await activity('setReadOnly', `read_only on ${address}`)({ address, access, readOnly: true });
  await activity('killClientConnections', `end client sessions on ${address}`)({ address, access });
  let check = await activity('checkJoinable', `does ${address} hold transactions ${input.primary} lacks?`)({ address, access, source: input.primary });
  if (!check.joinable) await reprovisionOrRefuse(input, check, step);

  step(`pointing ${address} at ${input.primary}`);
  const state = await activity('getServerState', `read ${address}`)({ address, access });
  await activity('setSemiSync', `replica side of semi-sync on ${address}`)({ address, access, primary: false, policy: input.config.policies.semiSync });
  // A server that replicated from nobody was a primary: its own writes become its replication position.
  await activity('changeSource', `${address} replicates from ${input.primary}`, PERSISTENT)({ address, access, source: input.primary, demotedPrimary: !state.replication });
  // MariaDB compares positions by sequence only: the source refusing the position (1236) is the last word.
  for (let i = 0; i < 10; i++) {
    check = await activity('checkJoinable', `did ${input.primary} accept ${address}'s position?`)({ address, access, source: input.primary });
    const now = await activity('getServerState', `replication of ${address}`)({ address, access });
    if (!check.joinable || now.replication?.ioRunning) break;
    await sleep('300 milliseconds');
  }
  if (!check.joinable) {
    await activity('stopReplication', `stop replication on ${address}`)({ address, access, ioOnly: false });
    await reprovisionOrRefuse(input, check, step);
    await activity('changeSource', `${address} replicates from ${input.primary}`, PERSISTENT)({ address, access, source: input.primary });
  }

  await catchUpWithPrimary(input, address, CATCH_UP_SECONDS, '; it stays FAULTY', step);

  step(`${address} caught up: ${status}, routed and published`);
  await route(input, input.primary, servers);
  await publishView(input, input.primary, servers);
  return { primary: input.primary, servers, summary: `${address} rejoined as ${status}` };
}

/** Without --reprovision a diverged server stays FAULTY, its transactions named; with it, its data is replaced. */
async function reprovisionOrRefuse(input: OperationInput<'rejoin'>, { reason, remedy }: JoinableResult, step: (s: string) => void): Promise<void> {
  const address = input.target;
  if (!input.reprovision) throw ApplicationFailure.nonRetryable(`rejoin refused, ${address} stays FAULTY: ${reason}; ${remedy}`, 'Diverged');
  const source = input.servers.find((s) => s.status === 'SECONDARY' && s.address !== address)?.address ?? input.primary;
  step(`re-provisioning ${address} from ${source} (${reason})`);
  await provisionFrom(input, address, source, 'dump');
}
