import assert from 'node:assert/strict';
import { type ChildProcess, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { before, beforeEach, test } from 'node:test';
import { ensureAgentKey, startLocalAgent, writeLocalAgentConfig } from '../../client/local/agent';
import { freePort, sleep } from '../../client/local/ports';
import { readMemo } from '../../client/memo';
import { clusterWorkflowId } from '../../workflows/api';
import { testAgents, TestAgents } from '../harness/agents';
import { atEnd, track, untrack } from '../harness/cleanup';
import { assertHealthy, conductorMemo, resetStack, startTestStack, TestStack, writeRows } from '../harness/stack';

/**
 * The primary's host agent as a third vantage point for detection: its
 * word that mariadbd is gone makes the watch confirm at once instead of
 * after probeFailures × probeIntervalMs, and never fails over alone.
 * The worker reaches the primary through a proxy the test silences: its
 * probes then time out (a refused or closed connection would take the
 * fast path of its own), while the replicas, HAProxy and the agent still
 * reach it or its host directly.
 */
const INTERVAL = 1_000;
const FAILURES = 3;
let stack: TestStack;
let proxy: SilentProxy;
let agents: TestAgents;
let worker: ChildProcess;
const detection: Record<string, number> = {};

before(async () => {
  stack = await startTestStack(3, 'agentwatch');
  stack.spec.agents = true;
  stack.spec.policies = { failover: 'auto', probeIntervalMs: INTERVAL, probeFailures: FAILURES, blockSeconds: 600, healthIntervalSeconds: 3600 };
  proxy = await startSilentProxy(stack.cluster.servers[0].port);
  worker = stack.temporal.workerProcess({ GTIDFLOW_CONNECT_VIA: `${stack.cluster.addresses[0]}=127.0.0.1:${proxy.port}` });
  atEnd(async () => void worker.kill('SIGKILL'));
  agents = testAgents(stack.cluster, stack.temporal.address);
});

beforeEach(async () => {
  proxy.restore();
  await resetStack(stack);
  await writeRows(stack, [1, 2, 3]);
});

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

const conductor = () => stack.temporal.client.workflow.getHandle(clusterWorkflowId(stack.name));

/** The conductor's pending activities of one type, by state (SCHEDULED 1, STARTED 2). */
async function pending(type: string): Promise<number[]> {
  const { raw } = await conductor().describe();
  return (raw.pendingActivities ?? []).filter((a) => a.activityType?.name === type).map((a) => Number(a.state));
}

/** What the conductor's activities returned, as JSON text. */
async function activityResults(): Promise<string[]> {
  const history = await conductor().fetchHistory();
  return (history.events ?? []).flatMap((e) => e.activityTaskCompletedEventAttributes?.result?.payloads ?? [])
    .map((p) => Buffer.from(p.data ?? new Uint8Array()).toString('utf8'));
}

/** The primary silenced for the worker and killed at once; how long until the conductor starts a failover. */
async function silenceAndKill(): Promise<number> {
  proxy.silence();
  const killedAt = Date.now();
  process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
  const started = await until('a failover to start', 30_000, async () => {
    const op = (await readMemo(stack.temporal.client, stack.name))?.operation;
    return op?.kind === 'failover' ? Date.parse(op.startedAt) : undefined;
  }, 50);
  // The failover fences what it can reach of the old primary: the path back, so that it is refused at once.
  proxy.restore();
  return started - killedAt;
}

async function failedOver(): Promise<void> {
  await until('the failover to end', 60_000, async () => {
    const memo = await conductorMemo(stack);
    return memo.viewId === 2 && memo.operation === null ? true : undefined;
  });
  await writeRows(stack, [4]);
  await assertHealthy(stack, { viewId: 2, rows: [1, 2, 3, 4], dead: [0] });
}

test('a silent primary killed, its agent running: the failover starts before probeFailures × interval', async (t) => {
  await agents.start(0);
  await until('the agent to watch mariadbd', 20_000, async () => ((await pending('watchMariadbd')).includes(2) ? true : undefined));
  const ms = await silenceAndKill();
  detection.agent = ms;
  t.diagnostic(`detection with the primary's agent: ${ms} ms (probeFailures ${FAILURES} × interval ${INTERVAL} ms = ${FAILURES * INTERVAL} ms)`);
  assert.ok(ms < FAILURES * INTERVAL, `the failover started ${ms} ms after the kill, not before ${FAILURES * INTERVAL} ms`);
  assert.ok((await activityResults()).some((r) => r.includes('"primary-dead"') && r.includes('says mariadbd') && r.includes('lost it')),
    'the death was the agent\'s report, confirmed by the replicas');
  await failedOver();
  agents.kill(0);
});

test('no agent runs for the primary: the same kill is detected as before, after the threshold of failed probes', async (t) => {
  agents.kill(0);
  // The agent's task waits on its queue, unpolled: the watch runs as without agents.
  await until('the agent watch to be scheduled', 20_000, async () => ((await pending('watchMariadbd')).includes(1) ? true : undefined));
  await sleep(2 * INTERVAL);
  const ms = await silenceAndKill();
  detection.none = ms;
  t.diagnostic(`detection without the primary's agent: ${ms} ms`);
  assert.ok(ms >= (FAILURES - 1) * INTERVAL, `${ms} ms: only the threshold of failed probes can have decided`);
  assert.ok(!(await activityResults()).some((r) => r.includes('says mariadbd')), 'nothing came from an agent');
  await failedOver();
  if (detection.agent !== undefined) t.diagnostic(`detection: ${detection.agent} ms with the agent, ${ms} ms without`);
});

/** An agent of server 0 whose config names a pid file of no running mariadbd (as one killed leaves it): it says mariadbd is not running. */
async function startLyingAgent(): Promise<() => void> {
  const server = stack.cluster.servers[0];
  const file = writeLocalAgentConfig(server, ensureAgentKey(path.join(stack.cluster.dir, 'agent.key')), await freePort());
  const lying = path.join(server.dir, 'agent-lying.json');
  const stale = path.join(server.dir, 'stale.pid');
  fs.writeFileSync(stale, `${spawnSync('true').pid}\n`);
  fs.writeFileSync(lying, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), pidFile: stale }));
  const log = path.join(server.dir, 'agent-lying.log');
  const size = fs.existsSync(log) ? fs.statSync(log).size : 0;
  const { pid } = startLocalAgent(lying, log, { ...process.env, TEMPORAL_ADDRESS: stack.temporal.address, TEMPORAL_NAMESPACE: 'default' });
  track(pid);
  const stop = () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
    untrack(pid);
  };
  atEnd(async () => stop());
  await until('the lying agent to poll', 20_000, async () => (fs.readFileSync(log, 'utf8').slice(size).includes(' polling ') ? true : undefined), 50);
  return stop;
}

