import { isCancellation } from '@temporalio/workflow';
import { CAPABILITY_FREEZE, databaseFreezes } from '../logic/server-changes';
import type { OperationInput, OperationResult } from '../model';
import { activity, BEST_EFFORT, FREEZING } from '../steps';
import { since } from '../versions';
import { publishView } from './steps/finish';
import { trackProgress } from './steps/progress';
import { route } from './steps/routing';

/**
 * Applies a recorded change to the world: routing follows statuses and
 * capabilities (FAULTY and disabled servers leave the reader backend),
 * per-database capabilities of the primary freeze or thaw writes to those
 * databases there, and the new view is published. With update-only,
 * routing and freezes are the operator's; the view is still published, so
 * routers and applications see the change.
 */
export async function reconfigure(input: OperationInput<'reconfigure'>): Promise<OperationResult> {
  const step = trackProgress();
  if (!input.updateOnly) {
    step('routing');
    await route(input, input.primary, input.changed);
    await enforceDatabaseCapabilities(input, step);
  }
  step('publishing the new view');
  await publishView(input, input.primary, input.changed);
  step(`done: ${input.summary}`);
  return { primary: input.primary, servers: input.changed, summary: input.summary };
}

/**
 * The write freeze of each database the primary's record gives read-only or
 * disabled, installed (again: idempotent), and lifted for one set back to
 * read-write. A freeze that fails is taken off again when the database was
 * not frozen before the change, so a refused change leaves writes as they were.
 */
async function enforceDatabaseCapabilities(input: OperationInput<'reconfigure'>, step: (s: string) => void): Promise<void> {
  const plan = databaseFreezes(input.servers, input.changed, input.primary);
  // Conductors of releases before the freeze only published these.
  if ((!plan.freeze.length && !plan.thaw.length) || !since.databaseFreeze()) return;
  const { primary } = input;
  const access = input.config.access;
  const frozenBefore = new Set(databaseFreezes([], input.servers, primary).freeze.map((f) => f.database));
  for (const { database, capability } of plan.freeze) {
    step(`freezing writes to ${database} on ${primary} (${capability})`);
    try {
      await activity('freezeWrites', `freeze writes to ${database} on ${primary}`, FREEZING)({
        address: primary, access, name: CAPABILITY_FREEZE, reason: `capability ${capability}`, freeze: { database },
      });
    } catch (err) {
      if (!isCancellation(err) && !frozenBefore.has(database)) {
        await activity('thawWrites', `take the partial freeze of ${database} off ${primary}`, BEST_EFFORT)({ address: primary, access, database, name: CAPABILITY_FREEZE }).catch(() => undefined);
      }
      throw err;
    }
  }
  for (const database of plan.thaw) {
    step(`thawing writes to ${database} on ${primary}`);
    await activity('thawWrites', `thaw writes to ${database} on ${primary}`, FREEZING)({ address: primary, access, database, name: CAPABILITY_FREEZE });
  }
}
