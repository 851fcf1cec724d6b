import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { InspectResult } from '../../workflows/operations/inspect';
import { CLUSTER } from '../../workflows/search-attributes';
import { TASK_QUEUE } from '../../workflows/api';
import { startTestCluster, TestCluster } from '../harness/cluster';
import { startTestTemporal, TestTemporal } from '../harness/temporal';

let cluster: TestCluster;
let temporal: TestTemporal;

before(async () => {
  [cluster, temporal] = await Promise.all([startTestCluster(3), startTestTemporal()]);
});

test('inspect runs on a real Temporal server and reads every real MariaDB server', async () => {
  const { worker, close } = await temporal.worker();
  const workflowId = 'cluster:itest/inspect/1';
  const result = await worker.runUntil(async () => {
    const handle = await temporal.client.workflow.start('inspect', {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [{ cluster: 'itest', servers: [...cluster.addresses, '127.0.0.1:1'], access: cluster.access }],
      typedSearchAttributes: [{ key: CLUSTER, value: 'itest' }],
    });
    return (await handle.result()) as InspectResult;
  });
  await close();

  assert.equal(result.servers.length, 4);
  const [primary, r1, r2, nobody] = result.servers;
  assert.ok(primary.reachable && r1.reachable && r2.reachable);
  assert.equal(primary.flavor, 'mariadb');
  assert.equal(primary.readOnly, false);
  assert.equal(primary.replication, null);
  assert.equal(primary.semiSync.primaryActive, true);
  for (const replica of [r1, r2]) {
    assert.equal(replica.readOnly, true);
    assert.equal(replica.replication?.sourcePort, cluster.servers[0].port);
    assert.equal(replica.replication?.sqlRunning, true);
    assert.equal(replica.executed, primary.executed);
  }
  assert.deepEqual([primary.serverId, r1.serverId, r2.serverId], [1, 2, 3]);
  assert.equal(nobody.reachable, false);

  const description = await temporal.client.workflow.getHandle(workflowId).describe();
  assert.equal(description.typedSearchAttributes.get(CLUSTER), 'itest');
});
