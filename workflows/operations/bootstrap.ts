import { ApplicationFailure } from '@temporalio/workflow';
import { publishView } from './steps/finish';
import type { OperationInput, OperationResult } from '../model';
import { trackProgress } from './steps/progress';
import { markFaulty } from './steps/roll-forward';
import { route } from './steps/routing';
import { activity, PERSISTENT } from '../steps';

/**
 * A newly registered cluster made as recorded (the conductor's first
 * operation; only the conductor decides roles): every replica that has not
 * diverged replicates from the primary, read-only; the primary is
 * writable, with semi-sync as the policy says; writes are routed to it and
 * view 1 is published. What is already so is left alone, so registering a
 * running replica set changes nothing on it. A replica that diverged, or
 * does not answer, becomes FAULTY.
 */
export async function bootstrap(input: OperationInput<'bootstrap'>): Promise<OperationResult> {
  const step = trackProgress();
  const { access } = input.config;
  const policy = input.config.policies.semiSync;
  const primary = input.primary;

  step(`checking ${primary} is a primary`);
  const state = await activity('getServerState', `read ${primary}`)({ address: primary, access });
  if (state.replication) {
    throw ApplicationFailure.nonRetryable(`${primary} replicates from ${state.replication.sourceHost}:${state.replication.sourcePort}: it is not a primary; name the cluster's primary in the spec`, 'NotAPrimary');
  }

  const replicas = input.servers.filter((s) => s.address !== primary && s.status !== 'FAULTY');
  step(`pointing ${replicas.map((r) => r.address).join(', ') || 'no replica'} at ${primary}`);
  const left = await Promise.all(replicas.map(async ({ address }) => {
    try {
      const check = await activity('checkJoinable', `does ${address} hold transactions ${primary} lacks?`)({ address, access, source: primary });
      if (!check.joinable) {
        step(`${address} becomes FAULTY: ${check.reason}`);
        // Whatever it is, it takes no writes now: only the recorded primary does.
        await activity('setReadOnly', `read_only on ${address}`)({ address, access, readOnly: true });
        await activity('killClientConnections', `end client sessions on ${address}`)({ address, access });
        return address;
      }
      await activity('setSemiSync', `replica side of semi-sync on ${address}`)({ address, access, primary: false, policy });
      await activity('changeSource', `${address} replicates from ${primary}`, PERSISTENT)({ address, access, source: primary });
      return undefined;
    } catch {
      step(`${address} becomes FAULTY: it does not answer`);
      return address;
    }
  }));
  const faulty = left.filter((a): a is string => a !== undefined);
  const servers = markFaulty(input.servers, faulty);

  step(`making ${primary} writable`);
  await activity('setReadOnly', `read_only off on ${primary}`, PERSISTENT)({ address: primary, access, readOnly: false });
  await activity('setSemiSync', `primary side of semi-sync on ${primary}`)({ address: primary, access, primary: true, policy });
  step(`routing writes to ${primary}`);
  await route(input, primary, servers);
  // Registration is view 1; a replica found FAULTY here makes view 2.
  const viewId = faulty.length ? input.viewId + 1 : input.viewId;
  await publishView(input, primary, servers, viewId);
  step(`done: ${primary} is primary${faulty.length ? `; ${faulty.join(', ')} FAULTY` : ''}`);
  return { primary, servers, summary: `cluster ${input.config.name} ready: ${primary} primary`, primaryOrigin: state.originId };
}
