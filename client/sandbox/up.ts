import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { ensureAgentKey, startLocalAgent, writeLocalAgentConfig } from '../local/agent';
import { accessOf, address, localAccounts, localServerDir, runningServerPid, startLocalCluster } from '../local/cluster';
import { gtidDomainOption, type LocalMariadb, stopMariadb } from '../local/mariadb';
import { startHaproxy, isHaproxyRunning } from '../local/haproxy';
import { freePort, isPortFree, sleep } from '../local/ports';
import { isRunning, startDetached } from '../local/processes';
import { isTemporalRunning, startTemporalOnFreePorts } from '../local/temporal';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { readShards } from '../shards';
import { applyCluster } from '../cluster-apply';
import { connectClient } from '../connect';
import { temporalSettings } from '../settings';
import { healthScheduleId, TASK_QUEUE } from '../../workflows/api';
import type { ClusterMemo } from '../../workflows/memo';
import { readMemo } from '../memo';
import type { ClusterSpec } from '../spec';
import { loadState, marks, paths, type SandboxCluster, sandboxClusterName, sandboxClusters, type SandboxState, saveState, stateDir } from './state';
import { sandboxEndpoints, SandboxEndpoints } from './endpoints';
import { agentConfigFile } from './status';
import { waitForWorker } from './worker-ready';


/** A port we prefer (the well-known one) when it is free, any free one otherwise. */
async function preferPort(port: number): Promise<number> {
  return (await isPortFree(port)) ? port : freePort();
}

