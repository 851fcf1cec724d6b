import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import * as mysql from 'mysql2/promise';
import { sleep } from '../../client/local/ports';
import { isRunning } from '../../client/local/processes';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import type { SandboxState } from '../../client/sandbox/state';
import type { SandboxProcess } from '../../client/sandbox/status';
import type { ClusterStatus } from '../../client/status';
import { gtidflow, upNewSandbox } from '../harness/cli';
import { testSandbox } from '../harness/sandbox';

/**
 * The sandbox's host agents, one beside each server, as an operator uses
 * them: a replica taken out and added back by a physical clone, which
 * restarts its mariadbd; `sandbox down` and `up` then find that mariadbd by
 * its pid file. The tests run in order, each from where the previous left.
 */
const sandbox = testSandbox('sandbox-agents');
const { env } = sandbox;
let endpoints: SandboxEndpoints;
let servers: string[];
/** The replica the clone replaces, and its server directory. */
let replica: string;
let replicaDir: string;

before(async () => {
  endpoints = await upNewSandbox(env, 3);
  servers = endpoints.clusters[0].servers.map((s) => `${s.host}:${s.port}`);
});

async function run(...args: string[]): Promise<string> {
  const result = await gtidflow(args, env);
  assert.equal(result.code, 0, `gtidflow ${args.join(' ')}: ${result.stderr}\n${result.stdout}`);
  return result.stdout;
}

const processes = async () => JSON.parse(await run('sandbox', 'status', '--json')) as SandboxProcess[];
const status = async () => JSON.parse(await run('status', 'sandbox', '--json')) as ClusterStatus;
const state = () => JSON.parse(fs.readFileSync(path.join(env.GTIDFLOW_HOME!, 'sandbox.json'), 'utf8')) as SandboxState;
const serverDir = (address: string) => path.join(env.GTIDFLOW_HOME!, 'servers', `s${servers.indexOf(address) + 1}`);
const pidFilePid = (dir: string) => Number(fs.readFileSync(path.join(dir, 'mariadbd.pid'), 'utf8').trim());
const mariadbPid = (ps: SandboxProcess[], address: string) => ps.find((p) => p.role === 'mariadb' && p.address === address)!;

/** Every process (live, not a zombie) whose command line runs mariadbd on this server directory's datadir. */
function mariadbdsOn(dir: string): number[] {
  const datadir = `--datadir=${path.join(dir, 'data')}`;
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(datadir) && isRunning(pid, 'mariadbd');
    } catch {
      return false;
    }
  });
}

function appConnection(port: number): Promise<mysql.Connection> {
  const { app } = endpoints.credentials;
  return mysql.createConnection({ host: '127.0.0.1', port, user: app.user, password: fs.readFileSync(app.passwordFile, 'utf8').trim(), database: 'app' });
}

/** The notes on `address` itself (read-only, so a read), waiting a moment for replication. */
async function notesOn(address: string): Promise<string[]> {
  for (let i = 0; ; i++) {
    const conn = await appConnection(Number(address.split(':')[1]));
    try {
      const [rows] = (await conn.query('SELECT note FROM agents_t ORDER BY id').catch(() => [[]])) as unknown as [{ note: string }[]];
      if (rows.length || i > 50) return rows.map((r) => r.note);
    } finally {
      await conn.end();
    }
    await sleep(100);
  }
}

test('sandbox status lists an agent beside every server, running, each its own process', async () => {
  const ps = await processes();
  const agents = ps.filter((p) => p.role === 'agent');
  assert.deepEqual(agents.map((a) => [a.address, a.running]), servers.map((a) => [a, true]), JSON.stringify(ps));
  assert.equal(new Set(agents.map((a) => a.pid)).size, servers.length);
  for (const a of agents) assert.ok(!ps.some((p) => p !== a && p.pid === a.pid), `agent ${a.pid} is no other process`);
  const text = (await run('sandbox', 'status')).trim().split('\n');
  assert.equal(text.filter((l) => /^agent\s+\d+\s+running 127\.0\.0\.1:\d+$/.test(l)).length, servers.length, text.join('\n'));
  const spec = fs.readFileSync(path.join(env.GTIDFLOW_HOME!, 'clusters', 'sandbox.yaml'), 'utf8');
  assert.match(spec, /^agents: true$/m);
});

