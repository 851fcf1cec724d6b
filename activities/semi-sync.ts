import type { ChangeResult } from './read-only';
import type { ServerArgs } from './server-state';
import { runAll, withFlavor } from './with-flavor';

/**
 * Primary side on exactly the primary, replica side everywhere else: a
 * replica with the primary side on stalls its own applier (DESIGN.md).
 * The replica side takes effect at the next IO thread start.
 */
export async function setSemiSync(args: ServerArgs & { primary: boolean }): Promise<ChangeResult> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    const now = await flavor.semiSyncStatus(db);
    if (now.primaryEnabled === args.primary && now.replicaEnabled === !args.primary) return { address: args.address, changed: false };
    await runAll(db, flavor.setSemiSyncStatements(args.primary));
    return { address: args.address, changed: true };
  });
}
