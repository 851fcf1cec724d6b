import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import { healthScheduleId } from '../../workflows/api';
import type { ClusterStatus } from '../../client/status';
import { assertRefusal, gtidflow, operatorOperation, startGtidflow, upNewSandbox } from '../harness/cli';
import { testSandbox } from '../harness/sandbox';

/**
 * Every way an operator's command is refused, on a sandbox of its own:
 * each exits non-zero with one line on stderr naming why, no stack trace,
 * and leaves the cluster as it was (the view, the primary, every server as
 * recorded, the running operation: read with status --json before and after).
 */
const sandbox = testSandbox('cli-refusals');
const { env } = sandbox;
let endpoints: SandboxEndpoints;
let servers: string[];

before(async () => {
  endpoints = await upNewSandbox(env);
  servers = endpoints.clusters[0].servers.map((s) => `${s.host}:${s.port}`);
});

async function status(cluster = 'sandbox'): Promise<ClusterStatus> {
  const result = await gtidflow(['status', cluster, '--json'], env);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as ClusterStatus;
}

/** What a refused command must leave as it was: the recorded state, and each server's role as it is live. */
const recorded = (s: ClusterStatus) => ({
  viewId: s.viewId, primary: s.primary, operation: operatorOperation(s),
  servers: s.servers.map(({ address, status: st, penalty, capability, readOnly, replicatingFrom }) => ({ address, status: st, penalty, capability, readOnly, replicatingFrom })),
});

type Case = [args: string[], message: RegExp];

/** Runs every case (a few at a time, they are independent), each must be refused as it says; then nothing changed. */
async function assertAllRefused(cases: Case[], exitCode?: number): Promise<void> {
  const before = recorded(await status());
  for (let i = 0; i < cases.length; i += 4) {
    await Promise.all(cases.slice(i, i + 4).map(async ([args, message]) => {
      const result = await gtidflow(args, env);
      assertRefusal(result, message, `gtidflow ${args.join(' ')}`);
      if (exitCode !== undefined) assert.equal(result.code, exitCode, `gtidflow ${args.join(' ')}: exit code`);
    }));
  }
  assert.deepEqual(recorded(await status()), before, 'a refused command changed the cluster');
}

test('an unknown cluster, for every command that names one', async () => {
  const unknown = /^gtidflow: unknown cluster "nosuch"/;
  const [, replica] = servers;
  await assertAllRefused([
    [['status', 'nosuch'], unknown],
    [['status', 'nosuch', '--json'], unknown],
    [['status', 'nosuch', '--watch'], unknown],
    [['inspect', 'nosuch'], unknown],
    [['history', 'nosuch'], unknown],
    [['ack', 'nosuch'], unknown],
    [['promote', 'nosuch'], unknown],
    [['demote', 'nosuch'], unknown],
    [['failover', 'nosuch'], unknown],
    [['rejoin', 'nosuch', replica], unknown],
    [['server', 'add', 'nosuch', '127.0.0.1:1'], unknown],
    [['server', 'remove', 'nosuch', replica], unknown],
    [['server', 'set-status', 'nosuch', replica, 'SPARE'], unknown],
    [['server', 'set-penalty', 'nosuch', replica, '3'], unknown],
    [['capability', 'set', 'nosuch', replica, 'read-only'], unknown],
  ]);
});

test('an unknown server, and a server that is no candidate', async () => {
  const stranger = '127.0.0.1:1';
  const notAServer = new RegExp(`${stranger} is not a server of this cluster`);
  await assertAllRefused([
    [['promote', 'sandbox', '--candidate', stranger], notAServer],
    [['failover', 'sandbox', '--candidate', stranger], notAServer],
    [['rejoin', 'sandbox', stranger], notAServer],
    [['server', 'remove', 'sandbox', stranger], notAServer],
    [['server', 'set-status', 'sandbox', stranger, 'SPARE'], notAServer],
    [['server', 'set-penalty', 'sandbox', stranger, '3'], notAServer],
    [['capability', 'set', 'sandbox', stranger, 'read-only'], notAServer],
    [['server', 'add', 'sandbox', servers[1]], new RegExp(`add refused: ${servers[1]} is already a server of this cluster`)],
    [['server', 'add', 'sandbox', 'nonsense'], /invalid server address "nonsense": expected host:port/],
    [['promote', 'sandbox', '--candidate', servers[0]], new RegExp(`cannot promote ${servers[0]}: it is the primary`)],
  ]);
});

