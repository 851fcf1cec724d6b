import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { freePort, isPortFree, sleep } from '../../client/local/ports';
import {
  addServer, BackendServer, checkName, dumpServersState, exclusive, expectAnswer, listeners, masterCommand, MasterProcesses, routerConfigError,
  servingWorker, setState, shardBackendName, showBackends, showProc, showServersState, takeOut,
} from './haproxy-socket';
import { READER_CHECK } from './reader-check';

/** Where a database shard's writer endpoint lives: frontend and backend `shard-<name>`, its servers named by address like a cluster's. */
export interface ShardRouter {
  adminSocket: string;
  /**
   * gtidflow owns the shard frontends (the sandbox): one config file per
   * shard in configDir, HAProxy reloaded through its master socket. Absent:
   * the operator's own configuration holds frontend and backend shard-<name>.
   */
  owned?: { configDir: string; masterSocket: string };
}

export interface ShardRoute {
  router: ShardRouter;
  shard: string;
  /** The members of the cluster holding the shard. */
  servers: string[];
  /** That cluster's primary; null: no writer (fenced). */
  writer: string | null;
}

const LOOPBACK = '127.0.0.1';

/**
 * Makes the shard's endpoint exist and route to `writer` only. Owned: the
 * shard's file holds its frontend (a port chosen free the first time, kept
 * in the file ever after) and its backend; HAProxy is reloaded when the
 * file changed or is not what it serves. Not owned: the operator's
 * configuration must hold backend shard-<name>; the endpoint is theirs
 * (null). Called again with the same arguments: no change, no reload.
 */
export async function openShardEndpoint(args: ShardRoute): Promise<{ endpoint: { host: string; port: number } | null; changed: boolean }> {
  const backend = shardBackend(args);
  const { adminSocket, owned } = args.router;
  if (!owned) {
    if (!(await showBackends(adminSocket)).includes(backend)) {
      throw routerConfigError(`HAProxy admin socket ${adminSocket}: no backend ${backend}; add a frontend on the shard's port and a backend ${backend} with the cluster's servers to HAProxy's configuration (README: Shard endpoints on your own HAProxy)`);
    }
    return { endpoint: null, changed: (await exclusive(adminSocket, () => route(args, backend))).changed };
  }
  return exclusive(adminSocket, async () => {
    const file = path.join(owned.configDir, `${backend}.cfg`);
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    const port = loopbackPorts(current ?? '')[0] ?? (await freePort());
    const running = (await showBackends(adminSocket)).includes(backend);
    // A writer that moves does so at run time, the old one's sessions shut, before any reload: the new
    // configuration would make the new writer ready while the old worker still holds the old one's sessions.
    const routed = running && (await route(args, backend)).changed;
    const wanted = shardConfig(args, port);
    const reloaded = wanted !== current || !running || (await listeners(adminSocket)).get(port) !== backend;
    if (reloaded) await reload(adminSocket, owned, new Map([[file, wanted]]));
    return { endpoint: { host: LOOPBACK, port }, changed: routed || reloaded };
  });
}

/**
 * Routes the shard's endpoint to `writer` at run time: servers of
 * `servers` the backend lacks are added (dynamic, in maintenance), every
 * other server goes to maintenance with its sessions shut, then the writer
 * is made ready: never two writers at once. Last, the servers no longer in
 * `servers` (the cluster the shard left) are deleted: the backend is then
 * all its cluster's, and follows that cluster's writer (shardBackendsOf).
 */
export async function routeShard(args: ShardRoute): Promise<{ changed: boolean; writer: string | null }> {
  const backend = shardBackend(args);
  return exclusive(args.router.adminSocket, () => route(args, backend));
}

async function route({ router, servers, writer }: ShardRoute, backend: string): Promise<{ changed: boolean; writer: string | null }> {
  const socket = router.adminSocket;
  let present = await showServersState(socket, backend);
  const missing = servers.filter((name) => !present.some((s) => s.name === name));
  for (const name of missing) await addServer(socket, backend, name);
  if (missing.length) present = await showServersState(socket, backend);
  const out = present.filter((s) => s.name !== writer);
  let changed = (await takeOut(socket, backend, out)) || missing.length > 0;
  if (router.owned) changed = (await shutOldWorkerSessions(router.owned.masterSocket, backend, out.map((s) => s.name))) || changed;
  changed = (await setState(socket, backend, present.filter((s) => s.name === writer), 'ready')) || changed;
  const ready = (changed ? await showServersState(socket, backend) : present).filter((s) => s.ready).map((s) => s.name);
  if (ready.length !== (writer === null ? 0 : 1) || (writer !== null && ready[0] !== writer)) {
    // Something other than gtidflow holds a server out (failed DNS resolution) or puts one in.
    throw ApplicationFailure.retryable(`HAProxy admin socket ${socket}: asked for writer ${writer} in backend ${backend}, found [${ready}]`, 'RouterState');
  }
  for (const left of out.filter((s) => !servers.includes(s.name))) {
    // Its sessions were just shut; one still closing makes HAProxy refuse, and the step is retried.
    await expectAnswer(socket, `del server ${backend}/${left.name}`, /Server deleted/);
    changed = true;
  }
  return { changed, writer };
}

