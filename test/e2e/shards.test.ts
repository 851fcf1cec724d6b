import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { sleep } from '../../client/local/ports';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import type { ShardLocation } from '../../client/shards';
import type { ClusterStatus } from '../../client/status';
import type { ShardsState } from '../../workflows/shard-model';
import { assertRefusal, gtidflow, startGtidflow, upNewSandbox } from '../harness/cli';
import { asRoot, lockTableOn } from '../harness/hold';
import { sandboxCommands, testSandbox } from '../harness/sandbox';
import { WriterLoad } from '../harness/writer';

/**
 * Shards on `sandbox up --clusters 2`, through the CLI as an operator types
 * it: a database shard with its own endpoint, moved under writes from
 * sandbox to sandbox-2; a move cancelled before its flip; an update-only
 * move; a range shard found by key. The tests run in order, each from where
 * the previous left.
 */
const sandbox = testSandbox('shards');
const { env } = sandbox;
let endpoints: SandboxEndpoints;

const { run, json, primaryPort, serverPorts, appConnection } = sandboxCommands(env, () => endpoints);

/** Runs SQL as root on every server of a cluster; the rows of the last statement, per server. */
const onEach = (cluster: string, sql: string) => Promise.all(serverPorts(cluster).map((port) => asRoot(port, async (c) => (await c.query(sql))[0] as Record<string, unknown>[])));

/** Waits until every server of the cluster answers `sql` with `count` rows (replication brings them). */
async function rowsEverywhere(cluster: string, sql: string, count: number): Promise<number[][]> {
  for (let i = 0; ; i++) {
    const all = (await onEach(cluster, sql)).map((rows) => rows.map((r) => Number(Object.values(r)[0])));
    if (all.every((rows) => rows.length === count) || i > 100) return all;
    await sleep(100);
  }
}

before(async () => {
  endpoints = await upNewSandbox(env, 3, ['--clusters', '2']);
  // The application's shard database, made on the primary as an application would (the app account may create app% databases).
  const conn = await appConnection((await primaryPort('sandbox')));
  await conn.query('CREATE DATABASE appshop');
  await conn.query('CREATE TABLE appshop.writes (id INT PRIMARY KEY, server_id INT NOT NULL)');
  await conn.query('CREATE DATABASE appkeep');
  await conn.query('CREATE TABLE appkeep.t (id INT PRIMARY KEY)');
  await conn.query('INSERT INTO appkeep.t VALUES (1), (2)');
  await conn.end();
});

