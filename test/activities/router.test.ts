import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { before, beforeEach, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import * as mysql from 'mysql2/promise';
import { freePort, sleep } from '../../client/local/ports';
import { startHaproxy, stopHaproxy } from '../../client/local/haproxy';
import { haproxyAction, haproxyCommand } from '../../activities/router/haproxy-socket';
import { fenceWriter, HaproxyRouter, readRoutes, routeWriter } from '../../activities/router/haproxy';
import { addToRouter, removeFromRouter } from '../../activities/router/membership';
import { READER_CHECK } from '../../activities/router/reader-check';
import { activityRunner } from '../harness/activity';
import { startTestCluster, TestCluster } from '../harness/cluster';
import { proxySessions, startTestRouter } from '../harness/router';

let cluster: TestCluster;
let run: ReturnType<typeof activityRunner>;
let router: HaproxyRouter;
let writerPort: number;
let readerPort: number;
const addr = (i: number) => cluster.addresses[i];

before(async () => {
  cluster = await startTestCluster(3);
  run = activityRunner(cluster);
  ({ router, writerPort, readerPort } = await startTestRouter(cluster));
});

beforeEach(async () => {
  await run(routeWriter, { router, writer: addr(0), readers: [addr(1), addr(2)] });
});

const { viaProxy, serverPort, portsBehind } = proxySessions(() => cluster);

/** One reader-endpoint session on each of `servers` (round-robin: a few connections reach them all). */
async function readerSessionsOn(servers: number[]): Promise<Map<number, mysql.Connection>> {
  const sessions = new Map<number, mysql.Connection>();
  const spare: mysql.Connection[] = [];
  for (let i = 0; i < 4 * servers.length && sessions.size < servers.length; i++) {
    const conn = await viaProxy(readerPort);
    const port = await serverPort(conn);
    const index = cluster.servers.findIndex((s) => s.port === port);
    if (servers.includes(index) && !sessions.has(index)) sessions.set(index, conn);
    else spare.push(conn);
  }
  await Promise.all(spare.map((c) => c.end()));
  assert.deepEqual([...sessions.keys()].sort(), [...servers].sort(), 'a reader session on each server');
  return sessions;
}

/** What `show stat` says of a server of the reader backend: UP, DOWN, MAINT, "no check", ... */
async function readerStatus(name: string): Promise<string> {
  const answer = await haproxyCommand(router.adminSocket, 'show stat -1 4 -1');
  const [header, ...rows] = answer.split('\n').filter((l) => l.trim());
  const columns = header.replace(/^# /, '').split(',');
  const row = rows.map((r) => r.split(',')).find((r) => r[0] === router.readerBackend && r[1] === name);
  return row ? row[columns.indexOf('status')] : 'absent';
}

async function waitForReaderStatus(name: string, status: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await readerStatus(name);
    if (status.test(found) || Date.now() > deadline) return found;
    await sleep(100);
  }
}

test('routeWriter moves the writer: new sessions land on the new writer, sessions to the old one are cut', async () => {
  const old = await viaProxy(writerPort);
  assert.equal(await serverPort(old), cluster.servers[0].port);
  const result = await run(routeWriter, { router, writer: addr(1), readers: [addr(0), addr(2)] });
  assert.deepEqual(result, { changed: true, writer: addr(1), readers: [addr(0), addr(2)].sort() });
  assert.deepEqual(await portsBehind(writerPort, 3), [cluster.servers[1].port]);
  await assert.rejects(old.query('SELECT 1'));
});

test('routeWriter twice: the second run finds everything in place', async () => {
  assert.equal((await run(routeWriter, { router, writer: addr(2), readers: [addr(0)] })).changed, true);
  assert.equal((await run(routeWriter, { router, writer: addr(2), readers: [addr(0)] })).changed, false);
  assert.deepEqual(await run(readRoutes, { router }), { writer: [addr(2)], readers: [addr(0)] });
});

test('a retry after maint but before shutdown sessions still cuts the old writer\'s sessions', async () => {
  const old = await viaProxy(writerPort);
  await haproxyAction(router.adminSocket, `set server writer/${addr(0)} state maint`);
  assert.equal((await run(routeWriter, { router, writer: addr(1), readers: [addr(2)] })).changed, true);
  await assert.rejects(old.query('SELECT 1'));
});

test('fenceWriter leaves no writer and cuts its sessions; twice is no change', async () => {
  const old = await viaProxy(writerPort);
  assert.deepEqual(await run(fenceWriter, { router, server: addr(0) }), { server: addr(0), changed: true });
  assert.deepEqual(await run(readRoutes, { router }), { writer: [], readers: [addr(1), addr(2)].sort() });
  await assert.rejects(old.query('SELECT 1'));
  await assert.rejects(viaProxy(writerPort));
  assert.equal((await run(fenceWriter, { router, server: addr(0) })).changed, false);
});

test('reads follow the readers list', async () => {
  assert.deepEqual(await portsBehind(readerPort, 6), [cluster.servers[1].port, cluster.servers[2].port].sort());
  await run(routeWriter, { router, writer: addr(0), readers: [addr(2)] });
  assert.deepEqual(await portsBehind(readerPort, 6), [cluster.servers[2].port]);
  assert.deepEqual(await run(readRoutes, { router }), { writer: [addr(0)], readers: [addr(2)] });
});

test('an unknown server or backend is a RouterConfig error, and nothing changes', async () => {
  const before = await run(readRoutes, { router });
  for (const attempt of [
    () => run(routeWriter, { router, writer: '127.0.0.1:1', readers: [addr(1)] }),
    () => run(routeWriter, { router, writer: addr(1), readers: ['127.0.0.1:1'] }),
    () => run(fenceWriter, { router, server: '127.0.0.1:1' }),
    () => run(readRoutes, { router: { ...router, readerBackend: 'nosuch' } }),
    () => run(routeWriter, { router, writer: `${addr(1)}\nshutdown frontend writer`, readers: [] }),
  ]) {
    const err = await attempt().catch((e) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'RouterConfig');
    assert.equal(err.nonRetryable, true);
  }
  assert.deepEqual(await run(readRoutes, { router }), before);
});

test('an unreachable or silent socket is a retryable error naming the socket', async () => {
  const missing = path.join(cluster.dir, 'missing.sock');
  const err = await run(readRoutes, { router: { ...router, adminSocket: missing } }).catch((e) => e);
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.type, 'RouterUnreachable');
  assert.equal(err.nonRetryable, false);
  assert.match(err.message, new RegExp(`${missing}: cannot connect`));

  const silentSocket = path.join(cluster.dir, 'silent.sock');
  const silent = net.createServer(() => undefined).listen(silentSocket);
  try {
    const started = Date.now();
    const timeout = await run(readRoutes, { router: { ...router, adminSocket: silentSocket } }).catch((e) => e);
    assert.equal(timeout.type, 'RouterUnreachable');
    assert.match(timeout.message, new RegExp(`${silentSocket}: no answer within`));
    assert.ok(Date.now() - started < 5_000);
  } finally {
    silent.close();
  }
});