test('an illegal status change, and the other refusals of the status matrix', async () => {
  const [primary, replica] = servers;
  await assertAllRefused([
    [['server', 'set-status', 'sandbox', replica, 'PRIMARY'], /change refused: .*cannot change SECONDARY to PRIMARY by set-status: only by promote/],
    [['server', 'set-status', 'sandbox', primary, 'SPARE'], /change refused: .*cannot change PRIMARY to SPARE by set-status/],
    [['server', 'set-status', 'sandbox', primary, 'FAULTY'], /change refused: .*cannot change PRIMARY to FAULTY by set-status/],
    [['rejoin', 'sandbox', replica], new RegExp(`rejoin refused: ${replica} is SECONDARY, not FAULTY: nothing to rejoin`)],
    [['server', 'add', 'sandbox', '127.0.0.1:1', '--status', 'PRIMARY'], /add refused: a new server is SECONDARY or SPARE, not PRIMARY/],
    [['failover', 'sandbox', '--update-only'], /an update-only failover needs --candidate/],
    [['capability', 'set', 'sandbox', replica, '--database', 'no-such!', 'read-only'], /"no-such!" is not a database name/],
  ]);
});

test('a command line in error: usage, exit code 2', async () => {
  await assertAllRefused([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['status'], /status takes one cluster name/],
    [['status', 'sandbox', '--bogus'], /Unknown option '--bogus'/],
    [['promote', 'sandbox', '--accept-loss', '0-1-1'], /--accept-loss goes with a failover that reads the servers/],
    [['demote', 'sandbox', '--accept-loss', '0-1-1'], /--accept-loss goes with a failover that reads the servers/],
    [['failover', 'sandbox', '--update-only', '--candidate', servers[1], '--accept-loss', '0-1-1'], /--accept-loss goes with a failover that reads the servers/],
    [['server', 'set-status', 'sandbox', servers[1], 'BOGUS'], /a server's status is PRIMARY, SECONDARY, SPARE or FAULTY, not "BOGUS"/],
    [['server', 'set-penalty', 'sandbox', servers[1], 'abc'], /a write penalty is a whole number ≥ 0, not "abc"/],
    [['server', 'set-penalty', 'sandbox', servers[1], '-1'], /a write penalty is a whole number ≥ 0, not "-1"/],
    [['server', 'add', 'sandbox', '127.0.0.1:1', '--penalty', 'x'], /a write penalty is a whole number ≥ 0, not "x"/],
    [['server', 'add', 'sandbox', '127.0.0.1:1', '--provision', 'rsync'], /--provision is clone, dump, script:<command> or none, not "rsync"/],
    [['capability', 'set', 'sandbox', servers[1], 'bogus'], /a capability is read-write, read-only or disabled, not "bogus"/],
    [['server', 'frob', 'sandbox', servers[1]], /server takes: add\|remove/],
    [['cluster', 'apply'], /cluster apply needs -f <spec.yaml>/],
  ], 2);
});

