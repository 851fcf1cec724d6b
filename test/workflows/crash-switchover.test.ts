import { requestOperation } from '../../client/operations';
import { crashTestFile } from '../harness/crash';
import { assertHealthy } from '../harness/stack';

crashTestFile({
  name: 'switchover',
  start: (stack) => requestOperation(stack.temporal.client, stack.name, { kind: 'switchover' }),
  check: async (stack) => {
    await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3] });
  },
});
