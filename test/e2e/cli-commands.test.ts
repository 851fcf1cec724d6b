import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { rootConnection } from '../../client/local/mariadb';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import type { ClusterStatus } from '../../client/status';
import { gtidflow, npxGtidflow, operatorOperation, upNewSandbox } from '../harness/cli';
import { testSandbox } from '../harness/sandbox';

/**
 * Every command of the CLI and its --json form, as an operator runs them
 * on a sandbox of four servers: the tests run in order and each starts
 * where the previous one left the cluster.
 */
const sandbox = testSandbox('cli-commands');
const { env } = sandbox;
let endpoints: SandboxEndpoints;
let servers: string[];

before(async () => {
  endpoints = await upNewSandbox(env, 4);
  servers = endpoints.clusters[0].servers.map((s) => `${s.host}:${s.port}`);
});

/** Runs a command that must succeed; its stdout. */
async function run(...args: string[]): Promise<string> {
  const result = await gtidflow(args, env);
  assert.equal(result.code, 0, `gtidflow ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

const json = async <T>(...args: string[]): Promise<T> => JSON.parse(await run(...args)) as T;
const status = (cluster = 'sandbox') => json<ClusterStatus>('status', cluster, '--json');
const server = (s: ClusterStatus, address: string) => s.servers.find((x) => x.address === address);

test('version names this build and the polling worker, in text and --json', async () => {
  const { build, workers } = await json<{ build: string; workers: string[] }>('version', '--json');
  assert.ok(workers.some((w) => w.startsWith(`gtidflow ${build} `)), JSON.stringify(workers));
  assert.match((await run('version')).split('\n')[0], new RegExp(`^gtidflow ${build.replace(/[.+]/g, '\\$&')}$`));
});

test('status and status --json: view 1, the first server primary and writable, the others replicating from it', async () => {
  const s = await status();
  assert.equal(s.viewId, 1);
  assert.equal(s.primary, servers[0]);
  assert.equal(operatorOperation(s), null);
  assert.deepEqual(s.servers.map((x) => [x.address, x.status, x.readOnly, x.replicatingFrom, x.capability]), [
    [servers[0], 'PRIMARY', false, null, 'read-write'],
    ...servers.slice(1).map((a) => [a, 'SECONDARY', true, servers[0], 'read-write']),
  ]);
  const text = (await run('status', 'sandbox')).trim().split('\n');
  // The schedule's health round may be running or be the last operation already.
  assert.match(text[0], new RegExp(`^cluster sandbox: view 1, primary ${servers[0]}, (idle|running health #\\d+); last: (bootstrap #1|health #\\d+) completed`));
  for (const address of servers) assert.ok(text.some((l) => l.startsWith(address)), `${address} in\n${text.join('\n')}`);
});

test('npx gtidflow, typed in the repository or below it, is the same CLI', async () => {
  const root = await npxGtidflow(['status', 'sandbox', '--json'], env);
  assert.equal(root.code, 0, root.stderr);
  const below = await npxGtidflow(['history', 'sandbox', '--json'], env, path.join(__dirname, '..', '..', 'client'));
  assert.equal(below.code, 0, below.stderr);
  assert.equal((JSON.parse(root.stdout) as ClusterStatus).primary, servers[0]);
  assert.deepEqual(JSON.parse(below.stdout), await json('history', 'sandbox', '--json'));
});

test('inspect and inspect --json read every server through a workflow', async () => {
  const inspection = await json<{ cluster: string; servers: { address: string; reachable: boolean; readOnly: boolean }[] }>('inspect', 'sandbox', '--json');
  assert.equal(inspection.cluster, 'sandbox');
  assert.deepEqual(inspection.servers.map((s) => [s.address, s.reachable, s.readOnly]), servers.map((a, i) => [a, true, i > 0]));
  const text = (await run('inspect', 'sandbox')).trim().split('\n');
  assert.equal(text[0], 'cluster sandbox');
  assert.equal(text.length, 1 + servers.length);
});

test('promote --candidate follows the switchover step by step; demote moves the primary on; history shows both views', async () => {
  const promoted = (await run('promote', 'sandbox', '--candidate', servers[1])).trim().split('\n');
  assert.match(promoted[0], /^switchover #\d+ started: cluster:sandbox\/switchover\/\d+$/);
  assert.ok(promoted.some((l) => l === `  promoting ${servers[1]}`), promoted.join('\n'));
  assert.equal(promoted[promoted.length - 1], `switchover from ${servers[0]} to ${servers[1]}`);
  let s = await status();
  assert.deepEqual([s.viewId, s.primary, server(s, servers[0])?.status, server(s, servers[0])?.replicatingFrom], [2, servers[1], 'SECONDARY', servers[1]]);

  const demoted = (await run('demote', 'sandbox')).trim().split('\n');
  assert.match(demoted[demoted.length - 1], new RegExp(`^switchover from ${servers[1]} to 127\\.0\\.0\\.1:\\d+$`));
  s = await status();
  assert.equal(s.viewId, 3);
  assert.notEqual(s.primary, servers[1]);

  const views = await json<{ viewId: number; primary: string; operation: string; members: string[] }[]>('history', 'sandbox', '--json');
  assert.deepEqual(views.map((v) => [v.viewId, v.primary]), [[1, servers[0]], [2, servers[1]], [3, s.primary]]);
  assert.deepEqual(views[0].members, servers);
  const text = (await run('history', 'sandbox')).trim().split('\n');
  assert.equal(text.length, 3);
  assert.match(text[1], new RegExp(`^view 2  \\S+  primary ${servers[1]}  members .*  by switchover`));
});

test('server set-penalty, set-status and capability set: each recorded in status --json (--update-only records only)', async () => {
  const target = (await status()).servers.find((x) => x.status === 'SECONDARY')!.address;
  const changes: [string[], (s: ClusterStatus) => unknown, unknown][] = [
    [['server', 'set-penalty', 'sandbox', target, '7'], (s) => server(s, target)?.penalty, 7],
    [['server', 'set-status', 'sandbox', target, 'SPARE'], (s) => server(s, target)?.status, 'SPARE'],
    [['server', 'set-status', 'sandbox', target, 'secondary'], (s) => server(s, target)?.status, 'SECONDARY'],
    [['capability', 'set', 'sandbox', target, 'read-only'], (s) => server(s, target)?.capability, 'read-only'],
    [['capability', 'set', 'sandbox', target, '--database', 'app', 'disabled'], (s) => server(s, target)?.capability, 'read-only'],
    [['capability', 'set', 'sandbox', target, 'read-write'], (s) => server(s, target)?.capability, 'read-write'],
    [['server', 'set-penalty', 'sandbox', target, '0', '--update-only'], (s) => server(s, target)?.penalty, 0],
  ];
  let viewId = (await status()).viewId;
  for (const [args, read, expected] of changes) {
    const out = (await run(...args)).trim().split('\n');
    const s = await status();
    assert.equal(read(s), expected, `${args.join(' ')}:\n${out.join('\n')}`);
    assert.equal(s.viewId, ++viewId, `${args.join(' ')} makes the next view`);
    assert.equal(operatorOperation(s), null);
  }
  assert.match((await run('status', 'sandbox')).split('\n').find((l) => l.startsWith(target)) ?? '', /SECONDARY\s+penalty=0/);
  await run('capability', 'set', 'sandbox', target, 'read-only');
  assert.match((await run('status', 'sandbox')).split('\n').find((l) => l.startsWith(target)) ?? '', /capability=read-only$/);
  await run('capability', 'set', 'sandbox', target, 'read-write');
});

test('set-status FAULTY takes a server out; set-status SPARE brings it back through the rejoin checks, then SECONDARY', async () => {
  const target = (await status()).servers.find((x) => x.status === 'SECONDARY')!.address;
  await run('server', 'set-status', 'sandbox', target, 'FAULTY');
  assert.equal(server(await status(), target)?.status, 'FAULTY');
  const back = await run('server', 'set-status', 'sandbox', target, 'SPARE');
  assert.match(back, /caught up/);
  assert.equal(server(await status(), target)?.status, 'SPARE');
  await run('server', 'set-status', 'sandbox', target, 'SECONDARY');
  assert.equal(server(await status(), target)?.status, 'SECONDARY');
});

test('failover: the primary fenced, a replica promoted, the old primary FAULTY; rejoin brings it back; ack re-arms detection', async () => {
  const old = (await status()).primary;
  const out = (await run('failover', 'sandbox', '--reason', 'e2e: operator failover')).trim().split('\n');
  assert.match(out[0], /^failover #\d+ started: cluster:sandbox\/failover\/\d+$/);
  assert.ok(out.some((l) => l.startsWith('  fencing ')), out.join('\n'));
  assert.match(out[out.length - 1], new RegExp(`^failover from ${old} to 127\\.0\\.0\\.1:\\d+$`));
  let s = await status();
  assert.notEqual(s.primary, old);
  assert.equal(server(s, old)?.status, 'FAULTY');
  assert.equal(server(s, s.primary)?.readOnly, false);

  const rejoined = (await run('rejoin', 'sandbox', old)).trim().split('\n');
  assert.equal(rejoined[rejoined.length - 1], `${old} rejoined as SECONDARY`);
  s = await status();
  assert.deepEqual([server(s, old)?.status, server(s, old)?.replicatingFrom, server(s, old)?.readOnly], ['SECONDARY', s.primary, true]);

  assert.equal((await run('ack', 'sandbox')).trim(), 'automatic failover of sandbox re-armed');
  const views = await json<{ operation: string }[]>('history', 'sandbox', '--json');
  assert.ok(views.some((v) => /failover/.test(v.operation)), JSON.stringify(views.map((v) => v.operation)));
});

test('server remove, then server add --provision dump --status SPARE --penalty 5 brings it back', async () => {
  const target = servers[3] === (await status()).primary ? servers[2] : servers[3];
  const removed = (await run('server', 'remove', 'sandbox', target)).trim().split('\n');
  assert.equal(removed[removed.length - 1], `${target} removed`);
  let s = await status();
  assert.equal(server(s, target), undefined);
  assert.equal(s.servers.length, 3);

  await run('server', 'add', 'sandbox', target, '--provision', 'dump', '--status', 'SPARE', '--penalty', '5');
  s = await status();
  assert.deepEqual([server(s, target)?.status, server(s, target)?.penalty, server(s, target)?.replicatingFrom], ['SPARE', 5, s.primary]);
  const inspection = await json<{ servers: { address: string }[] }>('inspect', 'sandbox', '--json');
  assert.deepEqual(inspection.servers.map((x) => x.address).sort(), s.servers.map((x) => x.address).sort());
});

test('cluster apply: the sandbox\'s own spec again changes nothing; a spec file registers a new cluster, ready at view 1', async () => {
  const before = await status();
  const again = await run('cluster', 'apply', '-f', path.join(env.GTIDFLOW_HOME!, 'clusters', 'sandbox.yaml'));
  assert.equal(again.trim(), `cluster sandbox already registered (view ${before.viewId}); nothing changed`);
  assert.equal((await status()).viewId, before.viewId);

  // A server taken out of the sandbox, its replication reset, becomes the one server of cluster "solo".
  const spare = before.servers.find((x) => x.status === 'SPARE')!.address;
  await run('server', 'remove', 'sandbox', spare);
  const root = await rootConnection(Number(spare.split(':')[1]));
  await root.query('STOP SLAVE; RESET SLAVE ALL');
  await root.end();
  const secrets = path.join(env.GTIDFLOW_HOME!, 'secrets');
  const file = path.join(env.GTIDFLOW_HOME!, 'solo.yaml');
  fs.writeFileSync(file, [
    'name: solo',
    'servers:',
    `  - { address: ${spare}, status: PRIMARY }`,
    'credentials:',
    `  admin: { user: gtidflow, passwordFile: ${secrets}/gtidflow.password }`,
    `  replication: { user: repl, passwordFile: ${secrets}/repl.password }`,
    'policies: { healthIntervalSeconds: 3600 }',
  ].join('\n'));
  assert.equal((await run('cluster', 'apply', '-f', file)).trim(), `cluster solo registered and ready: view 1, primary ${spare}`);
  const solo = await status('solo');
  assert.deepEqual([solo.viewId, solo.primary, solo.servers.map((x) => [x.address, x.readOnly])], [1, spare, [[spare, false]]]);
  assert.equal((await run('cluster', 'apply', '-f', file)).trim(), 'cluster solo already registered (view 1); nothing changed');
  // A registered cluster is inspected as its conductor records it, with no spec file of this installation.
  assert.deepEqual((await json<{ servers: { address: string }[] }>('inspect', 'solo', '--json')).servers.map((x) => x.address), [spare]);
  assert.deepEqual((await json<{ viewId: number }[]>('history', 'solo', '--json')).map((v) => v.viewId), [1]);
});
