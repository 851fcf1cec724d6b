import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { startHaproxy, stopHaproxy } from '../../client/local/haproxy';
import { isRunning } from '../../client/local/processes';
import { showProc, showServersState } from '../../activities/router/haproxy-socket';
import { HaproxyRouter, readRoutes, routeWriter } from '../../activities/router/haproxy';
import { addToRouter } from '../../activities/router/membership';
import { openShardEndpoint, routeShard, ShardRoute, ShardRouter } from '../../activities/router/shard-endpoint';
import { activityRunner } from '../harness/activity';
import { track, untrack } from '../harness/cleanup';
import { startTestCluster, TestCluster } from '../harness/cluster';
import { proxySessions, startTestRouter } from '../harness/router';

/**
 * Shard endpoints on a real HAProxy 2.6 in master-worker mode, as the
 * sandbox runs it, in front of real MariaDB servers: the tests run in
 * order, each from where the one before left the proxy.
 */
let cluster: TestCluster;
let run: ReturnType<typeof activityRunner>;
let router: HaproxyRouter;
let shards: ShardRouter;
let writerPort: number;
let readerPort: number;
/** The endpoint of shard "orders", and the arguments it was last opened with. */
let orders: number;
let ordersRoute: ShardRoute;
/** A server added at run time (addToRouter): dynamic in the cluster's backends. */
let added: number;
const addr = (i: number) => cluster.addresses[i];
const portOf = (i: number) => cluster.servers[i].port;
const configDir = () => shards.owned!.configDir;
const proc = () => showProc(shards.owned!.masterSocket);

before(async () => {
  cluster = await startTestCluster(3);
  run = activityRunner(cluster);
  ({ router, writerPort, readerPort, shards } = await startTestRouter(cluster));
});

const { viaProxy, serverPort, portsBehind } = proxySessions(() => cluster);

function assertOneLine(err: unknown, reason: RegExp): void {
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.type, 'RouterConfig');
  assert.equal(err.nonRetryable, true);
  assert.doesNotMatch(err.message, /\n/);
  assert.match(err.message, reason);
}

test('openShardEndpoint opens an endpoint to the writer; called again it changes nothing and does not reload', async () => {
  ordersRoute = { router: shards, shard: 'orders', servers: [addr(0), addr(1), addr(2)], writer: addr(0) };
  const opened = await run(openShardEndpoint, ordersRoute);
  assert.equal(opened.changed, true);
  orders = opened.endpoint!.port;
  assert.deepEqual(await portsBehind(orders, 3), [portOf(0)]);
  const before = await proc();
  assert.deepEqual(await run(openShardEndpoint, ordersRoute), { endpoint: { host: '127.0.0.1', port: orders }, changed: false });
  const after = await proc();
  assert.equal(after.master.reloads, before.master.reloads);
  assert.deepEqual(after.workers, before.workers);
});

test('a reload keeps what was set at run time: admin states, a dynamic server (the writer here), sessions open through the writer endpoints', async () => {
  added = await cluster.addServer();
  await run(addToRouter, { router, server: addr(added) });
  await run(routeWriter, { router, writer: addr(added), readers: [addr(1), addr(2)] });
  const routes = await run(readRoutes, { router });
  const clusterSession = await viaProxy(writerPort);
  const shardSession = await viaProxy(orders);
  assert.equal(await serverPort(clusterSession), portOf(added));
  // orders' servers are all the cluster's: the new member joined its backend, and its endpoint followed the cluster's writer.
  assert.equal(await serverPort(shardSession), portOf(added));

  const before = await proc();
  assert.equal((await run(openShardEndpoint, { router: shards, shard: 'billing', servers: [addr(0), addr(1), addr(2)], writer: addr(2) })).changed, true);
  const after = await proc();
  assert.equal(after.master.reloads, before.master.reloads + 1);
  assert.notDeepEqual(after.workers, before.workers);

  assert.deepEqual(await run(readRoutes, { router }), routes);
  assert.ok((await showServersState(router.adminSocket, 'writer')).some((s) => s.name === addr(added)));
  assert.equal((await showServersState(router.adminSocket, 'reader')).find((s) => s.name === addr(added))?.healthCheck, 'enabled');
  assert.equal(await serverPort(clusterSession), portOf(added));
  assert.equal(await serverPort(shardSession), portOf(added));
  assert.deepEqual(await portsBehind(writerPort, 3), [portOf(added)]);
  await Promise.all([clusterSession.end(), shardSession.end()]);
});