test('shard add: a database shard gets an endpoint of its own to its cluster\'s primary; list, lookup and the published map agree; bad input is refused with one line', async () => {
  const added = await json<{ name: string; cluster: string; endpoint: { host: string; port: number } }>('shard', 'add', 'shop', '--database', 'appshop', '--cluster', 'sandbox');
  assert.equal(added.cluster, 'sandbox');
  const conn = await appConnection(added.endpoint.port, 'appshop');
  assert.equal(((await conn.query('SELECT @@port AS p'))[0] as { p: number }[])[0].p, await primaryPort('sandbox'));
  await conn.end();
  const found = await json<ShardLocation>('shard', 'lookup', 'shop');
  assert.deepEqual(found, { shard: 'shop', cluster: 'sandbox', mapVersion: 1, endpoint: added.endpoint });
  assert.match(await run('shard', 'list'), /shop\s+on sandbox\s+database appshop, endpoint 127\.0\.0\.1:\d+/);
  // Published on every member of the cluster it names (the view's way: written on the primary, replicated).
  const published = await rowsEverywhere('sandbox', "SELECT endpoint_port FROM gtidflow.shard_map WHERE shard = 'shop' AND cluster = 'sandbox'", 1);
  assert.deepEqual(published, serverPorts('sandbox').map(() => [added.endpoint.port]));

  const refusals: [string[], RegExp][] = [
    [['shard', 'add', 'shop', '--database', 'appother', '--cluster', 'sandbox'], /^gtidflow: shard add refused: shard shop already exists$/],
    [['shard', 'add', 'again', '--database', 'appshop', '--cluster', 'sandbox'], /^gtidflow: shard add refused: database appshop is already in shard shop$/],
    [['shard', 'add', 'x', '--database', 'appx', '--cluster', 'nowhere'], /^gtidflow: shard add refused: .*unknown cluster "nowhere"/],
    [['shard', 'add', 'r', '--table', 'appr.t', '--key', 'id', '--range', '10:5', '--cluster', 'sandbox'], /^gtidflow: the range 10:5 is empty/],
    [['shard', 'move', 'shop', '--to', 'sandbox'], /^gtidflow: shard move refused: shard shop is already on sandbox$/],
    [['shard', 'move', 'nothing', '--to', 'sandbox-2'], /^gtidflow: shard move refused: no shard nothing/],
    [['shard', 'cancel', 'shop'], /^gtidflow: shard cancel refused: shard shop has no move running$/],
    [['shard', 'lookup', '--table', 'appr.t', '--key', '5'], /^gtidflow: no shard holds appr\.t key 5$/],
  ];
  for (const [args, message] of refusals) assertRefusal(await gtidflow(args, env), message, args.join(' '));
  assert.equal((await json<ShardsState>('shard', 'list')).map.version, 1, 'nothing changed');
  // `sandbox up --json` on the running sandbox lists the shard endpoints beside the clusters.
  assert.deepEqual((await json<SandboxEndpoints>('sandbox', 'up')).shards, [{ name: 'shop', cluster: 'sandbox', endpoint: added.endpoint }]);
});

test('shard move under continuous writes through the shard endpoint: every acknowledged row on sandbox-2 once, the endpoint there, writes on the source refused', async () => {
  const { endpoint } = await json<ShardLocation>('shard', 'lookup', 'shop');
  const load = new WriterLoad(() => appConnection(endpoint!.port), 1, { table: 'appshop.writes', pauseMs: 5 });
  await load.acknowledgedCount(50);
  const moved = await run('shard', 'move', 'shop', '--to', 'sandbox-2');
  await load.acknowledgedCount(load.acknowledged().length + 50);
  await load.stop();
  assert.match(moved, /shard shop moved from sandbox to sandbox-2: map version 2, writes frozen \d+ ms/);

  const acknowledged = load.acknowledged();
  const target = await primaryPort('sandbox-2');
  const rows = (await asRoot(target, async (c) => (await c.query('SELECT id, server_id FROM appshop.writes ORDER BY id'))[0])) as { id: number; server_id: number }[];
  const ids = new Set(rows.map((r) => r.id));
  const lost = acknowledged.filter((id) => !ids.has(id));
  assert.deepEqual(lost, [], 'every acknowledged write is on the destination');
  // Ids are a primary key: none twice. Rows are only acknowledged or in flight.
  const extra = [...ids].filter((id) => !acknowledged.includes(id) && !load.inFlight().includes(id));
  assert.deepEqual(extra, []);
  // The last writes were committed on sandbox-2's primary, through the same endpoint.
  const lastId = acknowledged[acknowledged.length - 1];
  const serverIds = (await onEach('sandbox-2', 'SELECT @@server_id AS s')).map((r) => Number(r[0].s));
  assert.ok(serverIds.includes(rows.find((r) => r.id === lastId)!.server_id), 'the last acknowledged write committed in sandbox-2');
  console.log(`# shard move: ${acknowledged.length} acknowledged writes, longest write gap ${Math.round(load.longestGap(0))} ms`);

  assert.deepEqual(await json<ShardLocation>('shard', 'lookup', 'shop'), { shard: 'shop', cluster: 'sandbox-2', mapVersion: 2, endpoint });
  // On the source, an application still connected there gets the freeze's error, never a silent write.
  const source = await appConnection(await primaryPort('sandbox'), 'appshop');
  await assert.rejects(source.query('INSERT INTO writes VALUES (999999, 0)'), /gtidflow: appshop is read-only \(shard shop moves to sandbox-2\)/);
  await source.end();
  // Both clusters publish the new map; sandbox-2's replicas have every row too.
  await rowsEverywhere('sandbox-2', "SELECT 1 FROM gtidflow.shard_map WHERE shard = 'shop' AND cluster = 'sandbox-2'", 1);
  await rowsEverywhere('sandbox', "SELECT 1 FROM gtidflow.shard_map WHERE shard = 'shop' AND cluster = 'sandbox-2'", 1);
  const replicated = await rowsEverywhere('sandbox-2', 'SELECT COUNT(*) FROM appshop.writes', 1);
  assert.deepEqual(replicated.map((r) => r[0]), serverPorts('sandbox-2').map(() => rows.length));
  // The clusters stay healthy: no server of sandbox-2 is said diverged by sandbox's transactions.
  for (const cluster of ['sandbox', 'sandbox-2']) {
    const s = await json<ClusterStatus>('status', cluster);
    assert.deepEqual(s.servers.filter((x) => x.status !== 'PRIMARY' && x.status !== 'SECONDARY').map((x) => x.address), [], `${cluster}: ${JSON.stringify(s.servers)}`);
  }
  assert.match(await run('shard', 'cleanup', 'shop'), /^dropped appshop on sandbox \(primary 127\.0\.0\.1:\d+\)$/m);
  const left = await rowsEverywhere('sandbox', "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'appshop'", 0);
  assert.deepEqual(left, serverPorts('sandbox').map(() => []));
});

