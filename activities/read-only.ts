import type { ServerArgs } from './server-state';
import { runAll, withFlavor } from './with-flavor';

export interface ChangeResult {
  address: string;
  /** false when the server already was as asked. */
  changed: boolean;
}

export async function setReadOnly(args: ServerArgs & { readOnly: boolean }): Promise<ChangeResult & { readOnly: boolean }> {
  return withFlavor(args.address, args.access, async (db, flavor) => {
    if ((await flavor.readOnly(db)) === args.readOnly) return { address: args.address, changed: false, readOnly: args.readOnly };
    await runAll(db, flavor.setReadOnlyStatements(args.readOnly));
    return { address: args.address, changed: true, readOnly: args.readOnly };
  });
}
