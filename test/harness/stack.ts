import assert from 'node:assert/strict';
import * as mysql from 'mysql2/promise';
import { getServerState } from '../../activities/server-state';
import { routeWriter } from '../../activities/router/haproxy';
import { waitForGtid } from '../../activities/wait-for-gtid';
import { applyCluster } from '../../client/cluster-apply';
import { requestOperation } from '../../client/operations';
import { clusterWorkflowId, operationWorkflowId } from '../../workflows/api';
import { readMemo } from '../../client/memo';
import { isMariadbRunning } from '../../client/local/mariadb';
import { sleep } from '../../client/local/ports';
import { readPassword } from '../../client/local/secrets';
import type { ClusterSpec } from '../../client/spec';
import type { ClusterMemo } from '../../workflows/memo';
import { formatAddress, sourceAddress } from '../../workflows/logic/address';
import { resetTopology, startTestCluster, TestCluster } from './cluster';
import { startTestRouter, TestRouter } from './router';
import { startTestTemporal, TestTemporal } from './temporal';

/** A cluster behind a real HAProxy, a real Temporal server, and the spec that registers them. */
export interface TestStack {
  name: string;
  cluster: TestCluster;
  temporal: TestTemporal;
  router: TestRouter;
  spec: ClusterSpec;
}

export async function startTestStack(size: number, name = 'itest'): Promise<TestStack> {
  const [cluster, temporal] = await Promise.all([startTestCluster(size), startTestTemporal()]);
  const router = await startTestRouter(cluster);
  const spec: ClusterSpec = {
    name,
    servers: cluster.addresses.map((address, i) => ({ address, status: i === 0 ? 'PRIMARY' : 'SECONDARY', penalty: 0 })),
    credentials: cluster.access as ClusterSpec['credentials'],
    router: { haproxy: router.router },
  };
  await cluster.sql(0, 'CREATE TABLE IF NOT EXISTS app.rows (id INT PRIMARY KEY); ' +
    'CREATE TABLE IF NOT EXISTS app.locks (k INT PRIMARY KEY, v INT NOT NULL); ' +
    // The writer load's rows (test/harness/writer.ts), each with the server that committed it.
    'CREATE TABLE IF NOT EXISTS app.writes (id INT PRIMARY KEY, server_id INT NOT NULL)');
  return { name, cluster, temporal, router, spec };
}

/**
 * Back to the start between cases: every server running, server 0 the
 * routed primary, the rest replicating from it, the table empty, and a
 * fresh conductor at view 1 (needs a worker: registration reads the servers).
 */
export async function resetStack(stack: TestStack): Promise<void> {
  const { cluster, temporal } = stack;
  await temporal.client.workflow.getHandle(clusterWorkflowId(stack.name)).terminate('test reset').catch(() => undefined);
  cluster.adoptPids();
  for (const [i, server] of cluster.servers.entries()) {
    if (isMariadbRunning(server.pid, server.dir)) process.kill(server.pid, 'SIGCONT');
    else await cluster.start(i);
  }
  // One history again: the same data everywhere, kept out of the binlogs, and empty GTID positions.
  for (const i of cluster.servers.keys()) {
    await cluster.sql(i, 'SET GLOBAL read_only = 1; STOP SLAVE; RESET SLAVE ALL; SET SESSION sql_log_bin = 0; ' +
      'DROP DATABASE IF EXISTS gtidflow; DELETE FROM app.rows; DELETE FROM app.writes; REPLACE INTO app.locks VALUES (1, 0); RESET MASTER; SET GLOBAL gtid_slave_pos = ""');
  }
  await resetTopology(cluster);
  await routeWriter({ router: stack.router.router, writer: cluster.addresses[0], readers: cluster.addresses.slice(1) });
  await applyCluster(temporal.client, stack.spec);
}

/**
 * An operator's failover of a primary just killed, or the one detection
 * started first (a killed primary is confirmed at once): the request is
 * then refused as busy with it, and that failover is the one to follow.
 */
