import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { sleep } from '../../client/local/ports';
import { isRunning } from '../../client/local/processes';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import type { SandboxProcess } from '../../client/sandbox/status';
import type { ClusterStatus } from '../../client/status';
import { assertRefusal, gtidflow, operatorOperation, upNewSandbox } from '../harness/cli';
import { asRoot } from '../harness/hold';
import { sandboxCommands, testSandbox } from '../harness/sandbox';

/**
 * `sandbox up --clusters 2`: the clusters "sandbox" and "sandbox-2" side by
 * side on one Temporal, one HAProxy and one worker, each its own servers,
 * server ids, GTID domain, conductor and endpoints. The tests run in order,
 * each from where the previous left.
 */
const sandbox = testSandbox('sandbox-clusters');
const { env } = sandbox;
let endpoints: SandboxEndpoints;
type Cluster = SandboxEndpoints['clusters'][number];
const addresses = (c: Cluster) => c.servers.map((s) => `${s.host}:${s.port}`);
/** The GTID domain each cluster writes in: sandbox keeps MariaDB's default, sandbox-n has n. */
const DOMAINS: Record<string, number> = { sandbox: 0, 'sandbox-2': 2 };

const { run, appConnection } = sandboxCommands(env, () => endpoints);

const status = async (cluster: string) => JSON.parse(await run('status', cluster, '--json')) as ClusterStatus;
const processes = async () => JSON.parse(await run('sandbox', 'status', '--json')) as SandboxProcess[];


/** The rows of app2.t on one server (a read: replicas too), waiting a moment for replication to bring `count`. */
async function rowsOn(port: number, count: number): Promise<{ id: number; cluster: string }[]> {
  for (let i = 0; ; i++) {
    const conn = await appConnection(port);
    try {
      const [rows] = (await conn.query('SELECT id, cluster FROM app2.t ORDER BY id').catch(() => [[]])) as unknown as [{ id: number; cluster: string }[]];
      if (rows.length >= count || i > 50) return rows;
    } finally {
      await conn.end();
    }
    await sleep(100);
  }
}

const serverVariables = (port: number) => asRoot(port, async (c) =>
  ((await c.query('SELECT @@server_id AS serverId, @@gtid_domain_id AS domain, @@gtid_binlog_state AS binlog'))[0] as { serverId: number; domain: number; binlog: string }[])[0]);

before(async () => {
  endpoints = await upNewSandbox(env, 3, ['--clusters', '2']);
});

test('up --clusters 2 --json: two clusters of three servers, their own endpoints, server ids distinct, one GTID domain per cluster', async () => {
  assert.deepEqual(endpoints.clusters.map((c) => [c.name, c.servers.length]), [['sandbox', 3], ['sandbox-2', 3]]);
  const ports = endpoints.clusters.flatMap((c) => [...c.servers.map((s) => s.port), c.writer.port, c.reader.port]);
  assert.equal(new Set(ports).size, 10, `every server and endpoint its own port: ${ports}`);
  const ids: number[] = [];
  for (const c of endpoints.clusters) {
    for (const s of c.servers) {
      const v = await serverVariables(s.port);
      ids.push(Number(v.serverId));
      assert.equal(Number(v.domain), DOMAINS[c.name], `${c.name} ${s.port}: gtid_domain_id`);
    }
  }
  assert.equal(new Set(ids).size, 6, `server ids ${ids}`);
  // A host agent restarts its mariadbd (a clone) with the options it runs with: sandbox-2's domain and ids too.
  const agent = JSON.parse(fs.readFileSync(path.join(env.GTIDFLOW_HOME!, 'servers-2', 's1', 'agent.json'), 'utf8')) as { start: string[] };
  assert.ok(agent.start.includes('--gtid-domain-id=2') && agent.start.includes('--server-id=201'), agent.start.join(' '));
  for (const name of ['sandbox', 'sandbox-2']) assert.ok(fs.existsSync(path.join(env.GTIDFLOW_HOME!, 'clusters', `${name}.yaml`)));
});

