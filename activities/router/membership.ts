import { addServer, checkName, shardBackendsOf, exclusive, expectAnswer, haproxyAction, showServersState } from './haproxy-socket';
import type { HaproxyRouter } from './haproxy';
import { READER_CHECK } from './reader-check';

/**
 * A new member in both backends, out of rotation (routeWriter puts it in);
 * already there: nothing. HAProxy's dynamic servers start in maintenance.
 * In the reader backend it gets the same health check as the configured
 * servers, so a dead replica drops out of the reads by itself; a dynamic
 * server's check starts disabled and needs `enable health`, which a retry
 * after a crash between the two commands still sends.
 */
export async function addToRouter(args: { router: HaproxyRouter; server: string }): Promise<{ server: string; changed: boolean }> {
  return exclusive(args.router.adminSocket, async () => {
    const { adminSocket: socket, writerBackend, readerBackend } = args.router;
    const name = checkName(args.server, 'server');
    let changed = false;
    const shards = (await shardBackendsOf(socket, (await showServersState(socket, checkName(writerBackend, 'backend'))).map((s) => s.name))).map((b) => b.backend);
    // The cluster's shard endpoints get it too, out of rotation like the writer backend: it may become their writer.
    for (const backend of [writerBackend, readerBackend, ...shards]) {
      const check = backend === readerBackend ? READER_CHECK : '';
      let server = (await showServersState(socket, checkName(backend, 'backend'))).find((s) => s.name === name);
      if (!server) {
        await addServer(socket, backend, name, check);
        server = (await showServersState(socket, backend)).find((s) => s.name === name);
        changed = true;
      }
      // A server found without a check configured is left as it is: the
      // operator's configuration, or one an older release added (README: Runbook).
      if (check && server?.healthCheck === 'disabled') {
        await haproxyAction(socket, `enable health ${backend}/${name}`);
        changed = true;
      }
    }
    return { server: args.server, changed };
  });
}

/** A removed member leaves both backends: maintenance, sessions shut, deleted; already gone: nothing. */
export async function removeFromRouter(args: { router: HaproxyRouter; server: string }): Promise<{ server: string; changed: boolean }> {
  return exclusive(args.router.adminSocket, async () => {
    let changed = false;
    const name = checkName(args.server, 'server');
    const members = (await showServersState(args.router.adminSocket, checkName(args.router.writerBackend, 'backend'))).map((s) => s.name);
    const shards = (await shardBackendsOf(args.router.adminSocket, members)).map((b) => b.backend);
    for (const backend of [args.router.writerBackend, args.router.readerBackend, ...shards]) {
      const servers = await showServersState(args.router.adminSocket, checkName(backend, 'backend'));
      if (!servers.some((s) => s.name === name)) continue;
      await haproxyAction(args.router.adminSocket, `set server ${backend}/${name} state maint`);
      await haproxyAction(args.router.adminSocket, `shutdown sessions server ${backend}/${name}`);
      await expectAnswer(args.router.adminSocket, `del server ${backend}/${name}`, /Server deleted/);
      changed = true;
    }
    return { server: args.server, changed };
  });
}
