import { makeReadOnly } from './read-only';
import type { ServerArgs } from './server-state';
import { killClientSessions } from './sessions';
import { withFlavor } from './with-flavor';

/**
 * A switchover's fence of a primary that answers, in one step and one
 * session (each part looks first, as alone): read_only, then its client
 * sessions ended (one could be mid-statement), then the position it
 * stopped at, which the candidate must apply. One step, not three: each is
 * a round trip through Temporal while nobody can write.
 */
export async function fencePrimary(args: ServerArgs): Promise<{ address: string; changed: boolean; killed: number; executed: string }> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const changed = await makeReadOnly(db, flavor, true);
    const killed = await killClientSessions(db, args.access);
    return { address: args.address, changed, killed, executed: await flavor.executed(db) };
  });
}
