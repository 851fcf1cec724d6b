import * as os from 'node:os';
import * as path from 'node:path';

/** Where built tools and templates are kept between runs (survives a fresh clone, not a fresh machine). */
export function cacheDir(): string {
  return process.env.GTIDFLOW_CACHE ?? path.join(os.homedir(), '.cache', 'gtidflow');
}