test('server remove, then server add --provision clone: copied by the agents, SECONDARY, with the row written before', async () => {
  const primary = (await status()).primary;
  replica = servers.filter((a) => a !== primary).pop()!;
  replicaDir = serverDir(replica);
  const writer = await appConnection(endpoints.clusters[0].writer.port);
  await writer.query('CREATE TABLE agents_t (id INT PRIMARY KEY, note VARCHAR(40))');
  await writer.query("INSERT INTO agents_t VALUES (1, 'before the clone')");
  await writer.end();
  const before = mariadbPid(await processes(), replica).pid;

  const removed = (await run('server', 'remove', 'sandbox', replica)).trim().split('\n');
  assert.equal(removed[removed.length - 1], `${replica} removed`);
  const added = (await run('server', 'add', 'sandbox', replica, '--provision', 'clone')).trim().split('\n');
  assert.ok(added.some((l) => new RegExp(`^  cloning 127\\.0\\.0\\.1:\\d+ onto ${replica}: copying`).test(l)), added.join('\n'));
  assert.ok(added.some((l) => /swapping it in and restarting mariadbd/.test(l)), added.join('\n'));
  assert.match(added[added.length - 1], /added as SECONDARY/);

  const s = await status();
  const joined = s.servers.find((x) => x.address === replica);
  assert.deepEqual([joined?.status, joined?.replicatingFrom], ['SECONDARY', s.primary]);
  assert.deepEqual(await notesOn(replica), ['before the clone']);
  // The agent restarted mariadbd: sandbox status names the new one, from its pid file.
  const after = mariadbPid(await processes(), replica);
  assert.notEqual(after.pid, before);
  assert.deepEqual([after.pid, after.running], [pidFilePid(replicaDir), true]);
  assert.deepEqual(mariadbdsOn(replicaDir), [after.pid]);
});

test('up on the running sandbox keeps the mariadbd the agent started: no second one, its pid recorded', async () => {
  const ps = await processes();
  const again = await sandbox.up();
  assert.deepEqual(again, endpoints);
  const now = await processes();
  assert.deepEqual(now.map((p) => [p.role, p.pid, p.running]), ps.map((p) => [p.role, p.pid, p.running]));
  assert.deepEqual(mariadbdsOn(replicaDir), [pidFilePid(replicaDir)]);
  assert.equal(state().servers[servers.indexOf(replica)].pid, pidFilePid(replicaDir));
});

test('down stops the agents and the mariadbd an agent started; up brings every process back, the clone\'s data with it', async () => {
  const ps = await processes();
  const down = (await run('sandbox', 'down')).trim();
  const stopped = down.replace(/^stopped /, '').split(', ');
  // Agents first, each named by its pid.
  assert.deepEqual(stopped.slice(0, servers.length).sort(), ps.filter((p) => p.role === 'agent').map((p) => `agent ${p.pid}`).sort(), down);
  assert.ok(stopped.includes(`mariadbd ${mariadbPid(ps, replica).pid} (port ${replica.split(':')[1]})`), down);
  for (const p of ps) assert.equal(isRunning(p.pid!, env.GTIDFLOW_HOME!), false, `${p.role} ${p.pid} still running after down`);
  assert.deepEqual(mariadbdsOn(replicaDir), []);
  assert.ok((await processes()).every((p) => !p.running));

  endpoints = await sandbox.up();
  const back = await processes();
  assert.ok(back.every((p) => p.running), JSON.stringify(back));
  assert.deepEqual(back.filter((p) => p.role === 'agent').map((p) => p.address), servers);
  for (const address of servers) assert.deepEqual(mariadbdsOn(serverDir(address)), [mariadbPid(back, address).pid]);
  assert.equal((await status()).servers.find((x) => x.address === replica)?.status, 'SECONDARY');
  assert.deepEqual(await notesOn(replica), ['before the clone']);
});
