import { log, setCurrentDetails, setHandler } from '@temporalio/workflow';
import { progressQuery } from '../../api';

export function trackProgress(): (step: string) => void {
  const steps: string[] = [];
  setHandler(progressQuery, () => steps);
  return (step) => {
    steps.push(step);
    log.info(step);
    setCurrentDetails([`**${step}**`, '', ...steps.slice(0, -1).reverse().map((s) => `- ${s}`)].join('\n'));
  };
}
