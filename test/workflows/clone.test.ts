import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { followOperation, requestAddServer, requestOperation, requestRejoin, requestServerChange } from '../../client/operations';
import { sleep } from '../../client/local/ports';
import { formatStatus, watchStatus } from '../../client/status';
import { agentActivities } from '../../agent/activities';
import { loadAgentConfig } from '../../agent/config';
import { transferToken } from '../../agent/token';
import { AGENT_PROTOCOL, type AddServerRequest, healthScheduleId } from '../../workflows/api';
import { atEnd } from '../harness/cleanup';
import { testAgents, TestAgents } from '../harness/agents';
import { assertHealthy, conductorMemo, resetStack, startTestStack, TestStack, writeRows } from '../harness/stack';

/**
 * Physical clones through the host agents (mariadb-backup streamed from a
 * donor's agent to the target's): a new server, and a diverged old primary
 * re-provisioned with its errant transactions saved first.
 */
let stack: TestStack;
let agents: TestAgents;

/** The tests run in order, each from where the previous one left the cluster. */
before(async () => {
  stack = await startTestStack(3, 'clone');
  stack.spec.agents = true;
  // No schedule-made health round within this file (every ten years): the last test asks for one.
  stack.spec.policies = { failover: 'off', healthIntervalSeconds: 10 * 365 * 86400, rejoin: 'auto-reprovision' };
  await stack.temporal.runWorker();
  agents = testAgents(stack.cluster, stack.temporal.address);
  for (const i of stack.cluster.servers.keys()) await agents.start(i);
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
});

const run = async (started: Promise<{ workflowId: string }>) => followOperation(stack.temporal.client, (await started).workflowId, () => undefined);
const served = (i: number) => {
  const ledger = path.join(loadAgentConfig(agents.configFile(i)).workDir, 'served-transfers');
  return fs.existsSync(ledger) ? fs.readFileSync(ledger, 'utf8').trim().split('\n').length : 0;
};

test('server add --provision clone of a server holding its own data: refused, nothing changed; with --reprovision: cloned from a replica, SECONDARY with every row', async () => {
  const joining = await stack.cluster.addServer();
  const address = stack.cluster.addresses[joining];
  await agents.start(joining);
  await stack.cluster.sql(joining, 'CREATE DATABASE own; CREATE TABLE own.t (i INT PRIMARY KEY); INSERT INTO own.t VALUES (7)');
  const view = (await conductorMemo(stack)).viewId;
  const add = (extra: Partial<AddServerRequest> = {}) => run(requestAddServer(stack.temporal.client, stack.name, { address, provision: 'clone', status: 'SECONDARY', penalty: 0, ...extra }));
  await assert.rejects(add({ donor: '127.0.0.1:1' }), /add refused: unknown donor 127\.0\.0\.1:1: not a server of this cluster/);
  await assert.rejects(add(), new RegExp(`not provisioned, nothing changed: ${address} holds transactions no primary of this cluster wrote: .*; add it with --reprovision`));
  assert.deepEqual(await stack.cluster.sql(joining, 'SELECT i FROM own.t'), [{ i: 7 }]);
  assert.equal((await conductorMemo(stack)).viewId, view);

  const result = await add({ reprovision: true });
  stack.cluster.adoptPids();
  assert.match(result.summary, /added as SECONDARY/);
  assert.equal(served(0), 0, 'the primary served no copy');
  assert.equal(served(1) + served(2), 1, 'one replica served one copy');
  assert.deepEqual(await stack.cluster.sql(joining, "SHOW DATABASES LIKE 'own'"), []);
  await writeRows(stack, [4]);
  await assertHealthy(stack, { viewId: view + 1, rows: [1, 2, 3, 4] });
});