test('cluster apply of a malformed or invalid spec file names the line and the field; nothing is registered', async () => {
  const dir = env.GTIDFLOW_HOME!;
  const write = (name: string, lines: string[]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };
  const credentials = ['credentials:', '  admin: { user: gtidflow, passwordEnv: A }', '  replication: { user: repl, passwordEnv: R }'];
  const malformed = write('malformed.yaml', ['name: ghost', 'servers:', '  - address: 127.0.0.1:1', '    status: PRIMARY', '    penalty 0', ...credentials]);
  const invalid = write('invalid.yaml', [
    'name: ghost', //                                 1
    'servers:', //                                    2
    '  - address: 127.0.0.1:1', //                    3
    '    status: PRIMARY', //                         4
    '  - address: 127.0.0.1:2', //                    5
    '    penalty: 0', //                              6
    '    status: MASTER', //                          7
    ...credentials,
  ]);
  const unknownField = write('unknown-field.yaml', ['name: ghost', 'servers:', '  - { address: 127.0.0.1:1, status: PRIMARY, weight: 3 }', ...credentials]);
  const twoPasswords = write('two-passwords.yaml', ['name: ghost', 'servers:', '  - { address: 127.0.0.1:1, status: PRIMARY }',
    'credentials:', '  admin: { user: gtidflow, passwordEnv: A, passwordFile: /x }', '  replication: { user: repl, passwordEnv: R }']);
  const unreachable = write('unreachable.yaml', ['name: ghost', 'servers:', '  - { address: 127.0.0.1:1, status: PRIMARY }', ...credentials]);
  const secrets = path.join(dir, 'secrets');
  const sandboxCredentials = ['credentials:', `  admin: { user: gtidflow, passwordFile: ${secrets}/gtidflow.password }`,
    `  replication: { user: repl, passwordFile: ${secrets}/repl.password }`];
  const otherServers = write('other-servers.yaml', ['name: sandbox', 'servers:', `  - { address: ${servers[0]}, status: PRIMARY }`, ...sandboxCredentials]);
  // A replica named as primary passes the inspection, and its bootstrap refuses it before changing anything.
  const replicaAsPrimary = write('replica-as-primary.yaml', ['name: ghost2', 'servers:', `  - { address: ${servers[1]}, status: PRIMARY }`, ...sandboxCredentials]);
  await assertAllRefused([
    [['cluster', 'apply', '-f', malformed], new RegExp(`^gtidflow: ${malformed} line 5: not valid YAML: Implicit map keys need to be followed by map values$`)],
    [['cluster', 'apply', '-f', invalid], new RegExp(`^gtidflow: ${invalid} line 7: servers\\[1\\]\\.status: must be PRIMARY, SECONDARY, SPARE or FAULTY, not "MASTER"$`)],
    [['cluster', 'apply', '-f', unknownField], new RegExp(`^gtidflow: ${unknownField} line 3: servers\\[0\\]\\.weight: unknown field: expected address, status or penalty$`)],
    [['cluster', 'apply', '-f', twoPasswords], new RegExp(`^gtidflow: ${twoPasswords} line 5: credentials\\.admin: give exactly one of passwordFile or passwordEnv`)],
    [['cluster', 'apply', '-f', path.join(dir, 'missing.yaml')], /cannot read .*missing\.yaml: no such file$/],
    [['cluster', 'apply', '-f', unreachable], /^gtidflow: cluster ghost not registered: 127\.0\.0\.1:1: /],
    [['cluster', 'apply', '-f', otherServers], /cluster sandbox is already registered with other servers/],
    [['cluster', 'apply', '-f', replicaAsPrimary], new RegExp(`^gtidflow: cluster ghost2 not registered: ${servers[1]} replicates from ${servers[0]}: it is not a primary`)],
  ]);
  assertRefusal(await gtidflow(['status', 'ghost'], env), /unknown cluster "ghost"/, 'status ghost');
  // The failed bootstrap left its conductor terminated: no cluster, though its last memo is still there to read.
  assertRefusal(await gtidflow(['status', 'ghost2'], env), /^gtidflow: unknown cluster "ghost2" \(its conductor cluster:ghost2 is TERMINATED\)/, 'status ghost2');
  // Nor its health schedule (it would start a health round of nobody every minute).
  const connection = await Connection.connect({ address: endpoints.temporal.address });
  try {
    await assert.rejects(new Client({ connection }).schedule.getHandle(healthScheduleId('ghost2')).describe(), /not found/i);
  } finally {
    await connection.close();
  }
});

test('a busy cluster: while a server add waits in its provisioning script, every other request is refused, naming it', async () => {
  const [, replica, joining] = servers;
  const go = path.join(env.GTIDFLOW_HOME!, 'provision-may-finish');
  assert.equal((await gtidflow(['server', 'remove', 'sandbox', joining], env)).code, 0);
  const add = startGtidflow(['server', 'add', 'sandbox', joining, '--provision', `script:while [ ! -e ${go} ]; do sleep 0.2; done`], env);
  try {
    await add.until('the provisioning to start', (out) => out.includes(`provisioning ${joining}`));
    const running = await status();
    assert.equal(running.operation?.kind, 'addServer');
    const busy = new RegExp(`refused: cluster sandbox is busy with addServer #${running.operation!.id}; try again when it ends$`);
    await assertAllRefused([
      [['promote', 'sandbox'], busy],
      [['demote', 'sandbox', '--candidate', replica], busy],
      [['server', 'set-penalty', 'sandbox', replica, '3'], busy],
      [['server', 'set-status', 'sandbox', replica, 'SPARE'], busy],
      [['capability', 'set', 'sandbox', replica, 'read-only'], busy],
      [['server', 'remove', 'sandbox', replica], busy],
      [['server', 'add', 'sandbox', '127.0.0.1:1'], busy],
    ]);
  } finally {
    fs.writeFileSync(go, '');
  }
  const added = await add.done;
  assert.equal(added.code, 0, added.stderr);
  const s = await status();
  assert.equal(operatorOperation(s), null);
  assert.equal(s.servers.find((x) => x.address === joining)?.status, 'SECONDARY');
});
