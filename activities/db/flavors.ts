import type { Db } from './connection';
import type { Flavor } from './flavor';
import { mariadb } from './mariadb';
import { mysqlFlavor } from './mysql';

/** The server's own version string decides: "10.11.19-MariaDB-…" or "8.4.3". */
export function flavorOfVersion(version: string): Flavor {
  return /mariadb/i.test(version) ? mariadb : mysqlFlavor;
}

export async function detectFlavor(db: Db): Promise<{ flavor: Flavor; version: string }> {
  const version = String(await db.value('SELECT VERSION()'));
  return { flavor: flavorOfVersion(version), version };
}
