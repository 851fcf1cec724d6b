import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Client } from '@temporalio/client';
import type { AddServerRequest, AddShardRequest, OperationRequest } from '../workflows/api';
import type { ClusterSpec } from './spec';
import type { ServerChange } from '../workflows/logic/server-changes';
import { parseAddress } from '../workflows/logic/address';
import { STATUSES } from '../workflows/logic/status';
import { loadState, paths, sandboxClusters, sandboxShardRouter } from './sandbox/state';
import { temporalSettings } from './settings';

const USAGE = `usage: gtidflow <command>
  sandbox up [--servers N] [--clusters N] [--json]   start the local sandbox (Temporal, MariaDB clusters "sandbox", "sandbox-2"…, HAProxy, worker, agents)
  sandbox down                        stop every process of the sandbox (data is kept)
  sandbox status [--json]             the sandbox's processes, roles and pids
  inspect <cluster> [--json]          read every server of a cluster through a workflow
  cluster apply -f <spec.yaml>        register a cluster (its conductor workflow cluster:<name>)
  status <cluster> [--json] [--watch]
                                      recorded state and each server's live state; --watch redraws it every second
                                      with the running operation's step, and says when no worker answers (Ctrl-C ends)
  promote <cluster> [--candidate host:port] [--update-only]
                                      switchover: the candidate (or the best replica) becomes primary
  demote <cluster> [--candidate host:port] [--update-only]
                                      the same, said from the old primary's side
  failover <cluster> [--candidate host:port] [--update-only] [--reason text] [--accept-loss <gtid-set>]
                                      unplanned failover: fence the primary, elect, promote; --accept-loss promotes
                                      without the transactions a refusal named (the exact set it printed)
  server add <cluster> <host:port> [--provision clone|dump|script:<cmd>|none] [--donor host:port] [--reprovision]
             [--status SECONDARY|SPARE] [--penalty N] [--update-only]
                                      add a server: checked, provisioned if asked (from the least-lagging replica,
                                      or --donor; refused if it holds transactions the cluster lacks, unless
                                      --reprovision), caught up, routed, published
  server remove <cluster> <host:port> [--update-only]
                                      take a server out: unrouted, its replication stopped, published
  server set-status <cluster> <host:port> SECONDARY|SPARE|FAULTY [--update-only]
  server set-penalty <cluster> <host:port> <N> [--update-only]
  capability set <cluster> <host:port> [--database db] read-write|read-only|disabled [--update-only]
                                      change one server as recorded: routed and published (update-only: published)
  rejoin <cluster> <host:port> [--reprovision [--donor host:port]] [--update-only]
                                      bring a returning FAULTY server back (refused if it diverged, unless --reprovision:
                                      its data replaced, by a clone where host agents run, its errant transactions saved)
  shard add <shard> --database <db> --cluster <cluster> [--json]
  shard add <shard> --table <db.table>[,<db.table>…] --key <column> --range <lo>:<hi> --cluster <cluster> [--json]
                                      add a shard to the map (published on every cluster it names); a database shard
                                      gets a writer endpoint of its own that follows its cluster's primary
  shard list [--json]                 the shard map: where each shard is, the moves running, how the last ones ended
  shard lookup <shard> [--json]       where a shard is: its cluster, the map version, where its writes go
  shard lookup --table <db.table> --key <value> [--json]
                                      the same, for the range shard holding that key
  shard move <shard> --to <cluster> [--update-only] [--cleanup] [--detach]
                                      move a database shard: copied, caught up, writes frozen for a moment, the map
                                      flipped, its endpoint routed to <cluster>; --cleanup drops the source's copy
  shard split <shard> --at <key> --as <new-shard> --to <cluster> [--update-only] [--detach]
                                      split a range shard: keys from <key> up become <new-shard> on <cluster>, copied,
                                      caught up, cut over like a move; each row ends on exactly one cluster
  shard cancel <shard>                stop a move before its flip: the source as it was, the destination's copy removed
  shard cleanup <shard>               drop the read-only copy a finished move left on its source
  history <cluster> [--json]          the views: id, time, primary, members, who joined and left, what made it
  ack <cluster>                       acknowledge an automatic failover: re-arms detection before the block period ends
  version [--json]                    this gtidflow's build id, and the workers polling now with theirs
  worker                              run the gtidflow worker (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE)
  agent --config <file>               run the host agent beside one MariaDB server (README: Host agents)
  help [<command>]                    this text, or one command's usage (also: gtidflow <command> --help)`;

