import { ApplicationFailure } from '@temporalio/workflow';
import type { ServerState, UnreachableServer } from '../../activities/server-state';
import { sourceAddress } from '../logic/address';
import type { Flavor } from '../logic/gtid';
import { registeredPrimaries } from '../logic/views';
import { assessHealth, type Finding, type HealthServer } from '../logic/health';
import { DEFAULT_SEMI_SYNC, type OperationContext, type OperationInput, type OperationResult, type ServerRecord } from '../model';
import { publishView } from './steps/finish';
import { trackProgress } from './steps/progress';
import { readServers } from './steps/read-servers';
import { route } from './steps/routing';
import { activity } from '../steps';

export interface HealthResult extends OperationResult {
  findings: Finding[];
}

const LAG_LIMIT_SECONDS = 30;

/**
 * A health round run by the conductor, when a check found something to
 * repair (workflows/health-tick.ts), or asked by a 0.2.0 health tick:
 * reads every server, repairs what is safe to repair, reports the rest; an
 * unreachable replica becomes FAULTY.
 */
export async function health(input: OperationInput<'health'>): Promise<HealthResult> {
  const step = trackProgress();
  step('reading every server');
  const { states, flavor, findings } = await assessServers(input);
  let servers = input.servers;
  for (const finding of findings.filter((f) => f.repair)) {
    step(`repairing ${finding.server}: ${finding.text}`);
    servers = await repair(input, servers, finding);
  }
  // A status changed: the conductor records the next view, published here first.
  if (servers !== input.servers) await publishView(input, input.primary, servers);
  step(findings.length ? `${findings.length} finding(s)` : 'healthy');
  // After an update-only promotion (or a conductor older than errant checks) the recorded primaries are learned again from the primary.
  const primaryState = states.find((s): s is ServerState => s.reachable && s.address === input.primary);
  const learnedPrimaries = !input.primaries && primaryState
    ? registeredPrimaries(flavor, primaryState, states.filter((s): s is ServerState => s.reachable && s !== primaryState)) : undefined;
  return { primary: input.primary, servers, findings, learnedPrimaries, summary: findings.length ? findings.map((f) => `${f.server}: ${f.text}`).join('; ') : 'healthy' };
}

/** Reads every server and judges them (logic/health): what a round finds, nothing changed. */
export async function assessServers(input: OperationContext): Promise<{ states: (ServerState | UnreachableServer)[]; flavor: Flavor; findings: Finding[] }> {
  const { access, name } = input.config;
  const states = await readServers(input, input.servers);
  const flavor = states.find((s): s is ServerState => s.reachable)?.flavor;
  if (!flavor) throw ApplicationFailure.nonRetryable(`no server of ${name} answers`, 'NoServer');
  const published = await activity('readPublishedView', `published view on ${input.primary}`)({ address: input.primary, access, cluster: name })
    .catch(() => null);
  const findings = assessHealth({
    flavor, primary: input.primary, viewId: input.viewId, publishedViewId: published, lagLimitSeconds: LAG_LIMIT_SECONDS,
    semiSync: input.config.policies.semiSync ?? DEFAULT_SEMI_SYNC,
    servers: states.map((s) => healthServer(s, input.servers)),
  });
  return { states, flavor, findings };
}

async function repair(input: OperationContext, servers: ServerRecord[], finding: Finding): Promise<ServerRecord[]> {
  const { access } = input.config;
  const address = finding.server;
  switch (finding.repair) {
    case 'set-writable':
      await activity('setReadOnly', `read_only off on the primary ${address}`)({ address, access, readOnly: false });
      await route(input, input.primary, servers);
      return servers;
    case 'start-replication':
      await activity('startReplication', `restart replication on ${address}`)({ address, access });
      return servers;
    case 'set-read-only':
      await activity('setReadOnly', `read_only on replica ${address}`)({ address, access, readOnly: true });
      return servers;
    case 'semi-sync-replica-side':
    case 'semi-sync-primary-side':
      await activity('setSemiSync', `semi-sync sides on ${address}`)({ address, access, primary: finding.repair === 'semi-sync-primary-side', policy: input.config.policies.semiSync });
      return servers;
    case 'publish-view':
      await publishView(input, input.primary, servers, input.viewId);
      return servers;
    case 'mark-faulty': {
      const marked = servers.map((s): ServerRecord => (s.address === address ? { ...s, status: 'FAULTY' } : s));
      await route(input, input.primary, marked);
      return marked;
    }
    default:
      return servers;
  }
}

function healthServer(state: ServerState | UnreachableServer, records: ServerRecord[]): HealthServer {
  const status = records.find((r) => r.address === state.address)!.status;
  if (!state.reachable) return { address: state.address, status, reachable: false };
  const r = state.replication;
  return {
    address: state.address, status, reachable: true, readOnly: state.readOnly, executed: state.executed, semiSync: state.semiSync,
    replication: r && {
      source: sourceAddress(r), received: r.received, ioRunning: r.ioRunning, ioConnecting: r.ioConnecting, sqlRunning: r.sqlRunning,
      ioErrno: r.ioErrno, sqlErrno: r.sqlErrno, sqlError: r.sqlError, secondsBehind: r.secondsBehind,
    },
  };
}
