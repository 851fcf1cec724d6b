import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { accessOf, address, localAccounts, startLocalCluster } from '../local/cluster';
import { startHaproxy, isHaproxyRunning } from '../local/haproxy';
import { freePort, isPortFree } from '../local/ports';
import { isRunning, startDetached } from '../local/processes';
import { isTemporalRunning, startTemporal } from '../local/temporal';
import type { Client } from '@temporalio/client';
import { applyCluster, clusterWorkflowId } from '../cluster-apply';
import { connectClient } from '../connect';
import { temporalSettings } from '../settings';
import { TASK_QUEUE } from '../../worker/worker';
import type { ClusterSpec } from '../spec';
import { loadState, paths, SandboxState, saveState, stateDir } from './state';
import { sandboxEndpoints, SandboxEndpoints } from './endpoints';
import { waitForWorker } from './worker-ready';

const CLUSTER = 'sandbox';
const WORKER_MARK = 'gtidflow.js';

/** A port we prefer (the well-known one) when it is free, any free one otherwise. */
async function preferPort(port: number): Promise<number> {
  return (await isPortFree(port)) ? port : freePort();
}

async function newState(servers: number): Promise<SandboxState> {
  const external = process.env.TEMPORAL_ADDRESS;
  return {
    cluster: CLUSTER,
    temporal: external ? { external } : { port: await preferPort(7233), uiPort: await preferPort(8233) },
    servers: await Promise.all(Array.from({ length: servers }, async () => ({ port: await freePort() }))),
    haproxy: { writerPort: await freePort(), readerPort: await freePort() },
    worker: {},
  };
}

/**
 * Brings the sandbox up, starting only what is not running: Temporal dev
 * server, the MariaDB servers of cluster "sandbox", HAProxy, the worker.
 */
export async function sandboxUp(opts: { servers: number }): Promise<SandboxEndpoints> {
  let state = loadState();
  if (state && state.servers.length !== opts.servers) {
    throw new Error(`the sandbox in ${stateDir()} has ${state.servers.length} servers, not ${opts.servers}: ` +
      `"gtidflow sandbox down" and remove ${stateDir()} to make a new one`);
  }
  state ??= await newState(opts.servers);
  saveState(state);

  const temporal = state.temporal;
  if ('port' in temporal && !isTemporalRunning(temporal.pid)) {
    const started = await startTemporal({ dbFile: paths.temporalDb(), port: temporal.port, uiPort: temporal.uiPort, logFile: paths.log('temporal') });
    temporal.pid = started.pid;
    saveState(state);
  }
  const settings = temporalSettings('port' in temporal ? `127.0.0.1:${temporal.port}` : temporal.external);
  const client = await connectClient(settings);

  const accounts = localAccounts(paths.secrets());
  const { servers, primary, replicas } = await startLocalCluster({
    dir: paths.servers(), ports: state.servers.map((s) => s.port), accounts, pids: state.servers.map((s) => s.pid),
    primary: await recordedPrimary(client),
  });
  state.servers = servers.map((s) => ({ port: s.port, pid: s.pid }));
  saveState(state);

  if (!isHaproxyRunning(state.haproxy.pid)) {
    const backend = (enabled: (port: number) => boolean) => servers.map((s) => ({ name: address(s), port: s.port, enabled: enabled(s.port) }));
    const { pid } = await startHaproxy({
      adminSocket: paths.haproxySocket(),
      writerPort: state.haproxy.writerPort,
      readerPort: state.haproxy.readerPort,
      writer: backend((port) => port === primary.port),
      reader: backend((port) => replicas.some((r) => r.port === port)),
    }, paths.haproxyConfig(), paths.log('haproxy'));
    state.haproxy.pid = pid;
    saveState(state);
  }

  const spec = writeClusterSpec(servers.map((s) => address(s)), address(primary), accounts);

  if (!isRunning(state.worker.pid, WORKER_MARK)) {
    const cli = path.join(__dirname, '..', 'gtidflow.js');
    const env = { ...process.env, TEMPORAL_ADDRESS: settings.address, TEMPORAL_NAMESPACE: settings.namespace };
    state.worker.pid = startDetached(process.execPath, [cli, 'worker'], paths.log('worker'), env).pid;
    saveState(state);
  }
  await waitForWorker(client, TASK_QUEUE, state.worker.pid!, paths.log('worker'));
  await applyCluster(client, spec);
  await client.connection.close();
  return sandboxEndpoints(state, accounts);
}

/** The primary the conductor recorded (after failovers it is not server 1), if the cluster is registered. */
async function recordedPrimary(client: Client): Promise<string | undefined> {
  try {
    const described = await client.workflow.getHandle(clusterWorkflowId(CLUSTER)).describe();
    return ((await described.memo)?.state as { primary?: string } | undefined)?.primary;
  } catch {
    return undefined;
  }
}

/** The cluster as a spec file: what `gtidflow inspect sandbox` and later `cluster apply` read. */
function writeClusterSpec(servers: string[], primary: string, accounts: ReturnType<typeof localAccounts>): ClusterSpec {
  const access = accessOf(accounts);
  const spec: ClusterSpec = {
    name: CLUSTER,
    servers: servers.map((a) => ({ address: a, status: a === primary ? 'PRIMARY' : 'SECONDARY', penalty: 0 })),
    credentials: { admin: access.admin, replication: access.replication } as ClusterSpec['credentials'],
    router: { haproxy: { adminSocket: paths.haproxySocket(), writerBackend: 'writer', readerBackend: 'reader' } },
  };
  fs.mkdirSync(paths.clusters(), { recursive: true });
  fs.writeFileSync(path.join(paths.clusters(), `${CLUSTER}.yaml`), toYaml(spec));
  return spec;
}
