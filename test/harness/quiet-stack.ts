import { before } from 'node:test';
import { startTestStack, type TestStack } from './stack';

/**
 * A stack for one test file whose conductor does nothing by itself
 * (detection off, no health round within the file's time), with an
 * in-process worker: the tests ask for every operation.
 */
export function quietStack(size = 3): () => TestStack {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack(size);
    stack.spec.policies = { failover: 'off', healthIntervalSeconds: 3600 };
    await stack.temporal.runWorker();
  });
  return () => stack;
}
