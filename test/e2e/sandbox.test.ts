import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import * as mysql from 'mysql2/promise';
import { sleep } from '../../client/local/ports';
import { isRunning } from '../../client/local/processes';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import type { SandboxProcess } from '../../client/sandbox/status';
import { gtidflow } from '../harness/cli';
import { testSandbox } from '../harness/sandbox';

/** The sandbox as an operator runs it: the CLI in its own processes, a state dir of its own. */
const sandbox = testSandbox('sandbox');
const { env, up } = sandbox;
let endpoints: SandboxEndpoints;

function appConnection(port: number) {
  const { app } = endpoints.credentials;
  return mysql.createConnection({ host: '127.0.0.1', port, user: app.user, password: fs.readFileSync(app.passwordFile, 'utf8').trim(), database: 'app' });
}

async function rowsOn(port: number, sql: string): Promise<unknown[]> {
  const conn = await appConnection(port);
  try {
    return (await conn.query(sql))[0] as unknown[];
  } finally {
    await conn.end();
  }
}

async function waitForRows(port: number, sql: string, count: number): Promise<unknown[]> {
  for (let i = 0; ; i++) {
    const rows = await rowsOn(port, sql);
    if (rows.length >= count || i > 50) return rows;
    await sleep(100);
  }
}

before(async () => {
  endpoints = await up();
});

test('up --json names Temporal, the cluster, its endpoints and password files, and no password', () => {
  const [cluster] = endpoints.clusters;
  assert.equal(cluster.name, 'sandbox');
  assert.equal(cluster.servers.length, 3);
  assert.match(endpoints.temporal.address, /^127\.0\.0\.1:\d+$/);
  for (const account of Object.values(endpoints.credentials)) {
    const password = fs.readFileSync(account.passwordFile, 'utf8').trim();
    assert.ok(password.length >= 16);
    assert.ok(!JSON.stringify(endpoints).includes(password));
  }
});

test('a write through the writer endpoint reaches both replicas; the app account cannot write on a replica', async () => {
  const [cluster] = endpoints.clusters;
  const writer = await appConnection(cluster.writer.port);
  await writer.query('CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, note VARCHAR(40))');
  await writer.query("INSERT INTO t VALUES (1, 'through the writer')");
  await writer.end();
  const replicas = cluster.servers.slice(1);
  for (const replica of replicas) {
    assert.deepEqual(await waitForRows(replica.port, 'SELECT id, note FROM t', 1), [{ id: 1, note: 'through the writer' }]);
  }
  const direct = await appConnection(replicas[0].port);
  await assert.rejects(direct.query("INSERT INTO t VALUES (2, 'on a replica')"), /read-only|READ.ONLY/i);
  await direct.end();
  // The reader endpoint serves replicas only: it sees the row, and refuses writes.
  assert.equal((await waitForRows(cluster.reader.port, 'SELECT id FROM t', 1)).length, 1);
});

test('the Web UI answers with HTML', async () => {
  const response = await fetch(endpoints.temporal.ui!);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await response.text(), /<html/i);
});

test('inspect prints all three servers, read through a workflow', async () => {
  const result = await gtidflow(['inspect', 'sandbox', '--json'], env);
  assert.equal(result.code, 0, result.stderr);
  const inspection = JSON.parse(result.stdout) as { servers: { address: string; reachable: boolean; readOnly: boolean }[] };
  assert.deepEqual(inspection.servers.map((s) => s.address), endpoints.clusters[0].servers.map((s) => `${s.host}:${s.port}`));
  assert.deepEqual(inspection.servers.map((s) => s.readOnly), [false, true, true]);
  const text = await gtidflow(['inspect', 'sandbox'], env);
  assert.equal(text.stdout.trim().split('\n').length, 4);
});

test('version names this build, and the sandbox\'s worker polling with the same build in its identity', async () => {
  const result = await gtidflow(['version', '--json'], env);
  assert.equal(result.code, 0, result.stderr);
  const { build, workers } = JSON.parse(result.stdout) as { build: string; workers: string[] };
  assert.match(build, /^\d+\.\d+\.\d+(\+[0-9a-f]{7}(\.modified)?)?$/);
  assert.equal(workers.length, 1);
  assert.match(workers[0], new RegExp(`^gtidflow ${build.replace(/[.+]/g, '\\$&')} \\d+@`));
  const text = await gtidflow(['version'], env);
  assert.equal(text.stdout.split('\n')[0], `gtidflow ${build}`);
});