/**
 * One command's usage, from USAGE (the one source of truth): its entries,
 * each a line starting with the command and the lines that continue it;
 * `server add` narrows `server` to that entry.
 */
export function commandUsage(name: string, sub?: string): string | undefined {
  const entries: string[][] = [];
  for (const line of USAGE.split('\n').slice(1)) {
    if (/^ {2}\S/.test(line)) entries.push([line]);
    else entries[entries.length - 1]?.push(line);
  }
  const matching = (words: string[]) => entries.filter((e) => words.every((w, i) => e[0].trim().split(/\s+/)[i] === w));
  const found = (sub !== undefined && matching([name, sub]).length ? matching([name, sub]) : matching([name]));
  if (!found.length) return undefined;
  return found.flatMap((entry, i) => entry.map((line, j) =>
    j > 0 ? `${' '.repeat(14)}${line}` : `${i === 0 ? 'usage: ' : '       '}gtidflow ${line.slice(2)}`)).join('\n');
}

/** A mistake in the command line: usage is printed, exit code 2. */
class UsageError extends Error {}

function options<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], spec: T) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: true, strict: true } as const);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The Temporal server of this installation: TEMPORAL_ADDRESS, else the sandbox's own. */
function installationSettings() {
  const state = loadState();
  const t = state?.temporal;
  return temporalSettings(t && 'port' in t ? `127.0.0.1:${t.port}` : t?.external);
}

const print = (value: unknown, json: boolean, text: () => string) =>
  console.log(json ? JSON.stringify(value, null, 2) : text());

// Each command loads the modules it needs when it runs: the Temporal client, mysql2 and
// the sandbox's process code are slow to load, and --help needs none of them.
const load = {
  api: () => require('../workflows/api') as typeof import('../workflows/api'),
  worker: () => require('../worker/main') as typeof import('../worker/main'),
  agent: () => require('../agent/main') as typeof import('../agent/main'),
  build: () => require('../worker/build') as typeof import('../worker/build'),
  workers: () => require('./workers') as typeof import('./workers'),
  clusterApply: () => require('./cluster-apply') as typeof import('./cluster-apply'),
  clusters: () => require('./clusters') as typeof import('./clusters'),
  connect: () => require('./connect') as typeof import('./connect'),
  inspect: () => require('./inspect') as typeof import('./inspect'),
  memo: () => require('./memo') as typeof import('./memo'),
  operations: () => require('./operations') as typeof import('./operations'),
  shards: () => require('./shards') as typeof import('./shards'),
  shardLogic: () => require('../workflows/logic/shards') as typeof import('../workflows/logic/shards'),
  sandboxDown: () => require('./sandbox/down') as typeof import('./sandbox/down'),
  sandboxStatus: () => require('./sandbox/status') as typeof import('./sandbox/status'),
  sandboxUp: () => require('./sandbox/up') as typeof import('./sandbox/up'),
  spec: () => require('./spec') as typeof import('./spec'),
  status: () => require('./status') as typeof import('./status'),
};