test('a token replayed, a wrong token, another protocol: the donor\'s agent refuses with one line and serves nothing', async () => {
  const donor = served(1) ? 1 : 2;
  const config = loadAgentConfig(agents.configFile(donor));
  const [used] = fs.readFileSync(path.join(config.workDir, 'served-transfers'), 'utf8').trim().split('\n');
  const ask = async (request: object) => {
    const socket = net.connect(config.transfer);
    socket.write(`${JSON.stringify(request)}\n`);
    let answer = '';
    for await (const chunk of socket) answer += chunk;
    return answer;
  };
  const token = (id: string, at = config.server) => transferToken(config.keyFile, at, id);
  assert.match(await ask({ transferId: used, token: token(used), protocol: AGENT_PROTOCOL }), /^ERR transfer .* was served already: a token is good for one copy\n$/);
  assert.match(await ask({ transferId: 'fresh', token: token('other'), protocol: AGENT_PROTOCOL }), /^ERR transfer fresh: the token is not the one the agents' key gives\n$/);
  // A token made for another donor (sniffed on its stream, say) is good there only.
  assert.match(await ask({ transferId: 'fresh', token: token('fresh', stack.cluster.addresses[0]), protocol: AGENT_PROTOCOL }), /^ERR transfer fresh: the token is not the one/);
  assert.match(await ask({ transferId: 'fresh', token: token('fresh'), protocol: AGENT_PROTOCOL + 1 }), /^ERR this agent speaks protocol/);
  assert.equal(served(donor), 1);
  await assert.rejects(agentActivities(config).agentStatus({ protocol: AGENT_PROTOCOL + 1 }), /speaks protocol 1, the task 2: run agents and workers of one release/);
});

test('disk too small for the copy: refused before anything is copied, the target untouched', async (t) => {
  // A size-limited filesystem under the new server's directory, filled once its server runs to leave 5 MB free: a replica's copy does not fit.
  const index = stack.cluster.servers.length;
  const dir = path.join(stack.cluster.dir, 'servers', `s${index + 1}`);
  fs.mkdirSync(dir, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=400m', 'tmpfs', dir]).status === 0;
  if (mounted) atEnd(async () => void spawnSync('umount', ['-l', dir]));
  const ballast = [1, 2].map((i) => path.join(stack.cluster.servers[i].dir, 'data', 'gtidflow-test-ballast'));
  try {
    const joining = await stack.cluster.addServer();
    assert.equal(joining, index);
    const free = () => fs.statfsSync(dir).bavail * fs.statfsSync(dir).bsize;
    if (mounted) fs.writeFileSync(path.join(dir, 'filler'), Buffer.alloc(free() - 5 * 1024 * 1024));
    else {
      // No tmpfs mount allowed: the donors' data is made to look larger than this filesystem has free (a sparse file), the same check.
      t.diagnostic('no tmpfs mount allowed here: a sparse file on the donors makes the copy too large instead');
      for (const file of ballast) fs.closeSync(fs.openSync(file, 'w')), fs.truncateSync(file, free() * 2);
    }
    await agents.start(joining);
    const view = (await conductorMemo(stack)).viewId;
    await assert.rejects(run(requestAddServer(stack.temporal.client, stack.name, { address: stack.cluster.addresses[joining], provision: 'clone', status: 'SECONDARY', penalty: 0 })),
      /MB free beside .*, a clone needs .* MB: nothing copied/);
    assert.equal((await conductorMemo(stack)).viewId, view);
    assert.ok(!fs.existsSync(path.join(dir, 'data.gtidflow-clone')), 'nothing staged');
    assert.deepEqual(await stack.cluster.sql(joining, 'SELECT 1 AS up'), [{ up: 1 }]);
    await stack.cluster.stop(joining);
  } finally {
    ballast.forEach((file) => fs.rmSync(file, { force: true }));
  }
});

test('status --watch shows a clone\'s copy as its agent reports it: bytes, rate, time left', async () => {
  // The donors copy at 400 IO operations a second (mariadb-backup --throttle), so that the copy lasts a few seconds.
  for (const i of [1, 2]) await agents.start(i, { throttle: 400 });
  try {
    const joining = await stack.cluster.addServer();
    await agents.start(joining);
    const { workflowId } = await requestAddServer(stack.temporal.client, stack.name, { address: stack.cluster.addresses[joining], provision: 'clone', status: 'SECONDARY', penalty: 0 });
    let seen: string | undefined;
    for await (const frame of watchStatus(stack.temporal.client, stack.name, 250)) {
      if (frame.copy && frame.copy.bytes > 0) {
        seen = formatStatus(frame.status!, frame).split('\n').find((l) => l.startsWith('  copy: '));
        break;
      }
      assert.ok(!frame.status?.lastOperation || frame.status.lastOperation.kind !== 'addServer' || frame.status.operation, 'the clone ended before any progress was seen');
    }
    assert.match(seen ?? '', /^ {2}copy: \d+\.\d MB received, \d+\.\d MB\/s, about \d+ s left$/);
    await followOperation(stack.temporal.client, workflowId, () => undefined);
    stack.cluster.adoptPids();
  } finally {
    for (const i of [1, 2]) await agents.start(i);
  }
});

test('rejoin --reprovision of a diverged old primary: errant transactions saved to a file on its host, then cloned, every row and none of its own', async () => {
  const [oldPrimary] = stack.cluster.addresses;
  await run(requestOperation(stack.temporal.client, stack.name, { kind: 'failover', candidate: stack.cluster.addresses[1] }));
  // The fenced old primary takes a write the cluster never gets: it diverged.
  await stack.cluster.sql(0, 'SET GLOBAL read_only = 0; INSERT INTO app.rows VALUES (999); SET GLOBAL read_only = 1');
  const errant = String((await stack.cluster.sql(0, 'SELECT @@gtid_binlog_pos AS p'))[0].p);
  await assert.rejects(run(requestRejoin(stack.temporal.client, stack.name, { address: oldPrimary })), /stays FAULTY/);

  const result = await run(requestRejoin(stack.temporal.client, stack.name, { address: oldPrimary, reprovision: true }));
  stack.cluster.adoptPids();
  const file = /saved to (\S+) on its host/.exec(result.summary)?.[1];
  assert.ok(file, result.summary);
  assert.ok(result.summary.includes(errant), `${result.summary} names ${errant}`);
  assert.match(fs.readFileSync(file, 'utf8'), /INSERT INTO `app`\.`rows`[\s\S]*@1=999/);
  const rows = (await stack.cluster.sql(0, 'SELECT id FROM app.rows ORDER BY id')).map((r) => r.id);
  assert.deepEqual(rows, [1, 2, 3, 4]);
  assert.equal((await conductorMemo(stack)).servers.find((s) => s.address === oldPrimary)?.status, 'SECONDARY');
});


test('policy rejoin auto-reprovision: a health round finds a diverged FAULTY replica answering, saves its errant transactions, re-provisions it', async () => {
  const memo = await conductorMemo(stack);
  const replica = memo.servers.find((s) => s.status === 'SECONDARY')!.address;
  const index = stack.cluster.addresses.indexOf(replica);
  await run(requestServerChange(stack.temporal.client, stack.name, { address: replica, status: 'FAULTY' }));
  await stack.cluster.sql(index, 'STOP SLAVE; SET GLOBAL read_only = 0; INSERT INTO app.rows VALUES (555); SET GLOBAL read_only = 1');
  await stack.temporal.client.schedule.getHandle(healthScheduleId(stack.name)).trigger();
  const changed = await conductorMemo(stack);
  let after = changed;
  // The rejoin the health round follows up with: an operation after the change.
  for (let waited = 0; !(after.lastOperation?.kind === 'rejoin' && after.lastOperation.id > changed.lastOperation!.id); waited += 200) {
    assert.ok(waited < 60_000, `no rejoin after the health round: ${JSON.stringify(after.lastOperation)}`);
    await sleep(200);
    after = await conductorMemo(stack);
  }
  stack.cluster.adoptPids();
  assert.equal(after.lastOperation?.outcome, 'completed', after.lastOperation?.message);
  const file = /saved to (\S+) on its host/.exec(after.lastOperation!.message)?.[1];
  assert.ok(file, after.lastOperation!.message);
  assert.match(fs.readFileSync(file, 'utf8'), /@1=555/);
  assert.equal(after.servers.find((s) => s.address === replica)?.status, 'SECONDARY');
  assert.deepEqual(await stack.cluster.sql(index, 'SELECT id FROM app.rows WHERE id = 555'), []);
});
