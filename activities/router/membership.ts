import { parseAddress } from '../../workflows/logic/address';
import { checkName, haproxyAction, haproxyCommand, routerConfigError, showServersState } from './haproxy-socket';
import type { HaproxyRouter } from './haproxy';

/**
 * A new member in both backends, out of rotation (routeWriter puts it in);
 * already there: nothing. HAProxy's dynamic servers start in maintenance.
 */
export async function addToRouter(args: { router: HaproxyRouter; server: string }): Promise<{ server: string; changed: boolean }> {
  const { host, port } = parseAddress(args.server);
  let changed = false;
  for (const backend of [args.router.writerBackend, args.router.readerBackend]) {
    const servers = await showServersState(args.router.adminSocket, checkName(backend, 'backend'));
    if (servers.some((s) => s.name === args.server)) continue;
    await expectAnswer(args.router.adminSocket, `add server ${backend}/${checkName(args.server, 'server')} ${host}:${port}`, /New server registered/);
    changed = true;
  }
  return { server: args.server, changed };
}

/** A removed member leaves both backends: maintenance, sessions shut, deleted; already gone: nothing. */
export async function removeFromRouter(args: { router: HaproxyRouter; server: string }): Promise<{ server: string; changed: boolean }> {
  let changed = false;
  const name = checkName(args.server, 'server');
  for (const backend of [args.router.writerBackend, args.router.readerBackend]) {
    const servers = await showServersState(args.router.adminSocket, checkName(backend, 'backend'));
    if (!servers.some((s) => s.name === name)) continue;
    await haproxyAction(args.router.adminSocket, `set server ${backend}/${name} state maint`);
    await haproxyAction(args.router.adminSocket, `shutdown sessions server ${backend}/${name}`);
    await expectAnswer(args.router.adminSocket, `del server ${backend}/${name}`, /Server deleted/);
    changed = true;
  }
  return { server: args.server, changed };
}

/** add/del server answer in words on success; anything else is the reason it did not happen. */
async function expectAnswer(socket: string, command: string, success: RegExp): Promise<void> {
  const answer = (await haproxyCommand(socket, command)).trim();
  if (!success.test(answer)) throw routerConfigError(`HAProxy refused "${command}": ${answer}`);
}
