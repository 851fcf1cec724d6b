import { Access, Db, withDb } from './db/connection';
import type { Flavor } from './db/flavor';
import { detectFlavor } from './db/flavors';

/** One admin session with the server's flavor already known. */
export function withFlavor<T>(address: string, access: Access, work: (db: Db, flavor: Flavor) => Promise<T>): Promise<T> {
  return withDb(address, access, async (db) => work(db, (await detectFlavor(db)).flavor));
}

export async function runAll(db: Db, statements: string[]): Promise<void> {
  for (const sql of statements) await db.query(sql);
}
