import { getExternalWorkflowHandle, log } from '@temporalio/workflow';
import { clusterWorkflowId, healthReport, healthRound, type HealthReport } from './api';
import { assessServers } from './operations/health';
import { rootCauseMessage } from './errors';
import { activity } from './steps';
import { since } from './versions';

/**
 * Started by the cluster's Temporal Schedule. It reads and judges every
 * server of the recorded cluster and reports what it found to the
 * conductor; the conductor records it, or runs a health round when
 * something is to be repaired (only an operation changes a server). A
 * conductor that is busy has nothing judged this time. (Before 0.3.0 it
 * only asked the conductor for a round.)
 */
export async function healthTick(cluster: string): Promise<void> {
  const conductor = getExternalWorkflowHandle(clusterWorkflowId(cluster));
  try {
    if (!since.healthReport()) return await conductor.signal(healthRound);
    const read = await activity('readHealthContext', `read cluster ${cluster} from its conductor`)({ cluster });
    if (!read) return;
    const { context, operationCount } = read;
    const started = Date.now();
    let outcome: HealthReport['outcome'];
    try {
      outcome = { ok: true, findings: (await assessServers(context)).findings };
    } catch (err) {
      outcome = { ok: false, message: rootCauseMessage(err) };
    }
    await conductor.signal(healthReport, { viewId: context.viewId, operationCount, at: new Date().toISOString(), durationMs: Date.now() - started, outcome });
  } catch (err) {
    // No conductor running (being re-registered, or gone): nothing to check this time.
    log.warn(`no health round for ${cluster}: ${(err as Error).message}`);
  }
}