test('routeShard moves the writer: sessions to the old one are shut, an old worker\'s too, and the new one answers; twice is no change', async () => {
  const fromOldWorker = await viaProxy(orders);
  await run(openShardEndpoint, { router: shards, shard: 'reports', servers: [addr(0)], writer: addr(0) });
  assert.ok((await proc()).oldWorkers.length > 0, 'the session keeps the worker the reload replaced');
  const fromNewWorker = await viaProxy(orders);
  assert.equal(await serverPort(fromNewWorker), portOf(added));

  ordersRoute = { ...ordersRoute, writer: addr(1) };
  assert.deepEqual(await run(routeShard, ordersRoute), { changed: true, writer: addr(1) });
  await assert.rejects(fromOldWorker.query('SELECT 1'));
  await assert.rejects(fromNewWorker.query('SELECT 1'));
  assert.deepEqual(await portsBehind(orders, 3), [portOf(1)]);
  assert.deepEqual(await run(routeShard, ordersRoute), { changed: false, writer: addr(1) });
});

test('a shard that moves to another cluster: the new servers join its backend at run time, the writer moves there, and opening it again keeps its port', async () => {
  const session = await viaProxy(orders);
  ordersRoute = { ...ordersRoute, servers: [addr(added), addr(2)], writer: addr(added) };
  assert.deepEqual(await run(routeShard, ordersRoute), { changed: true, writer: addr(added) });
  await assert.rejects(session.query('SELECT 1'));
  assert.deepEqual(await portsBehind(orders, 3), [portOf(added)]);
  // Left behind: deleted, so the backend is all its new cluster's.
  const backend = await showServersState(router.adminSocket, 'shard-orders');
  assert.deepEqual(backend.map((s) => [s.name, s.ready]).sort(), [[addr(added), true], [addr(2), false]].sort());

  // Opened again (a reload writes the runtime's servers into its file): the same port, nothing to change.
  const reopened = await run(openShardEndpoint, ordersRoute);
  assert.deepEqual(reopened.endpoint, { host: '127.0.0.1', port: orders });
  assert.deepEqual((await showServersState(router.adminSocket, 'shard-orders')).map((s) => s.name).sort(), [addr(added), addr(2)].sort());
  assert.deepEqual(await portsBehind(orders, 3), [portOf(added)]);
  assert.equal((await run(openShardEndpoint, ordersRoute)).changed, false);
});

test('a port another process holds, forced into a shard file: the reload is refused in one line and the serving worker stays', async () => {
  const squatter = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const taken = (squatter.address() as net.AddressInfo).port;
  const file = path.join(configDir(), 'shard-orders.cfg');
  const good = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, good.replace(`127.0.0.1:${orders}`, `127.0.0.1:${taken}`));
  const before = await proc();
  try {
    assertOneLine(await run(openShardEndpoint, ordersRoute).catch((e) => e), new RegExp(`127\\.0\\.0\\.1:${taken}, which another process holds`));
    const after = await proc();
    assert.equal(after.master.reloads, before.master.reloads);
    assert.deepEqual(after.workers, before.workers);
    assert.deepEqual(await portsBehind(orders, 2), [portOf(added)]);
  } finally {
    fs.writeFileSync(file, good);
    squatter.close();
  }
  assert.equal((await run(openShardEndpoint, ordersRoute)).changed, false);
});

