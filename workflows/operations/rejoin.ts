import { ApplicationFailure, sleep, workflowInfo } from '@temporalio/workflow';
import { publishView } from './steps/finish';
import type { OperationInput, OperationResult, ServerRecord } from '../model';
import { trackProgress } from './steps/progress';
import { route } from './steps/routing';
import { catchUpWithPrimary } from './steps/catch-up';
import { reachAgent } from './steps/clone';
import { chooseDonor, provisionFrom } from './steps/provisioning';
import { activity, agentActivity, PERSISTENT } from '../steps';
import type { JoinableResult } from '../../activities/joinable';
import { AGENT_PROTOCOL } from '../api';
import { errantBinlogRange } from '../logic/gtid-mariadb';
import { since } from '../versions';

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
  const notes: string[] = [];
  if (!check.joinable) notes.push(await reprovisionOrRefuse(input, check, 'reprovision-1', step));

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
    notes.push(await reprovisionOrRefuse(input, check, 'reprovision-2', step));
    await activity('changeSource', `${address} replicates from ${input.primary}`, PERSISTENT)({ address, access, source: input.primary });
  }

  await catchUpWithPrimary(input, address, CATCH_UP_SECONDS, '; it stays FAULTY', step);

  step(`${address} caught up: ${status}, routed and published`);
  await route(input, input.primary, servers);
  await publishView(input, input.primary, servers);
  return { primary: input.primary, servers, summary: [`${address} rejoined as ${status}`, ...notes.filter(Boolean)].join('; ') };
}

/**
 * Without --reprovision a diverged server stays FAULTY, its transactions
 * named; with it, its data is replaced: cloned through the host agents
 * when the cluster has them, its errant transactions saved on its host
 * first, else dumped. Returns what the operation's summary must say.
 */
async function reprovisionOrRefuse(input: OperationInput<'rejoin'>, { reason, remedy, divergent }: JoinableResult, label: string, step: (s: string) => void): Promise<string> {
  const address = input.target;
  if (!input.reprovision) throw ApplicationFailure.nonRetryable(`rejoin refused, ${address} stays FAULTY: ${reason}; ${remedy}`, 'Diverged');
  if (!since.provisioning()) {
    const source = input.servers.find((s) => s.status === 'SECONDARY' && s.address !== address)?.address ?? input.primary;
    step(`re-provisioning ${address} from ${source} (${reason})`);
    await provisionFrom(input, address, source, 'dump', label, step);
    return '';
  }
  const donor = await chooseDonor(input, address, input.donor);
  let saved = '';
  if (input.config.agents) {
    const { access } = input.config;
    const primary = await activity('getServerState', `history of ${input.primary}`)({ address: input.primary, access });
    const diverged = await activity('getServerState', `server id of ${address}`)({ address, access });
    if (primary.flavor === 'mariadb') {
      step(`saving the errant transactions of ${address} (${divergent}) on its host`);
      const { file } = await reachAgent(address, () => agentActivity(address, 'saveErrant', `save ${address}'s errant transactions`)(
        { protocol: AGENT_PROTOCOL, range: errantBinlogRange(divergent, primary.history, diverged.serverId), name: `${workflowInfo().workflowId}-${label}` }));
      saved = `its errant transactions ${divergent} were saved to ${file} on its host`;
    }
  }
  step(`re-provisioning ${address} from ${donor} (${reason})`);
  await provisionFrom(input, address, donor, input.config.agents ? 'clone' : 'dump', label, step);
  // A clone restarted mariadbd: its semi-sync settings are its config's again.
  await activity('setSemiSync', `replica side of semi-sync on ${address}`)({ address, access: input.config.access, primary: false, policy: input.config.policies.semiSync });
  return saved;
}