/** The backend's name, once the arguments are known to be safe in a command line and a configuration file. */
function shardBackend({ shard, servers, writer }: ShardRoute): string {
  if (!/^[a-z0-9-]{1,40}$/.test(shard)) throw routerConfigError(`invalid shard name ${JSON.stringify(shard)}: 1 to 40 lower-case letters, digits and hyphens`);
  for (const server of servers) checkName(server, 'server');
  if (writer !== null && !servers.includes(writer)) throw routerConfigError(`shard ${shard}: writer ${writer} is not one of its servers (${servers.join(', ') || 'none'})`);
  return shardBackendName(shard);
}

/**
 * A worker a reload replaced keeps its established sessions until they
 * end (or hard-stop-after): the admin socket reaches the new worker only,
 * and an old worker's stopped proxies refuse `shutdown sessions server`,
 * so its sessions to servers taken out are shut one by one through the
 * master CLI. Otherwise a shard that moved would keep a writer on the
 * cluster it left.
 */
async function shutOldWorkerSessions(masterSocket: string, backend: string, servers: string[]): Promise<boolean> {
  let shut = false;
  for (const pid of (await showProc(masterSocket)).oldWorkers) {
    const sessions = await masterCommand(masterSocket, `@!${pid} show sess`);
    for (const [, id, sessionBackend, server] of sessions.matchAll(/^(0x[0-9a-f]+): .*? be=(\S+) srv=(\S+)/gm)) {
      if (sessionBackend !== backend || !servers.includes(server)) continue;
      await masterCommand(masterSocket, `@!${pid} shutdown session ${id}`);
      shut = true;
    }
  }
  return shut;
}

function shardConfig({ shard, servers, writer }: ShardRoute, port: number): string {
  const name = shardBackendName(shard);
  return [
    `# gtidflow's endpoint of database shard ${shard} (openShardEndpoint); the port stays, the servers follow the shard.`,
    `frontend ${name}`,
    `  bind ${LOOPBACK}:${port}`,
    `  default_backend ${name}`,
    `backend ${name}`,
    ...servers.map((server) => `  server ${server} ${server}${server === writer ? '' : ' disabled'}`),
    '',
  ].join('\n');
}

/** Where the servers' runtime states are dumped before a reload; the sandbox's global section names it as server-state-file. */
export const serverStateFile = (configDir: string) => path.join(configDir, 'server-state');

/**
 * Writes `changes` into the configuration directory and reloads HAProxy
 * seamlessly: the master starts a new worker, which takes the listening
 * sockets over, and the old worker finishes its established sessions
 * (hard-stop-after bounds it). A reload would drop what was set at run
 * time; it keeps it:
 * - admin states: dumped (`show servers state`) to the server-state-file
 *   the configuration loads (`load-server-state-from-file global`);
 * - servers added or deleted at run time (addToRouter, removeFromRouter,
 *   routeShard): every other file of the directory is first brought in
 *   line with what HAProxy runs (syncedConfig).
 * Refused with one line, the serving worker left as it was: a port another
 * process holds, a configuration `haproxy -c` rejects, a reload that fails.
 * Resolves once the new worker serves.
 */
async function reload(adminSocket: string, owned: NonNullable<ShardRouter['owned']>, changes: Map<string, string>): Promise<void> {
  const { configDir, masterSocket } = owned;
  const before = await showProc(masterSocket);
  const state = await dumpServersState(adminSocket);
  const running = new Map((await showBackends(adminSocket)).map((backend) => [backend, state.servers.filter((s) => s.backend === backend)]));
  const wanted = new Map(fs.readdirSync(configDir).filter((name) => name.endsWith('.cfg')).map((name) => {
    const file = path.join(configDir, name);
    return [file, syncedConfig(fs.readFileSync(file, 'utf8'), running)];
  }));
  for (const [file, text] of changes) wanted.set(file, text);
  await refuseTakenPorts(adminSocket, wanted);

  const previous = new Map<string, string | null>();
  for (const [file, text] of wanted) {
    const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    if (old === text) continue;
    previous.set(file, old);
    writeAtomically(file, text);
  }
  const restore = () => previous.forEach((text, file) => (text === null ? fs.rmSync(file, { force: true }) : writeAtomically(file, text)));
  try {
    await checkConfig(before.master.pid);
  } catch (err) {
    restore();
    throw err;
  }
  writeAtomically(serverStateFile(configDir), state.text);
  const log = masterLog(before.master.pid);
  await masterCommand(masterSocket, 'reload');
  if (!(await newWorkerServes(owned, adminSocket, before))) {
    restore();
    throw routerConfigError(`HAProxy reload failed, the previous configuration still serves: ${firstAlert(log?.since() ?? '') ?? "see HAProxy's log"}`);
  }
}

