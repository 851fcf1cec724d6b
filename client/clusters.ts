import * as fs from 'node:fs';
import * as path from 'node:path';
import { paths } from './sandbox/state';
import { ClusterSpec, readClusterSpec } from './spec';

/** The spec of a cluster this installation knows, by name. */
export function findClusterSpec(name: string): ClusterSpec {
  const file = path.join(paths.clusters(), `${name}.yaml`);
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(paths.clusters()) ? fs.readdirSync(paths.clusters()).map((f) => f.replace(/\.yaml$/, '')) : [];
    throw new Error(`unknown cluster "${name}"${known.length ? ` (known: ${known.join(', ')})` : ': none registered; run "gtidflow sandbox up" or "gtidflow cluster apply -f"'}`);
  }
  return readClusterSpec(file);
}
