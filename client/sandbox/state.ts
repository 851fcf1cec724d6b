import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ShardRouter } from '../../activities/router/shard-endpoint';
import { haproxyFiles } from '../local/haproxy';

/** One server of the sandbox and the host agent beside it (`agent` absent in a state from before agents: the next `up` adds it). */
export interface SandboxServer {
  port: number;
  pid?: number;
  agent?: { transferPort: number; pid?: number };
}

/** What the sandbox started and where: ports are kept across down/up so data and endpoints stay. */
export interface SandboxState {
  /** The first cluster ("sandbox"): its servers are `servers`, its endpoints `haproxy`'s ports. */
  cluster: string;
  temporal: { port: number; uiPort: number; pid?: number } | { external: string };
  servers: SandboxServer[];
  haproxy: { writerPort: number; readerPort: number; pid?: number };
  /** The clusters after the first (`sandbox up --clusters N`: sandbox-2, …), each with its own servers and endpoints on the one HAProxy; absent in a one-cluster sandbox. */
  moreClusters?: { name: string; servers: SandboxServer[]; writerPort: number; readerPort: number }[];
  worker: { pid?: number };
}

/**
 * One cluster of a sandbox, numbered from 1. Its `servers` and `endpoints`
 * are the state's own objects: a pid or port set on them is in the state.
 * Cluster 1 is the sandbox as it was before there were several: "sandbox",
 * its servers in servers/ with server ids 1…N, GTID domain 0, HAProxy's
 * `writer`/`reader`. Cluster n (from 2) is "sandbox-n", its servers in
 * servers-n/ with ids n01…n0N, GTID domain n, `sandbox-n-writer`/`-reader`.
 */
export interface SandboxCluster {
  name: string;
  number: number;
  dir: string;
  servers: SandboxServer[];
  endpoints: { writerPort: number; readerPort: number };
  serverIds: number[];
  gtidDomainId: number;
  writerBackend: string;
  readerBackend: string;
}

export const sandboxClusterName = (n: number) => (n === 1 ? 'sandbox' : `sandbox-${n}`);

export function sandboxClusters(state: SandboxState): SandboxCluster[] {
  const first = { name: state.cluster, servers: state.servers, endpoints: state.haproxy };
  const more = (state.moreClusters ?? []).map((c) => ({ name: c.name, servers: c.servers, endpoints: c }));
  return [first, ...more].map(({ name, servers, endpoints }, i) => {
    const n = i + 1;
    return {
      name, number: n, servers, endpoints,
      dir: n === 1 ? paths.servers() : path.join(stateDir(), `servers-${n}`),
      serverIds: servers.map((_, j) => (n === 1 ? j + 1 : n * 100 + j + 1)),
      gtidDomainId: n === 1 ? 0 : n,
      writerBackend: n === 1 ? 'writer' : `${name}-writer`,
      readerBackend: n === 1 ? 'reader' : `${name}-reader`,
    };
  });
}

/**
 * What only this sandbox's processes have in their command line or
 * environment: a recorded pid may have been reused by another process
 * (another sandbox's worker, say), which must neither count as running nor
 * be stopped. The servers and agents name their own paths already.
 */
export const marks = {
  worker: () => `GTIDFLOW_HOME=${stateDir()}`,
  temporal: () => paths.temporalDb(),
  haproxy: () => paths.haproxyConfig(),
};

export function stateDir(): string {
  return path.resolve(process.env.GTIDFLOW_HOME ?? path.join(__dirname, '..', '..', '.gtidflow'));
}

const stateFile = () => path.join(stateDir(), 'sandbox.json');

export function loadState(): SandboxState | undefined {
  if (!fs.existsSync(stateFile())) return undefined;
  return JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as SandboxState;
}

export function saveState(state: SandboxState): void {
  fs.mkdirSync(stateDir(), { recursive: true });
  fs.writeFileSync(stateFile(), JSON.stringify(state, null, 2) + '\n');
}

export const paths = {
  /** Cluster 1's servers (the others': sandboxClusters' `dir`). */
  servers: () => path.join(stateDir(), 'servers'),
  /** The key the sandbox's agents share (agent/token.ts). */
  agentKey: () => path.join(stateDir(), 'agent.key'),
  secrets: () => path.join(stateDir(), 'secrets'),
  clusters: () => path.join(stateDir(), 'clusters'),
  temporalDb: () => path.join(stateDir(), 'temporal.sqlite'),
  haproxyConfig: () => path.join(stateDir(), 'haproxy.cfg'),
  haproxySocket: () => path.join(stateDir(), 'haproxy.sock'),
  /** HAProxy's master CLI: reloads go through it. */
  haproxyMasterSocket: () => haproxyFiles(paths.haproxyConfig()).masterSocket,
  /** HAProxy's frontends and backends: the clusters' (written at each start) and the shards' (openShardEndpoint). */
  haproxyConfigDir: () => haproxyFiles(paths.haproxyConfig()).configDir,
  log: (name: string) => path.join(stateDir(), `${name}.log`),
};

/** The sandbox's HAProxy as shard endpoints see it: gtidflow owns their configuration and reloads it. */
export function sandboxShardRouter(sandboxPaths: typeof paths): ShardRouter {
  return { adminSocket: sandboxPaths.haproxySocket(), owned: { configDir: sandboxPaths.haproxyConfigDir(), masterSocket: sandboxPaths.haproxyMasterSocket() } };
}
