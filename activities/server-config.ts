import type { JoiningServer } from '../workflows/logic/joining';
import type { ServerArgs } from './server-state';
import { withFlavor } from './with-flavor';

/** What a server must have to join a GTID cluster, as it reports it (judged by joinProblems). */
export async function checkServerConfig(args: ServerArgs): Promise<JoiningServer> {
  return withFlavor(args.address, args.access, async (db, flavor) => (
    { address: args.address, flavor: flavor.name, ...await flavor.joiningSettings(db) }
  ));
}
