import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { connect, type Access } from '../../activities/db/connection';
import { classifyServerError } from '../../activities/db/errors';
import { provision } from '../../activities/provision';
import { changeSource, resetReplication } from '../../activities/replication';
import { getServerState, probeServer } from '../../activities/server-state';
import { activityRunner } from '../harness/activity';
import { atEnd } from '../harness/cleanup';
import { startTestCluster, TestCluster, waitForReplicas } from '../harness/cluster';
import { tempDir } from '../harness/tempdir';

/*
 * Servers that accept nothing but TLS (--require-secure-transport, for
 * replicas too), with certificates made here: a CA, server certificates for
 * 127.0.0.1 (an IP SAN), a client certificate the admin account requires,
 * and a "stranger" server certificate from another CA.
 */

const certs = tempDir('tls');
let cluster: TestCluster;
let run: ReturnType<typeof activityRunner>;
const server = (i: number) => ({ address: cluster.addresses[i], access: cluster.access });
const file = (name: string) => path.join(certs, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(name: string): void {
  openssl('req', '-x509', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=gtidflow test ${name}`);
}

function makeCert(name: string, ca: string, extensions: string): void {
  openssl('req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  fs.writeFileSync(file(`${name}.ext`), `${extensions}\n`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
}

const serverTls = (cert: string, ca: string) => [
  `--ssl-ca=${file(`${ca}.pem`)}`, `--ssl-cert=${file(`${cert}.pem`)}`, `--ssl-key=${file(`${cert}.key`)}`, '--require-secure-transport=ON',
];

/** Where the database hosts keep the CA: not the worker's copy (here, another path on the same machine). */
const DB_HOST_CA = () => file('db-host/ca.pem');

/** The failure an activity threw. */
async function failureOf(work: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await work;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `not an ApplicationFailure: ${String(err)}`);
    return err;
  }
  return assert.fail('it succeeded');
}

/** The replica's IO thread error, once it has one (it retries connecting meanwhile). */
async function lastIoError(i: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [status] = await cluster.sql(i, 'SHOW SLAVE STATUS');
    if (status.Last_IO_Errno || Date.now() > deadline) return `${status.Last_IO_Errno}: ${status.Last_IO_Error}`;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function withConnectVia<T>(via: string, work: () => Promise<T>): Promise<T> {
  process.env.GTIDFLOW_CONNECT_VIA = via;
  try {
    return await work();
  } finally {
    delete process.env.GTIDFLOW_CONNECT_VIA;
  }
}

before(async () => {
  atEnd(async () => fs.rmSync(certs, { recursive: true, force: true }));
  makeCa('ca');
  makeCa('other-ca');
  makeCert('server', 'ca', 'subjectAltName = IP:127.0.0.1');
  makeCert('client', 'ca', 'extendedKeyUsage = clientAuth');
  makeCert('stranger', 'other-ca', 'subjectAltName = IP:127.0.0.1');
  fs.mkdirSync(file('db-host'));
  fs.copyFileSync(file('ca.pem'), DB_HOST_CA());
  cluster = await startTestCluster(2, {
    // Servers 0 and 1 have the CA's certificate; added later, 2 has the stranger's and 3 no TLS at all.
    serverArgs: (i) => (i < 2 ? serverTls('server', 'ca') : i === 2 ? serverTls('stranger', 'other-ca') : []),
    tls: { caFile: file('ca.pem'), certFile: file('client.pem'), keyFile: file('client.key'), replication: { caFile: DB_HOST_CA() } },
  });
  run = activityRunner(cluster);
  for (const i of [0, 1]) await cluster.sql(i, "SET SESSION sql_log_bin = 0; ALTER USER 'gtidflow'@'%' REQUIRE X509");
  await cluster.sql(0, 'CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY)');
});

test('gtidflow\'s own sessions are encrypted and carry the client certificate', async () => {
  const db = await connect(cluster.addresses[0], cluster.access);
  try {
    const [cipher] = await db.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
    assert.notEqual(cipher.Value, '', 'Ssl_cipher is empty: the session is not encrypted');
  } finally {
    await db.close();
  }
  assert.equal((await run(getServerState, server(1))).address, cluster.addresses[1]);

  // The admin account REQUIRE X509: without the client certificate the server says no.
  const { certFile, keyFile, ...caOnly } = cluster.access.tls!;
  assert.ok(certFile && keyFile);
  const failure = await failureOf(connect(cluster.addresses[0], { ...cluster.access, tls: caOnly }));
  assert.equal(failure.type, 'AccessDenied');
});

test('changeSource replicates over TLS, with the CA path of the database hosts, and rows arrive', async () => {
  await run(resetReplication, server(1));
  const result = await run(changeSource, { ...server(1), source: cluster.addresses[0] });
  assert.equal(result.replication?.tls, true);
  const [status] = await cluster.sql(1, 'SHOW SLAVE STATUS');
  assert.equal(status.Master_SSL_Allowed, 'Yes');
  assert.equal(status.Master_SSL_CA_File, DB_HOST_CA());
  assert.equal(status.Master_SSL_Verify_Server_Cert, 'Yes');

  // The primary takes nothing but TLS: rows that arrive came over it.
  await cluster.sql(0, 'INSERT INTO shop.orders VALUES (1), (2)');
  await waitForReplicas(cluster);
  assert.deepEqual((await cluster.sql(1, 'SELECT id FROM shop.orders ORDER BY id')).map((r) => r.id), [1, 2]);
  assert.equal((await run(getServerState, server(1))).replication?.ioRunning, true);

  assert.equal((await run(changeSource, { ...server(1), source: cluster.addresses[0] })).changed, false, 'already so: nothing to do');
});

test('a replica streaming in clear from the right source is repointed with TLS', async () => {
  await cluster.sql(1, 'STOP SLAVE; CHANGE MASTER TO MASTER_SSL = 0; START SLAVE');
  const result = await run(changeSource, { ...server(1), source: cluster.addresses[0] });
  assert.equal(result.changed, true);
  assert.equal(result.replication?.tls, true);
  await cluster.sql(0, 'INSERT INTO shop.orders VALUES (3)');
  await waitForReplicas(cluster);
  assert.equal((await cluster.sql(1, 'SELECT COUNT(*) AS n FROM shop.orders'))[0].n, 3);
});

test('a connection lost during the TLS handshake stays retryable, as the reset it is', () => {
  // mysql2 gives every handshake failure the code HANDSHAKE_SSL_ERROR, over Node's.
  const nodeReset = Object.assign(new Error('Client network socket disconnected before secure TLS connection was established'), { code: 'HANDSHAKE_SSL_ERROR' });
  const systemReset = Object.assign(new Error('read ECONNRESET'), { code: 'HANDSHAKE_SSL_ERROR', errno: -104, syscall: 'read' });
  for (const err of [nodeReset, systemReset]) {
    const failure = classifyServerError(err, 'db1:3306');
    assert.deepEqual([failure.type, failure.nonRetryable, (failure.details?.[0] as { code: string }).code], ['ConnectionLost', false, 'ECONNRESET']);
  }
});

test('a CA file the worker cannot read: one line naming it, not retried', async () => {
  const access: Access = { ...cluster.access, tls: { caFile: file('missing.pem') } };
  const failure = await failureOf(connect(cluster.addresses[0], access));
  assert.equal(failure.message, `${cluster.addresses[0]}: cannot read the TLS CA file: ENOENT ${file('missing.pem')}`);
  assert.equal(failure.nonRetryable, true);
});

test('a certificate for another name is refused: one line, naming the server and TLS, not retried', async () => {
  const address = `localhost:${cluster.servers[0].port}`;
  const failure = await failureOf(connect(address, cluster.access));
  assert.equal(failure.message, `${address}: TLS handshake failed: ` +
    "Hostname/IP does not match certificate's altnames: Host: localhost. is not cert's CN: server");
  assert.equal(failure.type, 'Tls');
  assert.equal(failure.nonRetryable, true);
});

test('through a forward (GTIDFLOW_CONNECT_VIA) the certificate must still name the recorded server', async () => {
  const { port } = cluster.servers[0];
  const db = await withConnectVia(`127.0.0.1:${port}=localhost:${port}`, () => connect(`127.0.0.1:${port}`, cluster.access));
  await db.close();
  const failure = await failureOf(withConnectVia(`localhost:${port}=127.0.0.1:${port}`, () => connect(`localhost:${port}`, cluster.access)));
  assert.match(failure.message, /^localhost:\d+: TLS handshake failed: Hostname\/IP does not match/);
});

// Last: servers gtidflow cannot reach join the cluster's addresses.
test('a server whose certificate another CA signed is refused: one line, naming the server and TLS, not retried', async () => {
  const stranger = await cluster.addServer();
  const address = cluster.addresses[stranger];
  const failure = await failureOf(connect(address, cluster.access));
  assert.equal(failure.message, `${address}: TLS handshake failed: self-signed certificate in certificate chain`);
  assert.equal(failure.type, 'Tls');
  assert.equal(failure.nonRetryable, true);

  // Detection reads it as an answer: unreachable, but not a host that refused the connection.
  const probe = await run(probeServer, server(stranger));
  assert.deepEqual(probe, { address, reachable: false, error: failure.message, refused: false });

  // A replica checks its source's certificate too: pointed at the stranger, its IO thread fails on it.
  await run(changeSource, { ...server(1), source: address });
  assert.match(await lastIoError(1), /^2026: error connecting to master .* SSL connection error/);
});

test('a server without TLS, when the cluster asks for it: one line saying so, not retried', async () => {
  const plain = await cluster.addServer();
  const address = cluster.addresses[plain];
  const failure = await failureOf(connect(address, cluster.access));
  assert.equal(failure.message, `${address}: TLS: Server does not support secure connection`);
  assert.equal(failure.nonRetryable, true);
});

test('provisioning by dump goes over TLS too, with the client certificate (the servers take nothing else)', async () => {
  await cluster.sql(0, 'INSERT INTO shop.orders VALUES (10), (11)');
  const result = await run(provision, { ...server(1), source: cluster.addresses[0], method: 'dump' });
  assert.equal(result.changed, true);
  assert.deepEqual((await cluster.sql(1, 'SELECT id FROM shop.orders WHERE id >= 10 ORDER BY id')).map((r) => r.id), [10, 11]);
});