async function newState(servers: number, clusters: number): Promise<SandboxState> {
  const external = process.env.TEMPORAL_ADDRESS;
  const newServers = () => Promise.all(Array.from({ length: servers }, async () => ({ port: await freePort(), agent: { transferPort: await freePort() } })));
  const more = await Promise.all(Array.from({ length: clusters - 1 }, async (_, i) =>
    ({ name: sandboxClusterName(i + 2), servers: await newServers(), writerPort: await freePort(), readerPort: await freePort() })));
  return {
    cluster: sandboxClusterName(1),
    temporal: external ? { external } : { port: await preferPort(7233), uiPort: await preferPort(8233) },
    servers: await newServers(),
    haproxy: { writerPort: await freePort(), readerPort: await freePort() },
    ...(more.length ? { moreClusters: more } : {}),
    worker: {},
  };
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/**
 * Brings the sandbox up, starting only what is not running: Temporal dev
 * server, the MariaDB servers of each cluster ("sandbox", "sandbox-2", …),
 * HAProxy (a writer and a reader endpoint per cluster), the worker, a host
 * agent beside each server. `clusters` is a new sandbox's count (default 1);
 * an existing sandbox keeps the count it was made with.
 */
export async function sandboxUp(opts: { servers: number; clusters?: number }): Promise<SandboxEndpoints> {
  const loaded = loadState();
  if (loaded && loaded.servers.length !== opts.servers) {
    throw new Error(`the sandbox in ${stateDir()} has ${loaded.servers.length} servers, not ${opts.servers}: ` +
      `"gtidflow sandbox down" and remove ${stateDir()} to make a new one`);
  }
  const had = loaded && 1 + (loaded.moreClusters?.length ?? 0);
  if (had && opts.clusters !== undefined && had !== opts.clusters) {
    throw new Error(`the sandbox in ${stateDir()} has ${plural(had, 'cluster')}, not ${opts.clusters}: ` +
      `"gtidflow sandbox down" and remove ${stateDir()} to make a new one`);
  }
  const state = loaded ?? (await newState(opts.servers, opts.clusters ?? 1));
  saveState(state);

  const temporal = state.temporal;
  if ('port' in temporal && !isTemporalRunning(temporal.pid, marks.temporal())) {
    const started = await startTemporalOnFreePorts({ dbFile: paths.temporalDb(), port: temporal.port, uiPort: temporal.uiPort, logFile: paths.log('temporal') });
    Object.assign(temporal, { pid: started.pid, port: started.port, uiPort: started.uiPort });
    saveState(state);
  }
  const settings = temporalSettings('port' in temporal ? `127.0.0.1:${temporal.port}` : temporal.external);
  const client = await connectClient(settings);

  const accounts = localAccounts(paths.secrets());
  const clusters = sandboxClusters(state);
  const servers = await Promise.all(clusters.map((c) => startSandboxCluster(c, accounts, () => saveState(state))));
  clusters.forEach((c, k) => servers[k].forEach((s, i) => (c.servers[i].pid = s.pid)));
  saveState(state);
  // The router starts pointing where each conductor last routed (a new sandbox: where it will); then the conductors move it.
  const routed = await Promise.all(clusters.map(async (c, k) => {
    const recorded = await recordedRoles(client, c.name);
    return { primary: recorded?.primary ?? address(servers[k][0]), faulty: recorded?.faulty ?? [] };
  }));

  if (!isHaproxyRunning(state.haproxy.pid, marks.haproxy())) {
    const endpoints = (k: number) => {
      const { primary, faulty } = routed[k];
      const backend = (enabled: (a: string) => boolean) => servers[k].map((s) => ({ name: address(s), port: s.port, enabled: enabled(address(s)) }));
      return {
        writerPort: clusters[k].endpoints.writerPort,
        readerPort: clusters[k].endpoints.readerPort,
        writer: backend((a) => a === primary),
        reader: backend((a) => a !== primary && !faulty.includes(a)),
      };
    };
    const started = await startHaproxy({
      adminSocket: paths.haproxySocket(),
      ...endpoints(0),
      more: clusters.slice(1).map((c, j) => ({ ...endpoints(j + 1), writerName: c.writerBackend, readerName: c.readerBackend })),
    }, paths.haproxyConfig(), paths.log('haproxy'));
    state.haproxy.pid = started.pid;
    [started, ...started.more].forEach((ports, k) => Object.assign(clusters[k].endpoints, { writerPort: ports.writerPort, readerPort: ports.readerPort }));
    saveState(state);
  }

  const specs = clusters.map((c, k) => writeClusterSpec(c, servers[k].map((s) => address(s)), routed[k].primary, accounts));

  // GTIDFLOW_HOME in their environment: what tells this sandbox's worker from another's (marks.worker).
  const env = { ...process.env, GTIDFLOW_HOME: stateDir(), TEMPORAL_ADDRESS: settings.address, TEMPORAL_NAMESPACE: settings.namespace };
  if (!isRunning(state.worker.pid, marks.worker())) {
    const cli = path.join(__dirname, '..', 'gtidflow.js');
    state.worker.pid = startDetached(process.execPath, [cli, 'worker'], paths.log('worker'), env).pid;
    saveState(state);
  }
  const keyFile = ensureAgentKey(paths.agentKey());
  await Promise.all([
    waitForWorker(client, TASK_QUEUE, state.worker.pid!, marks.worker(), paths.log('worker')),
    ...clusters.flatMap((c, k) => servers[k].map((server, i) => ensureAgent(state, c, i, server, keyFile, env))),
  ]);
  // Registration bootstraps a new cluster; a registered one is checked (and repaired) by a health round now. Each cluster has its own conductor.
  await Promise.all(specs.map(async (spec) => {
    const { created } = await applyCluster(client, spec);
    if (!created) await healthRoundNow(client, spec.name);
  }));
  const { map } = await readShards(client);
  await client.connection.close();
  return sandboxEndpoints(state, accounts, map);
}

/**
 * Starts the host agent of server i unless it runs, and resolves once it
 * polls its task queue (host:<server>). Its transfer port is the one kept
 * in the state, another free one if something else took it meanwhile
 * (nothing records it: the workflows ask the agent where it serves).
 */
async function ensureAgent(state: SandboxState, cluster: SandboxCluster, i: number, server: LocalMariadb, keyFile: string, env: NodeJS.ProcessEnv): Promise<void> {
  const entry = cluster.servers[i];
  const configFile = agentConfigFile(cluster, i);
  if (entry.agent && isRunning(entry.agent.pid, configFile)) return;
  let transferPort = entry.agent?.transferPort;
  if (!transferPort || !(await isPortFree(transferPort))) transferPort = await freePort();
  // The agent restarts mariadbd (a clone) with the options it runs with: its cluster's GTID domain too.
  if (writeLocalAgentConfig(server, keyFile, transferPort, gtidDomainOption(cluster.gtidDomainId)) !== configFile) {
    throw new Error(`the agent config of ${address(server)} is not ${configFile}`);
  }
  const log = paths.log(`agent-${server.port}`);
  const from = fs.existsSync(log) ? fs.statSync(log).size : 0;
  const { pid } = startLocalAgent(configFile, log, env);
  entry.agent = { transferPort, pid };
  saveState(state);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const output = fs.readFileSync(log).subarray(from).toString();
    if (output.includes(' polling ')) return;
    if (!isRunning(pid, configFile)) throw new Error(`the agent of ${address(server)} exited: ${output.trim().split('\n').slice(-3).join(' ')}; see ${log}`);
    if (Date.now() > deadline) throw new Error(`the agent of ${address(server)} did not poll its task queue within 60 s; see ${log}`);
    await sleep(100);
  }
}