test('status of each cluster shows its own primary, its replicas replicating from it', async () => {
  for (const c of endpoints.clusters) {
    const s = await status(c.name);
    assert.equal(s.cluster, c.name);
    assert.deepEqual(s.servers.map((x) => x.address), addresses(c));
    assert.ok(addresses(c).includes(s.primary), `${c.name}'s primary ${s.primary} is one of its servers`);
    for (const x of s.servers) {
      assert.deepEqual([x.address, x.status, x.replicatingFrom, x.readOnly],
        x.address === s.primary ? [x.address, 'PRIMARY', null, false] : [x.address, 'SECONDARY', s.primary, true]);
    }
  }
});

test('the app account creates app2 and writes through each cluster\'s writer; each cluster keeps its own rows, in its own domain', async () => {
  for (const c of endpoints.clusters) {
    const writer = await appConnection(c.writer.port);
    try {
      await writer.query('CREATE DATABASE app2');
      await writer.query('CREATE TABLE app2.t (id INT PRIMARY KEY, cluster VARCHAR(20))');
      await writer.query('INSERT INTO app2.t VALUES (1, ?)', [c.name]);
      // Only databases named app…, and nothing that passes read_only.
      await assert.rejects(writer.query('CREATE DATABASE other'), /denied/i);
      const grants = ((await writer.query('SHOW GRANTS'))[0] as Record<string, string>[]).map((r) => Object.values(r)[0]);
      assert.equal(grants.length, 2, grants.join('\n'));
      assert.match(grants[0], /^GRANT USAGE ON \*\.\* TO /, grants.join('\n'));
      assert.match(grants[1], /^GRANT ALL PRIVILEGES ON `app%`\.\* TO /, grants.join('\n'));
    } finally {
      await writer.end();
    }
  }
  for (const c of endpoints.clusters) {
    const primary = (await status(c.name)).primary;
    for (const s of c.servers) {
      assert.deepEqual(await rowsOn(s.port, 1), [{ id: 1, cluster: c.name }], `${c.name} ${s.port}`);
      // Every transaction any server of the cluster holds was written in the cluster's domain, by its own servers.
      const { binlog } = await serverVariables(s.port);
      const entries = binlog.split(',').filter(Boolean).map((e) => e.split('-').map(Number));
      assert.ok(entries.length > 0, `${c.name} ${s.port}: empty binlog state`);
      assert.ok(entries.every(([domain]) => domain === DOMAINS[c.name]), `${c.name} ${s.port}: ${binlog}`);
      if (`127.0.0.1:${s.port}` !== primary) {
        const replica = await appConnection(s.port);
        await assert.rejects(replica.query("INSERT INTO app2.t VALUES (2, 'on a replica')"), /read-only|READ.ONLY/i);
        await replica.end();
      }
    }
    // The reader endpoint serves this cluster's replicas.
    assert.deepEqual(await rowsOn(c.reader.port, 1), [{ id: 1, cluster: c.name }]);
  }
});

test('a switchover of sandbox-2 moves its primary and its writer endpoint; sandbox is untouched', async () => {
  const [one, two] = endpoints.clusters;
  const before = { one: await status(one.name), two: await status(two.name) };
  const candidate = addresses(two).find((a) => a !== before.two.primary)!;
  const promoted = (await run('promote', two.name, '--candidate', candidate)).trim().split('\n');
  assert.equal(promoted[promoted.length - 1], `switchover from ${before.two.primary} to ${candidate}`, promoted.join('\n'));

  const after = { one: await status(one.name), two: await status(two.name) };
  assert.equal(after.two.primary, candidate);
  assert.ok(after.two.viewId > before.two.viewId);
  assert.equal(operatorOperation(after.one), null);
  assert.deepEqual([after.one.primary, after.one.viewId], [before.one.primary, before.one.viewId]);
  assert.deepEqual(after.one.servers.map((s) => [s.address, s.status, s.replicatingFrom, s.readOnly]),
    before.one.servers.map((s) => [s.address, s.status, s.replicatingFrom, s.readOnly]));

  // Each writer endpoint reaches its own cluster's primary.
  for (const [c, primary] of [[one, after.one.primary], [two, candidate]] as const) {
    const writer = await appConnection(c.writer.port, 'app2');
    try {
      const [[row]] = (await writer.query('SELECT @@port AS port, @@read_only AS ro')) as unknown as [{ port: number; ro: number }[]];
      assert.deepEqual([`127.0.0.1:${row.port}`, Number(row.ro)], [primary, 0], c.name);
      await writer.query('INSERT INTO app2.t VALUES (2, ?)', [c.name]);
    } finally {
      await writer.end();
    }
    for (const s of c.servers) assert.deepEqual(await rowsOn(s.port, 2), [{ id: 1, cluster: c.name }, { id: 2, cluster: c.name }], `${c.name} ${s.port}`);
  }
});

