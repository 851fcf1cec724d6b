import { requestAddServer } from '../../client/operations';
import { crashTestFile } from '../harness/crash';
import { assertHealthy } from '../harness/stack';

/** Crash safety of adding a server provisioned by dump (the reset before each run makes it a plain replica again). */
crashTestFile({
  name: 'server add',
  prepare: async (stack) => {
    if (stack.cluster.servers.length === 3) await stack.cluster.addServer();
  },
  start: (stack) => requestAddServer(stack.temporal.client, stack.name, { address: stack.cluster.addresses[3], provision: 'dump', status: 'SECONDARY', penalty: 0 }),
  check: async (stack) => {
    await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3] });
  },
});