const commands: Record<string, (args: string[]) => Promise<void>> = {
  async sandbox(args) {
    const { values, positionals } = options(args, { servers: { type: 'string' }, clusters: { type: 'string' }, json: { type: 'boolean' } });
    const [sub, ...rest] = positionals;
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (sub === 'up') {
      const servers = Number(values.servers ?? 3);
      if (!Number.isInteger(servers) || servers < 1 || servers > 9) throw new UsageError(`--servers must be a whole number from 1 to 9, not "${values.servers}"`);
      // No --clusters: a new sandbox has one, an existing one what it was made with.
      const clusters = values.clusters === undefined ? undefined : Number(values.clusters);
      if (clusters !== undefined && (!Number.isInteger(clusters) || clusters < 1 || clusters > 9)) {
        throw new UsageError(`--clusters must be a whole number from 1 to 9, not "${values.clusters}"`);
      }
      const endpoints = await load.sandboxUp().sandboxUp({ servers, clusters });
      print(endpoints, Boolean(values.json), () => [
        `Temporal   ${endpoints.temporal.address}   Web UI ${endpoints.temporal.ui ?? '(external server)'}`,
        ...endpoints.clusters.map((c) => `cluster ${c.name}: writer ${c.writer.host}:${c.writer.port}, reader ${c.reader.host}:${c.reader.port}, servers ${c.servers.map((s) => `${s.host}:${s.port}`).join(' ')}`),
        ...endpoints.shards.map((s) => `shard ${s.name} (on ${s.cluster}): writer ${s.endpoint.host}:${s.endpoint.port}`),
        `admin account ${endpoints.credentials.admin.user} (password in ${endpoints.credentials.admin.passwordFile})`,
        `app account ${endpoints.credentials.app.user} (password in ${endpoints.credentials.app.passwordFile})`,
      ].join('\n'));
    } else if (sub === 'down') {
      const stopped = await load.sandboxDown().sandboxDown();
      console.log(stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing was running');
    } else if (sub === 'status') {
      const processes = load.sandboxStatus().sandboxStatus();
      // Several clusters: each server's and agent's line ends with its cluster.
      const several = new Set(processes.map((p) => p.cluster).filter(Boolean)).size > 1;
      print(processes, Boolean(values.json), () =>
        processes.length ? processes.map((p) => `${p.role.padEnd(8)} ${String(p.pid ?? '-').padEnd(8)} ${p.running ? 'running' : 'stopped'} ${p.address ?? ''}${several ? ` ${p.cluster ?? ''}` : ''}`.trimEnd()).join('\n') : 'no sandbox here');
    } else {
      throw new UsageError(sub ? `unknown sandbox command "${sub}"` : 'sandbox needs a command: up, down or status');
    }
  },

  async inspect(args) {
    const { values, positionals } = options(args, { json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('inspect takes one cluster name');
    const { formatInspection, inspectCluster } = load.inspect();
    await withClient(async (client) => {
      const result = await inspectCluster(client, await inspectedServers(client, positionals[0]));
      print(result, Boolean(values.json), () => formatInspection(result));
    });
  },

  async cluster(args) {
    const { values, positionals } = options(args, { file: { type: 'string', short: 'f' } });
    if (positionals[0] !== 'apply' || positionals.length !== 1) throw new UsageError('cluster takes: apply -f <spec.yaml>');
    if (!values.file) throw new UsageError('cluster apply needs -f <spec.yaml>');
    const spec = load.spec().readClusterSpec(values.file);
    const { applyCluster } = load.clusterApply();
    await withClient(async (client) => {
      const { created, viewId } = await applyCluster(client, spec);
      console.log(created ? `cluster ${spec.name} registered and ready: view ${viewId}, primary ${spec.servers.find((s) => s.status === 'PRIMARY')!.address}` : `cluster ${spec.name} already registered (view ${viewId}); nothing changed`);
    });
  },

  async status(args) {
    const { values, positionals } = options(args, { json: { type: 'boolean' }, watch: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('status takes one cluster name');
    const { clusterStatus, formatStatus } = load.status();
    if (values.watch) return watch(positionals[0], Boolean(values.json));
    await withClient(async (client) => {
      const status = await clusterStatus(client, positionals[0]);
      const { clusterMoves, moveLines } = load.shards();
      // The shard map's memo unreadable: the cluster's status still stands.
      const shardMoves = await clusterMoves(client, positionals[0]).catch(() => []);
      print({ ...status, shardMoves }, Boolean(values.json), () => [formatStatus(status), ...shardMoves.flatMap((m) => moveLines(m, m))].join('\n'));
    });
  },

  async ack(args) {
    const { positionals } = options(args, {});
    if (positionals.length !== 1) throw new UsageError('ack takes one cluster name');
    await withClient(async (client) => {
      console.log(await ofCluster(client, positionals[0], () => load.operations().acknowledgeFailover(client, positionals[0])));
    });
  },

  async server(args) {
    // parseArgs takes "-1" for an option; the only numbers here are penalties.
    const negative = args.find((a) => /^-\d/.test(a));
    if (negative) throw new UsageError(`a write penalty is a whole number ≥ 0, not "${negative}"`);
    const { values, positionals } = options(args, {
      'update-only': { type: 'boolean' }, provision: { type: 'string' }, status: { type: 'string' }, penalty: { type: 'string' },
      donor: { type: 'string' }, reprovision: { type: 'boolean' },
    });
    const [sub, cluster, address, value, ...rest] = positionals;
    const updateOnly = values['update-only'];
    const { requestAddServer, requestRemoveServer, requestServerChange } = load.operations();
    if ((sub === 'add' || sub === 'remove') && cluster && address && !value) {
      parseAddress(address);
      if (sub === 'remove') return followUpdate((client) => requestRemoveServer(client, cluster, { address, updateOnly }));
      const provision = values.provision ?? 'none';
      if (!['dump', 'clone', 'none'].includes(provision) && !provision.startsWith('script:')) throw new UsageError(`--provision is clone, dump, script:<command> or none, not "${provision}"`);
      const penalty = wholeNumber(values.penalty ?? '0');
      const status = serverStatus(values.status ?? 'SECONDARY') as AddServerRequest['status'];
      if (values.donor) parseAddress(values.donor);
      return followUpdate((client) => requestAddServer(client, cluster, {
        address, updateOnly, provision: provision as AddServerRequest['provision'], status, penalty, donor: values.donor, reprovision: values.reprovision,
      }));
    }
    if (rest.length || !value || (sub !== 'set-status' && sub !== 'set-penalty')) {
      throw new UsageError('server takes: add|remove <cluster> <host:port> | set-status <cluster> <host:port> <STATUS> | set-penalty <cluster> <host:port> <N>');
    }
    parseAddress(address);
    const change = sub === 'set-status' ? { address, status: serverStatus(value) } : { address, penalty: wholeNumber(value) };
    await followUpdate((client) => requestServerChange(client, cluster, { ...change, updateOnly }));
  },

  async capability(args) {
    const { values, positionals } = options(args, { database: { type: 'string' }, 'update-only': { type: 'boolean' } });
    const [sub, cluster, address, capability, ...rest] = positionals;
    if (sub !== 'set' || rest.length || !capability) throw new UsageError('capability takes: set <cluster> <host:port> [--database db] read-write|read-only|disabled');
    parseAddress(address);
    if (!CAPABILITIES.includes(capability)) throw new UsageError(`a capability is read-write, read-only or disabled, not "${capability}"`);
    const { requestServerChange } = load.operations();
    await followUpdate((client) => requestServerChange(client, cluster, {
      address, capability: capability as ServerChange['capability'], database: values.database, updateOnly: values['update-only'],
    }));
  },

  async history(args) {
    const { values, positionals } = options(args, { json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('history takes one cluster name');
    await withClient(async (client) => {
      // The views are in the conductor's state, which a worker answers: bounded, so that no worker is said, not waited on.
      const state = await ofCluster(client, positionals[0], () => load.operations().conductorState(client, positionals[0]), HISTORY_TIMEOUT_MS);
      print(state.views, Boolean(values.json), () => state.views.map((v) =>
        `view ${v.viewId}  ${v.at}  primary ${v.primary}  members ${v.members.join(' ')}` +
        `${v.joined.length ? `  joined ${v.joined.join(' ')}` : ''}${v.left.length ? `  left ${v.left.join(' ')}` : ''}  by ${v.operation}`).join('\n'));
    });
  },

  async rejoin(args) {
    const { values, positionals } = options(args, { reprovision: { type: 'boolean' }, donor: { type: 'string' }, 'update-only': { type: 'boolean' } });
    const [cluster, address, ...rest] = positionals;
    if (!address || rest.length) throw new UsageError('rejoin takes: <cluster> <host:port>');
    parseAddress(address);
    if (values.donor) parseAddress(values.donor);
    const { requestRejoin } = load.operations();
    await followUpdate((client) => requestRejoin(client, cluster, { address, reprovision: values.reprovision, donor: values.donor, updateOnly: values['update-only'] }));
  },

  async shard(args) {
    const { values, positionals } = options(args, {
      database: { type: 'string' }, table: { type: 'string' }, key: { type: 'string' }, range: { type: 'string' }, cluster: { type: 'string' },
      to: { type: 'string' }, 'update-only': { type: 'boolean' }, cleanup: { type: 'boolean' }, detach: { type: 'boolean' }, json: { type: 'boolean' },
      at: { type: 'string' }, as: { type: 'string' },
    });
    const [sub, name, ...rest] = positionals;
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const json = Boolean(values.json);
    const shards = load.shards();
    if (sub === 'list') {
      if (name) throw new UsageError(`unexpected argument "${name}"`);
      return withClient(async (client) => {
        const state = await shards.readShards(client);
        const progress = await shards.movesProgress(client, state);
        print({ ...state, progress }, json, () => shards.formatShards(state, progress));
      });
    }
    if (sub === 'lookup') {
      const by = name ? { shard: name } : values.table && values.key !== undefined ? { table: values.table, key: shardKey(values.key) } : undefined;
      if (!by || (name && (values.table || values.key))) throw new UsageError('shard lookup takes a shard name, or --table <db.table> --key <value>');
      return withClient(async (client) => {
        const found = shards.lookupShard(await shards.readShards(client), by);
        print(found, json, () => `${found.shard}: cluster ${found.cluster}, map version ${found.mapVersion}, writes to ${found.endpoint ? `${found.endpoint.host}:${found.endpoint.port}` : '(no endpoint known here)'}`);
      });
    }
    if (!name) throw new UsageError(`shard ${sub ?? ''} needs a shard name`.replace('  ', ' '));
    if (sub === 'add') {
      if (!values.cluster) throw new UsageError('shard add needs --cluster <cluster>');
      if (Boolean(values.database) === Boolean(values.table)) throw new UsageError('shard add takes --database <db>, or --table <db.table> --key <column> --range <lo>:<hi>');
      const request: AddShardRequest = values.database
        ? { name, kind: 'database', database: values.database, cluster: values.cluster, router: sandboxRouter(values.cluster) }
        : { name, kind: 'range', tables: values.table!.split(','), key: required(values.key, '--key <column>'), range: shardRange(required(values.range, '--range <lo>:<hi>')), cluster: values.cluster };
      return withClient(async (client) => {
        const map = await shards.requestAddShard(client, request);
        const added = map.shards.find((s) => s.name === name)!;
        print(added, json, () => `shard ${name} added on ${added.cluster}: map version ${map.version}` +
          (added.kind === 'database' && added.endpoint ? `, endpoint ${added.endpoint.host}:${added.endpoint.port}` : ''));
      });
    }
    if (sub === 'move' || sub === 'split') {
      if (!values.to) throw new UsageError(`shard ${sub} needs --to <cluster>`);
      if (sub === 'split' && (values.at === undefined || !values.as)) throw new UsageError('shard split needs --at <key> and --as <new-shard>');
      if (sub === 'move' && (values.at !== undefined || values.as)) throw new UsageError('--at and --as go with shard split');
      if (sub === 'split' && values.cleanup) throw new UsageError('a split leaves no copy behind: it has no --cleanup');
      return withClient(async (client) => {
        const common = { shard: name, to: values.to!, updateOnly: values['update-only'] };
        const started = sub === 'move'
          ? await shards.requestMove(client, { ...common, cleanup: values.cleanup })
          : await shards.requestSplit(client, { ...common, at: shardKey(values.at!), as: values.as! });
        console.log(`${sub} of shard ${name} started: ${started.workflowId}`);
        if (values.detach) return;
        const result = await load.operations().followOperation(client, started.workflowId, (step) => console.log(`  ${step}`));
        console.log(result.summary);
      });
    }
    if (sub === 'cancel' || sub === 'cleanup') {
      return withClient(async (client) => console.log(await (sub === 'cancel' ? shards.requestCancel(client, name) : shards.requestCleanup(client, name))));
    }
    throw new UsageError(sub ? `unknown shard command "${sub}"` : 'shard needs a command: add, list, lookup, move, split, cancel or cleanup');
  },

  promote: (args) => operation('switchover', args),
  demote: (args) => operation('switchover', args),
  failover: (args) => operation('failover', args),

  async version(args) {
    const { values } = options(args, { json: { type: 'boolean' } });
    const build = load.build().buildId();
    let workers: string[] | string;
    try {
      workers = await withClient((client) => load.workers().pollingWorkers(client));
    } catch (err) {
      workers = `unknown: ${(err as Error).message.split('\n')[0]}`;
    }
    print({ build, workers }, Boolean(values.json), () => [`gtidflow ${build}`,
      ...(typeof workers === 'string' ? [`workers ${workers}`] : workers.length ? workers.map((w) => `worker ${w}`) : ['no worker polls the task queue'])].join('\n'));
  },

  async worker(args) {
    options(args, {});
    const settings = installationSettings();
    // Fail fast with one line when the server is not there, before the SDK's own retries.
    await (await load.connect().connectClient(settings)).connection.close();
    await load.worker().runWorker(settings);
  },

  async agent(args) {
    const { values } = options(args, { config: { type: 'string' } });
    if (!values.config) throw new UsageError('agent needs --config <file>');
    const settings = installationSettings();
    await (await load.connect().connectClient(settings)).connection.close();
    await load.agent().runAgent(values.config, settings);
  },
};

async function withClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = await load.connect().connectClient(installationSettings());
  try {
    return await work(client);
  } finally {
    await client.connection.close();
  }
}

const HISTORY_TIMEOUT_MS = 10_000;

/**
 * A conductor's query or update, its failure said as an operator reads it:
 * an unknown cluster; with a timeout (a query: only a worker answers one),
 * no worker having answered, rather than waiting on.
 */
async function ofCluster<T>(client: Client, cluster: string, work: () => Promise<T>, timeoutMs?: number): Promise<T> {
  const deadline = Date.now() + (timeoutMs ?? 0);
  try {
    return timeoutMs === undefined ? await work() : await client.connection.withDeadline(deadline, work);
  } catch (err) {
    const { name, message } = err as Error;
    if (name === 'WorkflowNotFoundError' || /workflow not found/i.test(message)) throw new Error(`unknown cluster "${cluster}": register it with gtidflow cluster apply -f`);
    // Unanswered, the query ends (near) the deadline as cancelled or past its deadline (gRPC 1, 4).
    const code = (err as { cause?: { code?: number } }).cause?.code;
    if (timeoutMs !== undefined && (code === 1 || code === 4 || Date.now() >= deadline - 1_000)) throw new Error(`no worker answered for cluster ${cluster} within ${timeoutMs / 1000} s: run \`gtidflow worker\``);
    throw err;
  }
}

/**
 * The servers inspect reads: those the cluster's conductor records (a
 * server added or removed since is as recorded), else the spec of a
 * cluster this installation knows but has not registered.
 */
async function inspectedServers(client: Client, cluster: string): Promise<ClusterSpec> {
  try {
    const described = await client.workflow.getHandle(load.api().clusterWorkflowId(cluster)).describe();
    const memo = described.status.name === 'RUNNING' ? load.memo().memoIn(described) : undefined;
    if (memo) {
      const servers = memo.servers.map(({ address, status, penalty }) => ({ address, status, penalty }));
      return { name: cluster, servers, credentials: memo.access as ClusterSpec['credentials'] };
    }
  } catch (err) {
    if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
  }
  return load.clusters().findClusterSpec(cluster);
}

/** The sandbox's router for a shard of one of its clusters (gtidflow owns its shard frontends); another cluster's: none given. */
function sandboxRouter(cluster: string) {
  const state = loadState();
  if (!state || !sandboxClusters(state).some((c) => c.name === cluster)) return undefined;
  return sandboxShardRouter(paths);
}

function shardKey(value: string): number {
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`a shard key is a whole number, not "${value}"`);
  return Number(value);
}

function shardRange(value: string) {
  try {
    return load.shardLogic().parseRange(value);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function required(value: string | undefined, what: string): string {
  if (value === undefined) throw new UsageError(`a range shard needs ${what}`);
  return value;
}

const CAPABILITIES: readonly string[] = ['read-write', 'read-only', 'disabled'];

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`a write penalty is a whole number ≥ 0, not "${value}"`);
  return Number(value);
}

function serverStatus(value: string): ServerChange['status'] {
  const status = value.toUpperCase();
  if (!(STATUSES as readonly string[]).includes(status)) throw new UsageError(`a server's status is ${STATUSES.slice(0, -1).join(', ')} or ${STATUSES[STATUSES.length - 1]}, not "${value}"`);
  return status as ServerChange['status'];
}

/**
 * `status --watch`: redraws the cluster every second, as `watch` does
 * (clears the screen first); with --json, one JSON line per refresh.
 * Runs until Ctrl-C (or SIGTERM), which ends it with exit code 0.
 */
async function watch(cluster: string, json: boolean): Promise<void> {
  const { formatWatchFrame, watchStatus } = load.status();
  const intervalMs = 1_000;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
  await withClient(async (client) => {
    for await (const frame of watchStatus(client, cluster, intervalMs)) {
      process.stdout.write(json ? `${JSON.stringify(frame)}\n` : formatWatchFrame(cluster, frame, intervalMs));
    }
  });
}

/** Asks the conductor for a change and follows the operation it starts to its end. */
async function followUpdate(request: (client: Client) => Promise<{ workflowId: string }>): Promise<void> {
  await withClient(async (client) => {
    const started = await request(client);
    const result = await load.operations().followOperation(client, started.workflowId, (step) => console.log(`  ${step}`));
    console.log(result.summary);
  });
}

/** Starts an operation through the cluster's conductor and follows it to its end. */
async function operation(kind: OperationRequest['kind'], args: string[]): Promise<void> {
  const { values, positionals } = options(args, {
    candidate: { type: 'string' }, 'update-only': { type: 'boolean' }, reason: { type: 'string' }, 'accept-loss': { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError(`${kind} takes one cluster name`);
  if (values['accept-loss'] !== undefined && (kind !== 'failover' || values['update-only'])) throw new UsageError('--accept-loss goes with a failover that reads the servers');
  if (values.candidate) parseAddress(values.candidate);
  const { followOperation, requestOperation } = load.operations();
  await withClient(async (client) => {
    const started = await requestOperation(client, positionals[0], {
      kind, candidate: values.candidate, updateOnly: values['update-only'], reason: values.reason ?? 'operator request', acceptLoss: values['accept-loss'],
    });
    console.log(`${kind} #${started.id} started: ${started.workflowId}`);
    const result = await followOperation(client, started.workflowId, (step) => console.log(`  ${step}`));
    console.log(result.summary);
  });
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || (name === 'help' && !args.length)) {
      console.log(USAGE);
      if (!name) process.exitCode = 2;
      return;
    }
    // `gtidflow <command> --help` and `gtidflow help <command>`: that command's lines of USAGE.
    const beforeEnd = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
    const named = args.findIndex((a) => !a.startsWith('-'));
    const [command, rest] = name !== 'help' ? [name, beforeEnd] : named < 0 ? ['help', []] : [args[named], args.slice(named + 1)];
    if (name === 'help' || rest.includes('--help') || rest.includes('-h')) {
      const usage = commands[command] || command === 'help' ? commandUsage(command, rest.find((a) => !a.startsWith('-'))) : undefined;
      if (!usage) throw new UsageError(`unknown command "${command}"`);
      console.log(usage);
      return;
    }
    if (!commands[name]) throw new UsageError(`unknown command "${name}"`);
    await commands[name](args);
  } catch (err) {
    const hint = err instanceof UsageError ? ' (gtidflow --help lists the commands)' : '';
    console.error(`gtidflow: ${(err as Error).message.split('\n')[0]}${hint}`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}