test('sandbox status covers both clusters; up again keeps them, a different --clusters is refused in one line', async () => {
  const ps = await processes();
  for (const role of ['mariadb', 'agent'] as const) {
    const of = ps.filter((p) => p.role === role);
    assert.deepEqual(of.map((p) => [p.cluster, p.address, p.running]),
      endpoints.clusters.flatMap((c) => addresses(c).map((a) => [c.name, a, true])), role);
  }
  assert.ok(ps.every((p) => p.running), JSON.stringify(ps));
  const text = (await run('sandbox', 'status')).trim().split('\n');
  assert.equal(text.filter((l) => /^mariadb\s+\d+\s+running 127\.0\.0\.1:\d+ sandbox-2$/.test(l)).length, 3, text.join('\n'));

  assert.deepEqual(await sandbox.up(), endpoints);
  assertRefusal(await gtidflow(['sandbox', 'up', '--clusters', '1'], env), /^gtidflow: the sandbox in .* has 2 clusters, not 1: /, 'up --clusters 1');
  assertRefusal(await gtidflow(['sandbox', 'up', '--clusters', '0'], env), /--clusters must be a whole number from 1 to 9/, 'up --clusters 0');
  const now = await processes();
  assert.deepEqual(now.map((p) => [p.role, p.pid, p.running]), ps.map((p) => [p.role, p.pid, p.running]));
});

test('sandbox down stops every process of both clusters; up brings both back as they were, sandbox-2 still in its domain', async () => {
  const ps = await processes();
  const primaries = [(await status('sandbox')).primary, (await status('sandbox-2')).primary];
  const down = (await run('sandbox', 'down')).trim();
  const stopped = down.replace(/^stopped /, '').split(', ');
  assert.equal(stopped.filter((s) => s.startsWith('agent ')).length, 6, down);
  assert.equal(stopped.filter((s) => s.startsWith('mariadbd ')).length, 6, down);
  for (const p of ps) assert.equal(isRunning(p.pid!, env.GTIDFLOW_HOME!), false, `${p.role} ${p.pid} (${p.cluster ?? ''}) still running after down`);
  assert.ok((await processes()).every((p) => !p.running));

  // No --clusters: the sandbox keeps the two it was made with. Temporal may come back on other ports: another
  // file's sandbox may have taken the well-known ones while this one was down.
  const { temporal: _now, ...back } = await sandbox.up();
  const { temporal: _then, ...before } = endpoints;
  assert.deepEqual(back, before);
  assert.ok((await processes()).every((p) => p.running));
  assert.deepEqual([(await status('sandbox')).primary, (await status('sandbox-2')).primary], primaries);
  for (const c of endpoints.clusters) {
    for (const s of c.servers) {
      assert.equal(Number((await serverVariables(s.port)).domain), DOMAINS[c.name], `${c.name} ${s.port} after up`);
      assert.equal((await rowsOn(s.port, 2)).length, 2);
    }
  }
  await run('sandbox', 'down');
  assert.ok((await processes()).every((p) => !p.running));
});