export async function failoverNow(stack: TestStack): Promise<{ workflowId: string }> {
  try {
    return await requestOperation(stack.temporal.client, stack.name, { kind: 'failover' });
  } catch (err) {
    const id = /busy with failover #(\d+)/.exec((err as Error).message)?.[1];
    if (!id) throw err;
    // Refused as busy with that failover: it is the one to follow, once the conductor has started it (the memo may lag the refusal).
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
      const memo = await conductorMemo(stack);
      if (memo.operation?.id === Number(id) || (memo.lastOperation?.id ?? 0) >= Number(id)) break;
    }
    return { workflowId: operationWorkflowId(stack.name, 'failover', Number(id)) };
  }
}

/**
 * A session through the writer endpoint as the application account: no
 * SUPER, no READ ONLY ADMIN, so read_only stops it as it stops real clients.
 */
export function writerSession(stack: TestStack): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1', port: stack.router.writerPort, user: stack.cluster.accounts.app.user,
    password: readPassword(stack.cluster.accounts.app), connectTimeout: 500,
  });
}

export async function writeRows(stack: TestStack, ids: number[]): Promise<void> {
  const conn = await writerSession(stack);
  try {
    for (const id of ids) await conn.query('INSERT INTO app.rows VALUES (?)', [id]);
  } finally {
    await conn.end();
  }
}

/** The conductor's memo once it has recorded the end of its last operation (a child ends a moment before). */
export async function conductorMemo(stack: TestStack): Promise<ClusterMemo> {
  for (let i = 0; ; i++) {
    const memo = (await readMemo(stack.temporal.client, stack.name))!;
    if (memo.operation === null || i === 100) return memo;
    await sleep(50);
  }
}

/**
 * What every operation must leave: exactly one writable server, the
 * recorded primary; every other live member replicating from it; the writer
 * endpoint on it; the expected view; every row on every member.
 */
export async function assertHealthy(stack: TestStack, expect: { viewId: number; rows: number[]; dead?: number[] }): Promise<string> {
  const { cluster } = stack;
  const memo = await conductorMemo(stack);
  assert.equal(memo.viewId, expect.viewId, 'view id');
  assert.equal(memo.operation, null, 'no operation still running');
  const live = cluster.addresses.filter((_, i) => !expect.dead?.includes(i));
  const states = await Promise.all(live.map((address) => getServerState({ address, access: cluster.access })));
  const writable = states.filter((s) => !s.readOnly).map((s) => s.address);
  assert.deepEqual(writable, [memo.primary], 'exactly one writable server, the recorded primary');
  // A FAULTY server that still answers (fenced, e.g. after a failover on an operator's word) must be read-only, nothing more.
  const faulty = memo.servers.filter((s) => s.status === 'FAULTY').map((s) => s.address);
  const members = states.filter((s) => !faulty.includes(s.address));
  for (const s of members.filter((s) => s.address !== memo.primary)) {
    assert.equal(s.replication && sourceAddress(s.replication), memo.primary, `${s.address} replicates from the primary`);
    assert.ok(s.replication?.sqlRunning && (s.replication.ioRunning || s.replication.ioConnecting), `${s.address} replication runs`);
  }
  const conn = await writerSession(stack);
  const [[{ port }]] = (await conn.query('SELECT @@port AS port')) as unknown as [[{ port: number }]];
  await conn.end();
  assert.equal(formatAddress('127.0.0.1', Number(port)), memo.primary, 'the writer endpoint leads to the primary');
  const primaryState = states.find((s) => s.address === memo.primary)!;
  for (const s of members) {
    const reached = await waitForGtid({ address: s.address, access: cluster.access, gtid: primaryState.executed, timeoutSeconds: 20 });
    assert.ok(reached.reached, `${s.address} applied ${primaryState.executed}`);
    const index = cluster.addresses.indexOf(s.address);
    const rows = (await cluster.sql(index, 'SELECT id FROM app.rows ORDER BY id')).map((r) => Number(r.id));
    assert.deepEqual(rows, expect.rows, `every row on ${s.address}`);
  }
  return memo.primary;
}