test('a server leaving the reader backend (FAULTY, capability disabled) loses its reader sessions; the others keep theirs', async () => {
  const sessions = await readerSessionsOn([1, 2]);
  assert.equal((await run(routeWriter, { router, writer: addr(0), readers: [addr(2)] })).changed, true);
  await assert.rejects(sessions.get(1)!.query('SELECT 1'));
  assert.equal(await serverPort(sessions.get(2)!), cluster.servers[2].port);
  await sessions.get(2)!.end();
});

test('a retry after maint but before shutdown sessions still cuts a leaving reader\'s sessions', async () => {
  const sessions = await readerSessionsOn([1]);
  await haproxyAction(router.adminSocket, `set server reader/${addr(1)} state maint`);
  assert.equal((await run(routeWriter, { router, writer: addr(0), readers: [addr(2)] })).changed, true);
  await assert.rejects(sessions.get(1)!.query('SELECT 1'));
  assert.equal((await run(routeWriter, { router, writer: addr(0), readers: [addr(2)] })).changed, false);
});

test('a server added at runtime is health-checked in the reader backend: stopped, it is marked DOWN and gets no reads', async () => {
  const added = await cluster.addServer();
  const name = addr(added);
  assert.deepEqual(await run(addToRouter, { router, server: name }), { server: name, changed: true });
  assert.deepEqual(await run(addToRouter, { router, server: name }), { server: name, changed: false });
  await run(routeWriter, { router, writer: addr(0), readers: [addr(1), addr(2), name] });
  assert.match(await waitForReaderStatus(name, /^UP$/, 5_000), /^UP$/);
  assert.deepEqual(await portsBehind(readerPort, 6), [cluster.servers[1].port, cluster.servers[2].port, cluster.servers[added].port].sort());

  await cluster.stop(added);
  assert.equal(await waitForReaderStatus(name, /^DOWN/, 10_000), 'DOWN');
  assert.deepEqual(await portsBehind(readerPort, 6), [cluster.servers[1].port, cluster.servers[2].port].sort());
  // Still what gtidflow asked for: the check, not gtidflow, holds it out.
  assert.deepEqual(await run(readRoutes, { router }), { writer: [addr(0)], readers: [addr(1), addr(2), name].sort() });
  assert.equal((await run(removeFromRouter, { router, server: name })).changed, true);
});

test('a retry after add server but before enable health still enables the check', async () => {
  const added = await cluster.addServer();
  const name = addr(added);
  // Where a crash leaves it: in both backends, the reader's check configured and not yet enabled.
  await haproxyCommand(router.adminSocket, `add server ${router.writerBackend}/${name} ${name}`);
  await haproxyCommand(router.adminSocket, `add server ${router.readerBackend}/${name} ${name} ${READER_CHECK}`);
  assert.equal(await readerStatus(name), 'MAINT');
  assert.equal((await run(addToRouter, { router, server: name })).changed, true);
  await run(routeWriter, { router, writer: addr(0), readers: [addr(1), addr(2), name] });
  await cluster.stop(added);
  assert.equal(await waitForReaderStatus(name, /^DOWN/, 10_000), 'DOWN');
  assert.equal((await run(removeFromRouter, { router, server: name })).changed, true);
});

test('a port taken before HAProxy binds it: HAProxy starts on other free ports and says which', async () => {
  const squatter = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const taken = (squatter.address() as net.AddressInfo).port;
  try {
    const adminSocket = path.join(cluster.dir, 'haproxy-squatted.sock');
    const backend = [{ name: addr(0), port: cluster.servers[0].port, enabled: true }];
    const started = await startHaproxy(
      { adminSocket, writerPort: taken, readerPort: await freePort(), writer: backend, reader: backend },
      path.join(cluster.dir, 'haproxy-squatted.cfg'), path.join(cluster.dir, 'haproxy-squatted.log'),
    );
    try {
      assert.notEqual(started.writerPort, taken);
      assert.deepEqual(await portsBehind(started.writerPort, 1), [cluster.servers[0].port]);
    } finally {
      await stopHaproxy(started.pid);
    }
  } finally {
    squatter.close();
  }
});