test('the shard endpoint follows its cluster: after a switchover of sandbox-2, writes through it reach the new primary', async () => {
  const { endpoint } = await json<ShardLocation>('shard', 'lookup', 'shop');
  const before = await primaryPort('sandbox-2');
  await run('promote', 'sandbox-2');
  const after = await primaryPort('sandbox-2');
  assert.notEqual(after, before);
  const conn = await appConnection(endpoint!.port, 'appshop');
  assert.equal(((await conn.query('SELECT @@port AS p'))[0] as { p: number }[])[0].p, after);
  await conn.query('INSERT INTO writes VALUES (1000000, @@server_id)');
  await conn.end();
});

test('a shard moves back: sandbox-2 holds sandbox\'s domain only up to the first move, and the catch-up starts where the copy is in each domain', async () => {
  const before = (await asRoot(await primaryPort('sandbox-2'), async (c) => (await c.query('SELECT COUNT(*) AS n FROM appshop.writes'))[0])) as { n: number }[];
  // sandbox has written in its own domain since the first move (the cleanup's drop, among others): the move back must not ask sandbox-2 for those.
  assert.match(await run('shard', 'move', 'shop', '--to', 'sandbox', '--cleanup'), /shard shop moved from sandbox-2 to sandbox: map version \d+, writes frozen \d+ ms/);
  const after = (await asRoot(await primaryPort('sandbox'), async (c) => (await c.query('SELECT COUNT(*) AS n FROM appshop.writes'))[0])) as { n: number }[];
  assert.equal(Number(after[0].n), Number(before[0].n));
  assert.equal((await json<ShardLocation>('shard', 'lookup', 'shop')).cluster, 'sandbox');
  const strict = await onEach('sandbox', 'SELECT @@gtid_strict_mode AS s');
  assert.deepEqual(strict.map((r) => Number(r[0].s)), [1, 1, 1], 'strict mode is on again');
});