test('up again on a running sandbox starts only what is missing (a killed worker comes back; the agents stay)', async () => {
  const before = JSON.parse((await gtidflow(['sandbox', 'status', '--json'], env)).stdout) as SandboxProcess[];
  const worker = before.find((p) => p.role === 'worker')!;
  process.kill(worker.pid!, 'SIGKILL');
  const again = await up();
  assert.deepEqual(again, endpoints);
  const after = JSON.parse((await gtidflow(['sandbox', 'status', '--json'], env)).stdout) as SandboxProcess[];
  assert.ok(after.every((p) => p.running), JSON.stringify(after));
  assert.notEqual(after.find((p) => p.role === 'worker')!.pid, worker.pid);
  for (const role of ['temporal', 'mariadb', 'haproxy', 'agent'] as const) {
    assert.deepEqual(after.filter((p) => p.role === role).map((p) => p.pid), before.filter((p) => p.role === role).map((p) => p.pid));
  }
});

async function inspectWorkflowIds(): Promise<string[]> {
  const client = new Client({ connection: await Connection.connect({ address: endpoints.temporal.address }) });
  try {
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query: `GtidflowCluster = 'sandbox' AND GtidflowOperation = 'inspect'` })) ids.push(wf.workflowId);
    return ids.sort();
  } finally {
    await client.connection.close();
  }
}

/** Threads of `pid` that have not exited (a zombie's are all Z); none when the pid is gone. */
function liveThreads(pid: number): string[] {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.filter((tid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return !/^[ZXx]/.test(stat.slice(stat.lastIndexOf(')') + 2));
    } catch {
      return false;
    }
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

test('down stops every process; up again brings back the same data and Temporal history', async () => {
  const historyBefore = await inspectWorkflowIds();
  assert.ok(historyBefore.length >= 2);
  const status = JSON.parse((await gtidflow(['sandbox', 'status', '--json'], env)).stdout) as SandboxProcess[];
  const down = await gtidflow(['sandbox', 'down'], env);
  assert.equal(down.code, 0, down.stderr);
  // A zombie (exited, not yet reaped by init) is not running: isRunning looks at /proc, not only kill(0).
  for (const p of status) assert.equal(isRunning(p.pid!, env.GTIDFLOW_HOME!), false, `${p.role} ${p.pid} still running`);
  // Gone means every thread gone, not only the main one (whose exit empties the command line first),
  // so the next up finds every port free.
  for (const p of status) assert.deepEqual(liveThreads(p.pid!), [], `${p.role} ${p.pid} has threads still running`);
  const [cluster] = endpoints.clusters;
  const ports = [...status.map((p) => p.address), `127.0.0.1:${cluster.reader.port}`].flatMap((a) => a ? [Number(a.split(':').pop())] : []);
  for (const port of ports) assert.equal(await portFree(port), true, `port ${port} still bound after down`);

  endpoints = await up();
  assert.deepEqual(await rowsOn(endpoints.clusters[0].writer.port, 'SELECT id FROM t'), [{ id: 1 }]);
  const historyAfter = await inspectWorkflowIds();
  for (const id of historyBefore) assert.ok(historyAfter.includes(id), `${id} survived the restart`);
});

test('bad input: one line on stderr, non-zero exit, no stack trace', async () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['sandbox', 'up', '--servers', '0'], env, /--servers must be a whole number from 1 to 9/],
    [['frobnicate'], env, /unknown command "frobnicate"/],
    [['inspect', 'sandbox'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' }, /cannot reach the Temporal server at 127\.0\.0\.1:1/],
    [['inspect', 'nosuch'], env, /unknown cluster "nosuch"/],
  ];
  for (const [args, caseEnv, message] of cases) {
    const result = await gtidflow(args, caseEnv);
    assert.notEqual(result.code, 0, args.join(' '));
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  }
});
