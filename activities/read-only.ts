import type { Db } from './db/connection';
import type { Flavor } from './db/flavor';
import type { ServerArgs } from './server-state';
import { runAll, withFlavor } from './with-flavor';

export interface ChangeResult {
  address: string;
  /** false when the server already was as asked. */
  changed: boolean;
}

export async function setReadOnly(args: ServerArgs & { readOnly: boolean }): Promise<ChangeResult & { readOnly: boolean }> {
  return withFlavor(args.address, args.access, async (db, flavor) =>
    ({ address: args.address, changed: await makeReadOnly(db, flavor, args.readOnly), readOnly: args.readOnly }));
}

/** The same on a session already open (the switchover's one-step fence); false when it already was. */
export async function makeReadOnly(db: Db, flavor: Flavor, readOnly: boolean): Promise<boolean> {
  if ((await flavor.readOnly(db)) === readOnly) return false;
  await runAll(db, flavor.setReadOnlyStatements(readOnly));
  return true;
}
