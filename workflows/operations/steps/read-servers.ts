import type { ServerState, UnreachableServer } from '../../../activities/server-state';
import type { OperationContext, ServerRecord } from '../../model';
import { activity } from '../../steps';

/**
 * Reads the replicas first, then the primary: with writes going on, a
 * primary read before its replicas can look behind them, and a replica
 * would look as if it held transactions the primary lacks.
 */
export async function readServers(input: OperationContext, servers: ServerRecord[]): Promise<(ServerState | UnreachableServer)[]> {
  const probe = (address: string) => activity('probeServer', `read ${address}`)({ address, access: input.config.access });
  const replicas = await Promise.all(servers.filter((s) => s.address !== input.primary).map((s) => probe(s.address)));
  const primary = servers.some((s) => s.address === input.primary) ? [await probe(input.primary)] : [];
  return [...primary, ...replicas];
}
