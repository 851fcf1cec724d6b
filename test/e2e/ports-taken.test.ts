import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { freePort, listensOn } from '../../client/local/ports';
import { startTemporalOnFreePorts, stopTemporal } from '../../client/local/temporal';
import { track, untrack } from '../harness/cleanup';
import { testSandbox } from '../harness/sandbox';
import { startTestTemporal } from '../harness/temporal';
import { tempDir } from '../harness/tempdir';

/**
 * Ports chosen free are taken before their server binds them: by another
 * sandbox, Temporal's own random ports, a parallel test file. A Temporal
 * dev server asked for a port another one holds: the other answers there,
 * so answering is not proof; this one starts again on other free ports,
 * and listens itself.
 */
test('a port another Temporal server holds: started on other ports, the one returned is its own', async () => {
  const other = await startTestTemporal();
  const taken = Number(other.address.split(':')[1]);
  const dir = tempDir('temporal-second');
  const started = await startTemporalOnFreePorts({ dbFile: path.join(dir, 'db.sqlite'), port: taken, uiPort: taken + 1, logFile: path.join(dir, 'log'), ui: false });
  track(started.pid);
  try {
    assert.notEqual(started.port, taken);
    assert.ok(listensOn(started.pid, started.port), `pid ${started.pid} listens on ${started.port}`);
  } finally {
    await stopTemporal(started.pid);
    untrack(started.pid);
  }
});

test('a new sandbox whose state names a server port taken meanwhile: its servers start on other free ports, the cluster comes up', async () => {
  const squatter = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const taken = (squatter.address() as net.AddressInfo).port;
  const sandbox = testSandbox('ports-taken');
  // As `sandbox up` makes it, with the first server's port taken since.
  const state = {
    cluster: 'sandbox', temporal: { port: await freePort(), uiPort: await freePort() },
    servers: await Promise.all([taken, 0, 0].map(async (port) => ({ port: port || (await freePort()), agent: { transferPort: await freePort() } }))),
    haproxy: { writerPort: await freePort(), readerPort: await freePort() }, worker: {},
  };
  fs.writeFileSync(path.join(sandbox.env.GTIDFLOW_HOME!, 'sandbox.json'), JSON.stringify(state));
  try {
    const endpoints = await sandbox.up();
    const ports = endpoints.clusters[0].servers.map((s) => s.port);
    assert.ok(!ports.includes(taken), `${ports.join(', ')} must not include the taken ${taken}`);
    assert.equal(new Set(ports).size, 3);
  } finally {
    squatter.close();
  }
});
