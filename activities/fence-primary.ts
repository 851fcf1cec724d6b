import { setReadOnly } from './read-only';
import type { ServerArgs } from './server-state';
import { killClientConnections } from './sessions';
import { withFlavor } from './with-flavor';

/**
 * A switchover's fence of a primary that answers, in one step (each part
 * looks first, as alone): read_only, then its client sessions ended (one
 * could be mid-statement), then the position it stopped at, which the
 * candidate must apply. One step, not three: each is a round trip through
 * Temporal while nobody can write.
 */
export async function fencePrimary(args: ServerArgs): Promise<{ address: string; changed: boolean; killed: number; executed: string }> {
  const { changed } = await setReadOnly({ ...args, readOnly: true });
  const { killed } = await killClientConnections(args);
  const executed = await withFlavor(args.address, args.access, (db, flavor) => flavor.executed(db));
  return { address: args.address, changed, killed, executed };
}
