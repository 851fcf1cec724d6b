import { defineQuery, log, setCurrentDetails, setHandler } from '@temporalio/workflow';

/** The steps an operation has reached, for the CLI to follow (the Web UI shows current details). */
export const progressQuery = defineQuery<string[]>('progress');

export function trackProgress(): (step: string) => void {
  const steps: string[] = [];
  setHandler(progressQuery, () => steps);
  return (step) => {
    steps.push(step);
    log.info(step);
    setCurrentDetails([`**${step}**`, '', ...steps.slice(0, -1).reverse().map((s) => `- ${s}`)].join('\n'));
  };
}