/** The confirmation of the agent's word, once it came back: a death or why not. */
const checked = () => until('the agent\'s report to be checked', 15_000, async () =>
  (await activityResults()).find((r) => r.includes('says mariadbd')));

async function noFailover(): Promise<void> {
  const memo = await conductorMemo(stack);
  assert.equal(memo.viewId, 1, 'no failover');
  assert.equal(memo.lastOperation?.kind, 'bootstrap', 'no operation since the registration');
  assert.equal(memo.operation, null, 'no operation running');
}

test('the agent says mariadbd is not running while the replicas still hear the primary: no failover, the watch goes on', async () => {
  agents.kill(0);
  // The manager's probes time out, as in the first test: only the replicas stand against the agent's word.
  proxy.silence();
  const stop = await startLyingAgent();
  try {
    const report = await checked();
    await noFailover();
    assert.match(report, /agent-report-unconfirmed.*is not running, but only 0 of 2 reachable replica/);
    // The normal watch is untouched: the threshold of failed probes, the replicas asked, the manager alone cut off.
    const warning = await until('the manager-cut-off warning', 20_000, async () => (await conductorMemo(stack)).warnings.find((w) => w.code === 'manager-cut-off'));
    assert.match(warning.text, /unreachable from the manager only/);
    await sleep(5_000);
    await noFailover();
    proxy.restore();
    await until('the warning to clear', 20_000, async () => ((await conductorMemo(stack)).warnings.length === 0 ? true : undefined));
    // And it still decides: a real death is failed over (the refused path, the agent's word spent).
    process.kill(stack.cluster.servers[0].pid, 'SIGKILL');
    await failedOver();
  } finally {
    stop();
  }
});

test('the agent says mariadbd is not running and the replicas lost the primary, but it answers the manager: no failover', async () => {
  agents.kill(0);
  // The replicas cut off from the primary (their IO threads stopped): with the agent, two of three vantage points.
  for (const i of [1, 2]) await stack.cluster.sql(i, 'STOP SLAVE IO_THREAD');
  const stop = await startLyingAgent();
  try {
    const report = await checked();
    await noFailover();
    assert.match(report, /agent-report-unconfirmed.*is not running, but the primary answered the manager's probe/);
    await sleep(3 * INTERVAL * FAILURES);
    await noFailover();
    assert.deepEqual((await conductorMemo(stack)).warnings, []);
  } finally {
    stop();
    // (A replica promoted by a wrong failover has no source any more: the next reset mends it.)
    for (const i of [1, 2]) await stack.cluster.sql(i, 'START SLAVE IO_THREAD').catch(() => undefined);
  }
});

interface SilentProxy {
  port: number;
  /** Stops forwarding, both ways, and closes nothing: every connection, old or new, hangs (a probe times out). */
  silence(): void;
  /** Forwards again; the connections silenced so far are closed. */
  restore(): void;
}

/** A TCP forwarder to `targetPort` that can go silent (test/harness/tcp-proxy.ts cuts instead: a closed path is refused). */
async function startSilentProxy(targetPort: number): Promise<SilentProxy> {
  const port = await freePort();
  let silent = false;
  let silenced = new Set<net.Socket>();
  const live = new Set<net.Socket>();
  const server = net.createServer((client) => {
    client.on('error', () => undefined);
    if (silent) {
      silenced.add(client);
      return;
    }
    live.add(client);
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    upstream.on('error', () => undefined);
    client.on('data', (d) => void (silent || upstream.write(d)));
    upstream.on('data', (d) => void (silent || client.write(d)));
    client.on('close', () => {
      live.delete(client);
      upstream.destroy();
    });
    // A silenced path does not say the server went away either.
    upstream.on('close', () => void (silent || client.destroy()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  atEnd(async () => {
    for (const s of [...live, ...silenced]) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port,
    silence() {
      silent = true;
      for (const s of live) silenced.add(s);
      live.clear();
    },
    restore() {
      silent = false;
      for (const s of silenced) s.destroy();
      silenced = new Set();
    },
  };
}
