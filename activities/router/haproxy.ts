import { ApplicationFailure } from '@temporalio/common';
import { BackendServer, checkName, exclusive, routerConfigError, setState, shardBackendsOf, showServersState, takeOut } from './haproxy-socket';

/** Where gtidflow finds the proxy; servers are named by their address "host:port" in both backends. */
export interface HaproxyRouter {
  adminSocket: string;
  writerBackend: string;
  readerBackend: string;
}

export interface Routes {
  /** Servers in ready state in the writer backend: one, or none while fenced. */
  writer: string[];
  readers: string[];
}

export interface RouteWriterResult {
  /** false when the proxy already routed as asked. */
  changed: boolean;
  writer: string | null;
  readers: string[];
}

/**
 * Writes to `writer` only, reads to `readers` only. Every other server
 * leaves the writer backend (maint, its sessions shut) before the writer
 * enters it, so there is never a moment with two writers. A server leaving
 * the reader backend (FAULTY, capability disabled, promoted) loses its
 * reader sessions too: maint alone would leave them reading from it.
 */
export async function routeWriter(args: { router: HaproxyRouter; writer: string | null; readers: string[] }): Promise<RouteWriterResult> {
  return exclusive(args.router.adminSocket, async () => {
    const { adminSocket: socket, writerBackend, readerBackend } = args.router;
    const writerServers = await showServersState(socket, writerBackend);
    const readerServers = await showServersState(socket, readerBackend);
    const writer = args.writer === null ? [] : [args.writer];
    requireServers(socket, writerBackend, writerServers, writer);
    requireServers(socket, readerBackend, readerServers, args.readers);

    let changed = false;
    // The cluster's shard endpoints (logic of shardBackendsOf) follow its writer, out first and in last like the writer backend.
    const writers = [{ backend: writerBackend, servers: writerServers }, ...await shardBackendsOf(socket, writerServers.map((s) => s.name))];
    for (const { backend, servers } of writers) changed = (await takeOut(socket, backend, servers.filter((s) => s.name !== args.writer))) || changed;
    for (const { backend, servers } of writers) changed = (await setState(socket, backend, servers.filter((s) => s.name === args.writer), 'ready')) || changed;
    // Readers: new ones in before old ones out, so reads always have somewhere to go.
    const isReader = (s: BackendServer) => args.readers.includes(s.name);
    changed = (await setState(socket, readerBackend, readerServers.filter(isReader), 'ready')) || changed;
    changed = (await takeOut(socket, readerBackend, readerServers.filter((s) => !isReader(s)))) || changed;

    const routes = changed ? await readRoutes({ router: args.router }) : routesOf(writerServers, readerServers);
    if (!sameNames(routes.writer, writer) || !sameNames(routes.readers, args.readers)) {
      // Something other than gtidflow holds a server out (tracked server, failed DNS resolution).
      throw ApplicationFailure.retryable(
        `HAProxy admin socket ${socket}: asked for writer ${args.writer} and readers [${args.readers}], found writer [${routes.writer}] and readers [${routes.readers}]`,
        'RouterState',
      );
    }
    return { changed, writer: args.writer, readers: routes.readers };
  });
}

/** Takes `server` out of the writer backend and the cluster's shard endpoints: the first step of a failover, whether the old primary is alive or not. */
export async function fenceWriter(args: { router: HaproxyRouter; server: string }): Promise<{ server: string; changed: boolean }> {
  return exclusive(args.router.adminSocket, async () => {
    const { adminSocket: socket, writerBackend } = args.router;
    const servers = await showServersState(socket, writerBackend);
    requireServers(socket, writerBackend, servers, [args.server]);
    let changed = false;
    for (const { backend, servers: held } of [{ backend: writerBackend, servers }, ...await shardBackendsOf(socket, servers.map((s) => s.name))]) {
      changed = (await takeOut(socket, backend, held.filter((s) => s.name === args.server))) || changed;
    }
    return { server: args.server, changed };
  });
}

export async function readRoutes(args: { router: HaproxyRouter }): Promise<Routes> {
  const { adminSocket: socket, writerBackend, readerBackend } = args.router;
  return routesOf(await showServersState(socket, writerBackend), await showServersState(socket, readerBackend));
}

function requireServers(socket: string, backend: string, servers: BackendServer[], names: string[]): void {
  for (const name of names) {
    checkName(name, 'server');
    if (!servers.some((s) => s.name === name)) {
      throw routerConfigError(`HAProxy admin socket ${socket}: backend ${backend} has no server ${name} (it has: ${servers.map((s) => s.name).join(', ') || 'none'})`);
    }
  }
}

function routesOf(writerServers: BackendServer[], readerServers: BackendServer[]): Routes {
  const ready = (servers: BackendServer[]) => servers.filter((s) => s.ready).map((s) => s.name).sort();
  return { writer: ready(writerServers), readers: ready(readerServers) };
}

function sameNames(found: string[], asked: string[]): boolean {
  return found.length === new Set(asked).size && found.every((name) => asked.includes(name));
}