test('shard cancel before the flip: the source unchanged and writable, the destination\'s copy and connection gone; status showed the move on both clusters', async () => {
  await run('shard', 'add', 'keep', '--database', 'appkeep', '--cluster', 'sandbox');
  // The copy's dump takes a short global read lock on the donor (a replica of sandbox): a table lock held there stops the move at its copy.
  const donorPort = Number((await json<ClusterStatus>('status', 'sandbox')).servers.find((s) => s.status === 'SECONDARY')!.address.split(':')[1]);
  const held = await lockTableOn(donorPort, 'appkeep.t');
  try {
    const follow = startGtidflow(['shard', 'move', 'keep', '--to', 'sandbox-2'], env);
    await follow.until('the copy step', (o) => /copying appkeep/.test(o), 60_000);
    // status shows the move on both clusters, with its step.
    for (const cluster of ['sandbox', 'sandbox-2']) {
      assert.match(await run('status', cluster), /\n {2}moving: keep from sandbox to sandbox-2: shards\/move\/keep\/\d+\n {4}step: copying appkeep/, cluster);
      const { shardMoves } = await json<{ shardMoves: { shard: string; step: string | null }[] }>('status', cluster);
      assert.deepEqual(shardMoves.map((m) => [m.shard, /^copying appkeep/.test(m.step ?? '')]), [['keep', true]], cluster);
    }
    assert.match(await run('shard', 'cancel', 'keep'), /^cancelling shards\/move\/keep\/\d+/);
    const end = await follow.done;
    assert.notEqual(end.code, 0);
    assert.match(end.stderr, /cancel/i);
  } finally {
    await held.release();
  }
  const state = await json<ShardsState>('shard', 'list');
  assert.equal(state.map.shards.find((s) => s.name === 'keep')!.cluster, 'sandbox');
  assert.equal(state.outcomes.at(-1)!.outcome, 'cancelled');
  assert.deepEqual(await rowsEverywhere('sandbox-2', "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'appkeep'", 0), serverPorts('sandbox-2').map(() => []));
  const channels = await onEach('sandbox-2', 'SHOW ALL SLAVES STATUS');
  assert.deepEqual(channels.flatMap((rows) => rows.map((r) => r.Connection_name)).filter(Boolean), []);
  const conn = await appConnection(await primaryPort('sandbox'), 'appkeep');
  await conn.query('INSERT INTO t VALUES (3)');
  assert.deepEqual(((await conn.query('SELECT id FROM t ORDER BY id'))[0] as { id: number }[]).map((r) => r.id), [1, 2, 3]);
  await conn.end();
});

test('shard move --update-only changes the recorded map alone; a range shard is found by table and key', async () => {
  const before = (await json<ShardsState>('shard', 'list')).map.version;
  assert.match(await run('shard', 'move', 'keep', '--to', 'sandbox-2', '--update-only'), /shard keep recorded on sandbox-2 \(update-only\): map version \d+/);
  assert.equal((await json<ShardLocation>('shard', 'lookup', 'keep')).cluster, 'sandbox-2');
  assert.equal((await json<ShardsState>('shard', 'list')).map.version, before + 1);
  // No data moved: the database is still (only) on sandbox.
  assert.deepEqual((await onEach('sandbox-2', "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'appkeep'")).map((r) => r.length), [0, 0, 0]);

  await run('shard', 'add', 'low', '--table', 'apporders.orders', '--key', 'customer_id', '--range', '0:1000', '--cluster', 'sandbox');
  await run('shard', 'add', 'high', '--table', 'apporders.orders', '--key', 'customer_id', '--range', '1000:', '--cluster', 'sandbox-2');
  const low = await json<ShardLocation>('shard', 'lookup', '--table', 'apporders.orders', '--key', '999');
  const high = await json<ShardLocation>('shard', 'lookup', '--table', 'apporders.orders', '--key', '1000');
  const writer = (name: string) => endpoints.clusters.find((c) => c.name === name)!.writer;
  assert.deepEqual([low.shard, low.cluster, low.endpoint], ['low', 'sandbox', writer('sandbox')]);
  assert.deepEqual([high.shard, high.cluster, high.endpoint], ['high', 'sandbox-2', writer('sandbox-2')]);
  assertRefusal(await gtidflow(['shard', 'add', 'mid', '--table', 'apporders.orders', '--key', 'customer_id', '--range', '500:1500', '--cluster', 'sandbox'], env),
    /^gtidflow: shard add refused: the range 500:1500 overlaps shard low \(0:1000\)$/, 'an overlapping range');
});


