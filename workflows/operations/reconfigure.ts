import type { OperationInput, OperationResult } from '../model';
import { publishView } from './steps/finish';
import { trackProgress } from './steps/progress';
import { route } from './steps/routing';

/**
 * Applies a recorded change to the world: routing follows statuses and
 * capabilities (FAULTY and disabled servers leave the reader backend), and
 * the new view is published. With update-only, routing is the operator's;
 * the view is still published, so routers and applications see the change.
 */
export async function reconfigure(input: OperationInput<'reconfigure'>): Promise<OperationResult> {
  const step = trackProgress();
  if (!input.updateOnly) {
    step('routing');
    await route(input, input.primary, input.changed);
  }
  step('publishing the new view');
  await publishView(input, input.primary, input.changed);
  step(`done: ${input.summary}`);
  return { primary: input.primary, servers: input.changed, summary: input.summary };
}