test('a configuration haproxy -c rejects, or a reload HAProxy fails: one line with its reason, the serving worker stays, the new file is gone', async () => {
  const extra = path.join(configDir(), 'extra.cfg');
  const cases: [string, RegExp][] = [
    ['frontend extra\n  bind 127.0.0.1:1 nosuchoption\n', /^HAProxy refused the new configuration: .*unknown keyword 'nosuchoption'/],
    // Valid to haproxy -c, which binds nothing; the reload cannot bind it.
    ['frontend extra\n  bind unix@/nonexistent/extra.sock\n', /^HAProxy reload failed, the previous configuration still serves: .*frontend extra: cannot bind/],
  ];
  for (const [text, reason] of cases) {
    fs.writeFileSync(extra, text);
    const before = await proc();
    try {
      assertOneLine(await run(openShardEndpoint, { router: shards, shard: 'late', servers: [addr(0)], writer: addr(0) }).catch((e) => e), reason);
      assert.deepEqual((await proc()).workers, before.workers);
      assert.equal(fs.existsSync(path.join(configDir(), 'shard-late.cfg')), false);
      assert.deepEqual(await portsBehind(orders, 2), [portOf(added)]);
      assert.deepEqual(await portsBehind(writerPort, 2), [portOf(added)]);
    } finally {
      fs.rmSync(extra);
    }
  }
});

test('not owned: a shard without its backend in the operator\'s configuration is a one-line error naming it; one with it is routed, no endpoint given', async () => {
  const operator: ShardRouter = { adminSocket: router.adminSocket };
  const servers = [addr(0), addr(1), addr(2)];
  assertOneLine(await run(openShardEndpoint, { router: operator, shard: 'nosuch', servers, writer: addr(0) }).catch((e) => e), /no backend shard-nosuch; add a frontend .* and a backend shard-nosuch/);
  // billing's backend is there, as if the operator had configured it.
  assert.deepEqual(await run(openShardEndpoint, { router: operator, shard: 'billing', servers, writer: addr(0) }), { endpoint: null, changed: true });
  assert.deepEqual(await run(routeShard, { router: operator, shard: 'billing', servers, writer: addr(0) }), { changed: false, writer: addr(0) });
  for (const shard of ['Orders', 'a'.repeat(41), 'a b', '', '../x']) {
    assertOneLine(await run(openShardEndpoint, { router: shards, shard, servers, writer: addr(0) }).catch((e) => e), /^invalid shard name/);
  }
  assertOneLine(await run(routeShard, { router: shards, shard: 'orders', servers, writer: addr(added) }).catch((e) => e), /is not one of its servers/);
});

test('stopping the master stops every worker, an old one holding a session too; started again, the shard keeps its endpoint', async () => {
  const configFile = path.join(cluster.dir, 'haproxy.cfg');
  const held = await viaProxy(writerPort);
  await run(openShardEndpoint, { router: shards, shard: 'last', servers: [addr(0)], writer: addr(0) });
  const { master, workers, oldWorkers } = await proc();
  assert.ok(oldWorkers.length > 0);
  await stopHaproxy(master.pid);
  for (const pid of [master.pid, ...workers, ...oldWorkers]) assert.equal(isRunning(pid, configFile), false, `pid ${pid} still runs`);
  await held.end().catch(() => undefined);

  // As `sandbox up` after HAProxy died: the clusters' part written again, the shards' files as they were.
  const backend = cluster.servers.map((s, i) => ({ name: addr(i), port: s.port, enabled: i === 1 }));
  const again = await startHaproxy({ adminSocket: router.adminSocket, writerPort, readerPort, writer: backend, reader: backend }, configFile, path.join(cluster.dir, 'haproxy.log'));
  track(again.pid);
  try {
    assert.deepEqual(await portsBehind(orders, 2), [portOf(added)]);
    assert.deepEqual(await run(openShardEndpoint, ordersRoute), { endpoint: { host: '127.0.0.1', port: orders }, changed: false });
  } finally {
    await stopHaproxy(again.pid);
    untrack(again.pid);
  }
});