test('shard split under writes: each row ends on exactly one cluster, lookup right on both sides, a write to a moved key on the source refused', async () => {
  const setup = await appConnection(await primaryPort('sandbox'));
  await setup.query('CREATE DATABASE appsplit');
  await setup.query('CREATE TABLE appsplit.orders (id INT PRIMARY KEY, customer_id INT NOT NULL, KEY (customer_id))');
  await setup.query('INSERT INTO appsplit.orders SELECT seq, seq FROM appsplit.seq_0_to_1999');
  await setup.end();
  await run('shard', 'add', 'orders', '--table', 'appsplit.orders', '--key', 'customer_id', '--range', '0:', '--cluster', 'sandbox');

  // Writes to keys that stay (below 1000) go on through sandbox's writer endpoint during the whole split.
  const writer = endpoints.clusters.find((c) => c.name === 'sandbox')!.writer;
  let running = true;
  const written: number[] = [];
  const writes = (async () => {
    for (let id = 10_000; running; id++) {
      const conn = await appConnection(writer.port, 'appsplit').catch(() => undefined);
      if (!conn) continue;
      await conn.query('INSERT INTO orders VALUES (?, ?)', [id, id % 1000]).then(() => written.push(id), () => undefined);
      await conn.end();
      await sleep(20);
    }
  })();
  assert.match(await run('shard', 'split', 'orders', '--at', '1000', '--as', 'orders-high', '--to', 'sandbox-2'),
    /shard orders split at 1000: orders-high on sandbox-2: map version \d+, writes frozen \d+ ms/);
  running = false;
  await writes;
  assert.ok(written.length > 0, 'writes to the staying keys went on');

  const keys = async (cluster: string) => (await asRoot(await primaryPort(cluster), async (c) => (await c.query('SELECT id, customer_id FROM appsplit.orders ORDER BY id'))[0])) as { id: number; customer_id: number }[];
  const low = await keys('sandbox');
  const high = await keys('sandbox-2');
  assert.deepEqual(low.filter((r) => r.customer_id >= 1000), [], 'no moved key left on sandbox');
  assert.deepEqual(high.filter((r) => r.customer_id < 1000), [], 'no staying key on sandbox-2');
  assert.equal(high.length, 1000);
  assert.equal(low.length, 1000 + written.length);
  assert.deepEqual(written.filter((id) => !low.some((r) => r.id === id)), [], 'every acknowledged write kept');

  const at = async (key: number) => json<ShardLocation>('shard', 'lookup', '--table', 'appsplit.orders', '--key', String(key));
  assert.deepEqual([(await at(999)).shard, (await at(999)).cluster], ['orders', 'sandbox']);
  assert.deepEqual([(await at(1000)).shard, (await at(1000)).cluster], ['orders-high', 'sandbox-2']);
  const source = await appConnection(await primaryPort('sandbox'), 'appsplit');
  await assert.rejects(source.query('INSERT INTO orders VALUES (99999, 1500)'), /gtidflow: appsplit is read-only \(shard orders-high moves to sandbox-2\)/);
  await source.query('INSERT INTO orders VALUES (99998, 500)');
  await source.end();
  const target = await appConnection(await primaryPort('sandbox-2'), 'appsplit');
  await target.query('INSERT INTO orders VALUES (99999, 1500)');
  await target.end();
  assertRefusal(await gtidflow(['shard', 'split', 'orders', '--at', '2000', '--as', 'x', '--to', 'sandbox-2'], env),
    /^gtidflow: shard split refused: --at 2000 is not inside shard orders's range 0:1000/, 'a split outside the range');
});