/**
 * A configuration file's backends as HAProxy runs them now, for those it
 * runs: a server deleted at run time leaves its backend, one added at run
 * time joins it (with READER_CHECK if it has a check: the only one gtidflow
 * adds), and `disabled` says whether each is in maintenance now. The state
 * file carries the states too, but even without it the new worker must
 * not start with two writers.
 */
function syncedConfig(text: string, running: Map<string, BackendServer[]>): string {
  const out: string[] = [];
  let unseen: BackendServer[] | undefined;
  let insertAt = 0;
  const endSection = () => {
    if (unseen) out.splice(insertAt, 0, ...unseen.map((s) => `  server ${s.name} ${s.address}${s.healthCheck === 'none' ? '' : ` ${READER_CHECK}`}${s.forcedMaint ? ' disabled' : ''}`));
  };
  for (const line of text.split('\n')) {
    const section = /^(\w+)(?:\s+(\S+))?/.exec(line);
    const server = !section && unseen && /^(\s+)server\s+(\S+)\s+(.*)$/.exec(line);
    if (section) {
      endSection();
      unseen = section[1] === 'backend' || section[1] === 'listen' ? running.get(section[2] ?? '') : undefined;
      out.push(line);
      insertAt = out.length;
    } else if (server) {
      const now = unseen!.find((s) => s.name === server[2]);
      if (!now) continue;
      unseen = unseen!.filter((s) => s !== now);
      const options = server[3].split(/\s+/).filter((word) => word && word !== 'disabled');
      out.push(`${server[1]}server ${now.name} ${[...options, ...(now.forcedMaint ? ['disabled'] : [])].join(' ')}`);
      insertAt = out.length;
    } else {
      out.push(line);
    }
  }
  endSection();
  return out.join('\n');
}

/**
 * A port HAProxy does not hold yet is bound during the reload; if another
 * process holds it, the reload fails, and HAProxy 2.6 pauses every
 * frontend of the serving worker for seconds while it retries. Such a port
 * (of the loopback binds gtidflow writes) is refused before.
 */
async function refuseTakenPorts(adminSocket: string, files: Map<string, string>): Promise<void> {
  const held = await listeners(adminSocket);
  for (const [file, text] of files) {
    for (const port of loopbackPorts(text)) {
      if (!held.has(port) && !(await isPortFree(port))) {
        throw routerConfigError(`HAProxy reload refused: ${file} binds ${LOOPBACK}:${port}, which another process holds`);
      }
    }
  }
}

/** The ports of a configuration's `bind 127.0.0.1:<port>` lines, the form gtidflow writes. */
function loopbackPorts(text: string): number[] {
  return [...text.matchAll(/^\s+bind 127\.0\.0\.1:(\d+)\s*$/gm)].map(([, port]) => Number(port));
}

/** `haproxy -c` on exactly what the master loads at a reload: its command line's -f arguments, from its working directory. */
async function checkConfig(masterPid: number): Promise<void> {
  const argv = fs.readFileSync(`/proc/${masterPid}/cmdline`, 'utf8').split('\0');
  const files = argv.flatMap((arg, i) => (arg === '-f' ? ['-f', argv[i + 1]] : []));
  try {
    await promisify(execFile)(argv[0], ['-c', ...files], { cwd: `/proc/${masterPid}/cwd` });
  } catch (err) {
    const { stdout = '', stderr = '', message } = err as { stdout?: string; stderr?: string; message: string };
    throw routerConfigError(`HAProxy refused the new configuration: ${firstAlert(`${stdout}${stderr}`) ?? message.split('\n')[0]}`);
  }
}

/** After `reload`: true once the master has a new worker and it answers on the admin socket, false when the master kept the old one (the reload failed). */
async function newWorkerServes(owned: NonNullable<ShardRouter['owned']>, adminSocket: string, before: MasterProcesses): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    // The master does not answer while it re-executes itself.
    const now = await showProc(owned.masterSocket).catch(() => null);
    if (now && now.master.reloads > before.master.reloads) {
      if (now.workers.every((pid) => before.workers.includes(pid))) return false;
      if ((await servingWorker(owned.masterSocket, adminSocket).catch(() => null)) !== null) return true;
    }
    if (Date.now() > deadline) throw ApplicationFailure.retryable(`HAProxy master socket ${owned.masterSocket}: no new worker serves 30 s after the reload`, 'RouterUnreachable');
    await sleep(50);
  }
}

/** What the master writes to its standard error (a file: the sandbox's log) from now on: where a failed reload says why. */
function masterLog(masterPid: number): { since(): string } | null {
  try {
    const file = fs.readlinkSync(`/proc/${masterPid}/fd/2`);
    const from = fs.statSync(file).size;
    return { since: () => fs.readFileSync(file).subarray(from).toString() };
  } catch {
    return null;
  }
}

/** HAProxy's first `[ALERT]    (pid) : reason` line, the reason alone. */
function firstAlert(output: string): string | undefined {
  return /^\[ALERT\]\s*\(\d+\)\s*:\s*(.*)$/m.exec(output)?.[1];
}

/** A file HAProxy may read at any moment (a restart) is never half written. */
function writeAtomically(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}
