import { proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type * as activities from '../../activities';
import type { Access } from '../../activities/db/connection';
import type { ServerState, UnreachableServer } from '../../activities/server-state';

export interface InspectInput {
  cluster: string;
  servers: string[];
  access: Access;
}

export interface InspectResult {
  cluster: string;
  servers: (ServerState | UnreachableServer)[];
}

/** Reads every server of a cluster once, in parallel; changes nothing. */
export async function inspect(input: InspectInput): Promise<InspectResult> {
  setCurrentDetails(`probing ${input.servers.length} servers of ${input.cluster}`);
  const servers = await Promise.all(input.servers.map((address) => {
    const { probeServer } = proxyActivities<typeof activities>({
      startToCloseTimeout: '30 seconds',
      retry: { maximumAttempts: 3 },
      summary: `probe ${address}`,
    });
    return probeServer({ address, access: input.access });
  }));
  setCurrentDetails(`done: ${servers.filter((s) => s.reachable).length}/${servers.length} servers answered`);
  return { cluster: input.cluster, servers };
}