/**
 * Runs a health round now (through the cluster's schedule) and waits until
 * the conductor has recorded one. A busy conductor skips the round (an
 * operation in flight when the sandbox came back, or a shard move's
 * cut-over holding it): it is asked again once free. It must answer within
 * 60 s of being free, and within 5 minutes in all.
 */
async function healthRoundNow(client: Client, cluster: string): Promise<void> {
  const memo = async () => (await readMemo(client, cluster))!;
  const busy = (m: ClusterMemo) => Boolean(m.operation) || Boolean(m.hold && Date.parse(m.hold.until) > Date.now());
  const ask = () => client.schedule.getHandle(healthScheduleId(cluster)).trigger();
  const started = Date.now();
  // The round recorded before this one: any other in the memo is an answer.
  const before = (await memo()).health?.at;
  let freeSince = Date.now();
  await ask();
  let askedAt = Date.now();
  for (;;) {
    const now = await memo();
    if (now.health?.at !== before) return;
    if (busy(now)) {
      freeSince = Date.now();
    } else if (freeSince > askedAt || Date.now() - askedAt > 15_000) {
      // Busy since it was asked, or busy for less than a poll (a round asked then is dropped unseen): asked again.
      await ask();
      askedAt = Date.now();
    }
    if (Date.now() - freeSince > 60_000 || Date.now() - started > 300_000) {
      throw new Error(`the conductor of ${cluster} did not report within ${Date.now() - freeSince > 60_000 ? '60 s of being free' : '5 minutes'}; see ${paths.log('worker')}`);
    }
    await sleep(200);
  }
}

/**
 * Starts a cluster's servers on the ports its state names. A port chosen
 * free when the sandbox was made can be taken before its server binds it
 * (Temporal's own ports, another sandbox coming up): a cluster never
 * bootstrapped starts again on other free ports, three tries; one that
 * holds data keeps its ports (its addresses are the cluster's).
 */
async function startSandboxCluster(c: SandboxCluster, accounts: ReturnType<typeof localAccounts>, save: () => void): Promise<LocalMariadb[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startLocalCluster({
        dir: c.dir, ports: c.servers.map((s) => s.port), accounts, pids: c.servers.map((s) => s.pid), serverIds: c.serverIds, gtidDomainId: c.gtidDomainId,
      });
    } catch (err) {
      if (attempt === 3 || fs.existsSync(path.join(c.dir, 'bootstrapped'))) throw err;
      await Promise.all(c.servers.map((_s, i) => stopMariadb(runningServerPid(localServerDir(c.dir, i), undefined))));
      fs.rmSync(c.dir, { recursive: true, force: true });
      for (const server of c.servers) Object.assign(server, { port: await freePort(), pid: undefined });
      save();
    }
  }
}

/**
 * The primary and FAULTY servers the conductor recorded (after failovers
 * the primary is not server 1), if the cluster is registered. A Temporal
 * server that just started may fail a read for a moment: asked again, as
 * taking it for "not registered" would name the wrong primary.
 */
async function recordedRoles(client: Client, cluster: string): Promise<{ primary: string; faulty: string[] } | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const memo = await readMemo(client, cluster);
      return memo && { primary: memo.primary, faulty: memo.servers.filter((s) => s.status === 'FAULTY').map((s) => s.address) };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      if (attempt === 20) throw err;
      await sleep(500);
    }
  }
}

/** The cluster as a spec file: what `gtidflow inspect <cluster>` and later `cluster apply` read. Its router is its own pair of backends. */
function writeClusterSpec(cluster: SandboxCluster, servers: string[], primary: string, accounts: ReturnType<typeof localAccounts>): ClusterSpec {
  const access = accessOf(accounts);
  const spec: ClusterSpec = {
    name: cluster.name,
    servers: servers.map((a) => ({ address: a, status: a === primary ? 'PRIMARY' : 'SECONDARY', penalty: 0 })),
    credentials: { admin: access.admin, replication: access.replication } as ClusterSpec['credentials'],
    router: { haproxy: { adminSocket: paths.haproxySocket(), writerBackend: cluster.writerBackend, readerBackend: cluster.readerBackend } },
    // A host agent runs beside every server: clones are physical (README: Host agents).
    agents: true,
  };
  fs.mkdirSync(paths.clusters(), { recursive: true });
  fs.writeFileSync(path.join(paths.clusters(), `${cluster.name}.yaml`), toYaml(spec));
  return spec;
}
